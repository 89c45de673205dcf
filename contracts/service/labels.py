"""Bilingual labels (Chinese first, key English after) for contract texts, PDFs and exports."""
from __future__ import annotations

from contracts.domain import ContractSubtype, ContractType, RefusalReason
from exchange.models import EntityType
from listings.domain import AssetKind, TradingMode

CONTRACT_TYPE = {
    ContractType.DEVELOPMENT: "技术开发 Technology development",
    ContractType.TRANSFER: "技术转让 Technology transfer",
    ContractType.LICENCE: "技术许可 Technology licence",
    ContractType.CONSULTING: "技术咨询 Technology consulting",
    ContractType.SERVICE: "技术服务 Technology service",
}
SUBTYPE = {
    ContractSubtype.DEVELOPMENT_COMMISSIONED: "委托开发 Commissioned development",
    ContractSubtype.DEVELOPMENT_COOPERATIVE: "合作开发 Cooperative development",
    ContractSubtype.TRANSFER_PATENT_RIGHT: "专利权转让 Patent right",
    ContractSubtype.TRANSFER_PATENT_APPLICATION_RIGHT: "专利申请权转让 Patent application right",
    ContractSubtype.TRANSFER_TECHNICAL_SECRET: "技术秘密转让 Technical secret",
    ContractSubtype.TRANSFER_OTHER: "其他知识产权转让 Other intellectual property",
    ContractSubtype.LICENCE_EXCLUSIVE: "独占许可 Exclusive licence",
    ContractSubtype.LICENCE_SOLE: "排他许可 Sole licence",
    ContractSubtype.LICENCE_ORDINARY: "普通许可 Ordinary licence",
    ContractSubtype.CONSULTING: "技术咨询 Consulting",
    ContractSubtype.SERVICE_GENERAL: "技术服务 Technical service",
    ContractSubtype.SERVICE_TRAINING: "技术培训 Technical training",
    ContractSubtype.SERVICE_BROKERAGE: "技术中介 Technology brokerage",
}
ASSET_KIND = {
    AssetKind.INVENTION_PATENT: "发明专利 Invention patent",
    AssetKind.UTILITY_MODEL: "实用新型 Utility model",
    AssetKind.DESIGN_PATENT: "外观设计 Design patent",
    AssetKind.PATENT_APPLICATION_RIGHT: "专利申请权 Patent application right",
    AssetKind.SOFTWARE_COPYRIGHT: "软件著作权 Software copyright",
    AssetKind.IC_LAYOUT_DESIGN: "集成电路布图设计 IC layout design",
    AssetKind.PLANT_VARIETY: "植物新品种 New plant variety",
    AssetKind.TECHNICAL_SECRET: "技术秘密 Technical secret",
}
MODE = {
    TradingMode.ASSIGNMENT: "转让 Assignment",
    TradingMode.EXCLUSIVE_LICENCE: "独占许可 Exclusive licence",
    TradingMode.SOLE_LICENCE: "排他许可 Sole licence",
    TradingMode.ORDINARY_LICENCE: "普通许可 Ordinary licence",
    TradingMode.OPEN_LICENCE: "开放许可 Open licence",
    TradingMode.CAPITAL_CONTRIBUTION: "作价投资 Capital contribution",
}
ENTITY_TYPE = {
    EntityType.university: "高等院校 University",
    EntityType.research_institute: "科研院所 Research institute",
    EntityType.enterprise: "企业 Enterprise",
    EntityType.state_owned_enterprise: "国有企业 State-owned enterprise",
    EntityType.other_organisation: "其他组织 Other organisation",
    EntityType.individual: "自然人 Individual",
}
DEAL_METHOD = {
    "auction": "网络竞价 Online auction",
    "negotiation": "协议转让 Negotiated transfer",
    "open_licence": "开放许可 Open licence",
}
REFUSAL_REASON = {
    RefusalReason.NOT_IN_FORCE: "合同未生效 The contract is not in force",
    RefusalReason.NOT_TECHNOLOGY: "非技术合同 Not really about technology",
    RefusalReason.UNCLEAR_PARTIES: "当事人不明确 Parties unclear",
    RefusalReason.UNCLEAR_SUBJECT: "标的不明确 Subject unclear",
    RefusalReason.UNCLEAR_PRICE: "价款不明确 Price unclear",
    RefusalReason.MISSING_APPROVALS: "缺少批准文件 Required approvals missing",
    RefusalReason.ILLEGAL_RESTRICTIVE_CLAUSES: "含非法限制性条款 Illegal restrictive clauses",
}
SELLER_ROLE = {ContractType.TRANSFER: "转让方 Seller", ContractType.LICENCE: "许可方 Licensor"}
BUYER_ROLE = {ContractType.TRANSFER: "受让方 Buyer", ContractType.LICENCE: "被许可方 Licensee"}


def label(table: dict, key: object) -> str:
    """The label of ``key``, or the key itself when the table has none (never fails a document)."""
    try:
        return table[key]
    except KeyError:
        return str(getattr(key, "value", key))


def seller_role(ctype: ContractType) -> str:
    return SELLER_ROLE.get(ctype, "甲方 Party A")


def buyer_role(ctype: ContractType) -> str:
    return BUYER_ROLE.get(ctype, "乙方 Party B")
