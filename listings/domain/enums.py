"""Enumerations of the listings domain.

Values are lower snake_case English so they can be stored, sent over the API
and compared in SQL without translation tables; they are never renamed once
published.
"""
from __future__ import annotations

from enum import StrEnum


class AssetKind(StrEnum):
    """Tradable technology assets (技术成果)."""

    INVENTION_PATENT = "invention_patent"  # 发明专利
    UTILITY_MODEL = "utility_model"  # 实用新型
    DESIGN_PATENT = "design_patent"  # 外观设计
    PATENT_APPLICATION_RIGHT = "patent_application_right"  # 专利申请权
    SOFTWARE_COPYRIGHT = "software_copyright"  # 软件著作权
    IC_LAYOUT_DESIGN = "ic_layout_design"  # 集成电路布图设计
    PLANT_VARIETY = "plant_variety"  # 植物新品种
    TECHNICAL_SECRET = "technical_secret"  # 技术秘密


#: Kinds identified by a Chinese patent application number.
PATENT_KINDS: frozenset[AssetKind] = frozenset(
    {
        AssetKind.INVENTION_PATENT,
        AssetKind.UTILITY_MODEL,
        AssetKind.DESIGN_PATENT,
        AssetKind.PATENT_APPLICATION_RIGHT,
    }
)


class TradingMode(StrEnum):
    """How a right changes hands."""

    ASSIGNMENT = "assignment"  # 转让
    EXCLUSIVE_LICENCE = "exclusive_licence"  # 独占许可
    SOLE_LICENCE = "sole_licence"  # 排他许可
    ORDINARY_LICENCE = "ordinary_licence"  # 普通许可
    OPEN_LICENCE = "open_licence"  # 开放许可
    CAPITAL_CONTRIBUTION = "capital_contribution"  # 作价投资


#: Modes that grant a licence (the licensor keeps the patent).
LICENCE_MODES: frozenset[TradingMode] = frozenset(
    {
        TradingMode.EXCLUSIVE_LICENCE,
        TradingMode.SOLE_LICENCE,
        TradingMode.ORDINARY_LICENCE,
        TradingMode.OPEN_LICENCE,
    }
)


class RightType(StrEnum):
    """The split of a technology right (所有权/运营权/收益权)."""

    OWNERSHIP = "ownership"
    OPERATING = "operating"
    REVENUE = "revenue"


class EncumbranceKind(StrEnum):
    """Recorded burdens on an asset that can block a listing."""

    PLEDGE = "pledge"  # 质押
    EXCLUSIVE_LICENCE = "exclusive_licence"  # an existing 独占许可
    SOLE_LICENCE = "sole_licence"  # an existing 排他许可
    COURT_FREEZE = "court_freeze"  # 冻结


class ValuationMethod(StrEnum):
    COST = "cost"
    INCOME = "income"
    MARKET = "market"


class ListingState(StrEnum):
    """Lifecycle of a listing (挂牌项目)."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    REJECTED = "rejected"
    PUBLISHED = "published"  # in publicity (公告期)
    SUSPENDED = "suspended"  # 中止
    AWAITING_NEGOTIATION = "awaiting_negotiation"  # exactly one qualified buyer: 协议转让
    AWAITING_AUCTION = "awaiting_auction"  # two or more: 竞价
    IN_AUCTION = "in_auction"
    SOLD = "sold"
    UNSOLD = "unsold"  # 流拍
    TERMINATED = "terminated"  # 终结
    WITHDRAWN = "withdrawn"


class RegistrationState(StrEnum):
    """A buyer's registration of interest (意向受让登记)."""

    PENDING_DEPOSIT = "pending_deposit"
    DEPOSIT_PAID = "deposit_paid"
    QUALIFIED = "qualified"
    REJECTED = "rejected"
    LAPSED = "lapsed"  # deposit not paid by the deadline
    WITHDRAWN = "withdrawn"


class AssetConfirmation(StrEnum):
    """The operator's rights-confirmation (确权) decision on an asset."""

    UNCONFIRMED = "unconfirmed"
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


class PublicityOutcome(StrEnum):
    """What happens when publicity ends, decided by the number of qualified buyers."""

    NONE = "none"  # nobody qualified: extend or unsold
    NEGOTIATION = "negotiation"  # exactly one: 协议转让
    AUCTION = "auction"  # two or more: 竞价


class OpenLicenceFeeKind(StrEnum):
    """How an open-licence fee is declared (Patent Law art. 50)."""

    LUMP_SUM = "lump_sum"
    ROYALTY = "royalty"
    ENTRY_FEE_PLUS_ROYALTY = "entry_fee_plus_royalty"
