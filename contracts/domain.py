"""Technology contracts, their registration (技术合同认定登记) and the transaction
certificate (交易凭证), as plain Python.

Nothing here touches a clock, a database or a web framework. Deadlines come from
the business calendar handed in by the caller; every number the DOMAIN calls a
default is a ``DEFAULT_*`` constant that a keyword argument can override.

Contract types (Civil Code book 3, chapter 20)
----------------------------------------------
``ContractType`` x ``ContractSubtype``, valid pairs in ``CONTRACT_SUBTYPES``.

* Transfer subtypes name *what* is transferred (Civil Code art. 862: patent right,
  patent application right, technical secret). Software copyright, IC layout
  design and plant variety rights are transferred "by reference" (art. 876: other
  intellectual property) and are registered as technology transfers with their own
  IP type, so they share one subtype, ``transfer_other``; the IP type stays on
  the registration record (``asset_kind``), not in the subtype.
* Licence subtypes name the *scope* (exclusive 独占 / sole 排他 / ordinary 普通),
  which is what registration and tax treatment look at; the scope applies equally
  to patents, technical secrets and the art. 876 rights, so there is no
  ``licence_other``. An open licence (开放许可) is an ordinary licence granted by
  declaration (Patent Law art. 50-52) and exists only for granted patents.
* Capital contribution (作价投资) passes ownership to the invested company and is
  registered as a technology transfer (技术合同认定规则 art. 6, 技术入股).

Registration number
-------------------
``JS{year:4}{region:6}{serial:06}``, 18 characters, e.g. ``JS2026310104000123``:
``JS`` (技术), the year of registration, the 6-digit administrative division code
(GB/T 2260) of the registering place (310104 = Xuhui District, Shanghai), and a
serial within that year and place, 000001-999999. Parsing accepts lower case and
spaces or hyphens between the parts (people copy numbers from PDFs).

Certificate short code
----------------------
Ten Crockford base32 characters (``0-9A-Z`` without ``I L O U``): nine data
characters holding 25 bits of the certificate fingerprint followed by the 20-bit
serial, then one check character. The serial part makes codes unique as long as
serials are; the fingerprint part makes them unguessable from the serial. The
check character is a weighted sum over GF(32) (a one-symbol Reed-Solomon parity),
which catches every single wrong character and every swap of two characters.
Crockford's own mod-37 check was not used because it needs the symbols ``*~$=U``,
which do not belong in a code people type.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from exchange.errors import ConflictError, RuleViolationError, StateError, ValidationError
from exchange.jsonable import canonical_json
from exchange.money import Money
from exchange.parties import validate_credit_code, validate_id_number
from listings.domain.enums import AssetKind, TradingMode

if TYPE_CHECKING:
    from exchange.calendar import Deadline


class WorkingDayCalendar(Protocol):
    """What the rules need from ``exchange.calendar.BusinessCalendar``."""

    def add_working_days(self, start: date, n: int) -> Deadline: ...


# =========================================================================== defaults
DEFAULT_SIGNING_DAYS = 3
DEFAULT_REGISTRATION_DAYS = 15
DEFAULT_REGISTRATION_DAYS_LONG = 30
#: Technology amounts from here on get the long registration review.
DEFAULT_LONG_REGISTRATION_THRESHOLD = Money.yuan(5_000_000)
#: Below this share of the deal amount the contract is "not really about
#: technology": its main subject is something else (equipment, materials), and
#: 技术合同认定规则 art. 5 registers only a separately concluded technology part.
#: Half is the plain reading of "main subject"; operators may set it lower.
DEFAULT_MIN_TECHNOLOGY_SHARE = Decimal("0.5")
DEFAULT_CERTIFICATE_DAYS = 3
#: Corporate income tax: technology-transfer income exempt per year (财税〔2010〕111号).
DEFAULT_TAX_EXEMPT_TRANSFER_INCOME = Money.yuan(5_000_000)
#: Licences qualify for income-tax relief from this term on (财税〔2015〕116号).
DEFAULT_TAX_MIN_LICENCE_YEARS = Decimal(5)


def _working_days(calendar: WorkingDayCalendar, start: date, days: int) -> Deadline:
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise ValidationError("A period is a whole number of working days, at least 1.", code="invalid_days",
                              details={"days": repr(days)})
    return calendar.add_working_days(start, days)


# =========================================================================== 1. types
class ContractType(StrEnum):
    """Technology contract types of the Civil Code."""

    DEVELOPMENT = "development"  # 技术开发
    TRANSFER = "transfer"  # 技术转让
    LICENCE = "licence"  # 技术许可
    CONSULTING = "consulting"  # 技术咨询
    SERVICE = "service"  # 技术服务


class ContractSubtype(StrEnum):
    """The registration category within a type."""

    DEVELOPMENT_COMMISSIONED = "development_commissioned"  # 委托开发
    DEVELOPMENT_COOPERATIVE = "development_cooperative"  # 合作开发
    TRANSFER_PATENT_RIGHT = "transfer_patent_right"  # 专利权转让
    TRANSFER_PATENT_APPLICATION_RIGHT = "transfer_patent_application_right"  # 专利申请权转让
    TRANSFER_TECHNICAL_SECRET = "transfer_technical_secret"  # 技术秘密转让
    TRANSFER_OTHER = "transfer_other"  # 其他知识产权转让 (art. 876)
    LICENCE_EXCLUSIVE = "licence_exclusive"  # 独占许可
    LICENCE_SOLE = "licence_sole"  # 排他许可
    LICENCE_ORDINARY = "licence_ordinary"  # 普通许可
    CONSULTING = "consulting"  # 技术咨询
    SERVICE_GENERAL = "service_general"  # 技术服务
    SERVICE_TRAINING = "service_training"  # 技术培训
    SERVICE_BROKERAGE = "service_brokerage"  # 技术中介


_S = ContractSubtype
CONTRACT_SUBTYPES: dict[ContractType, frozenset[ContractSubtype]] = {
    ContractType.DEVELOPMENT: frozenset({_S.DEVELOPMENT_COMMISSIONED, _S.DEVELOPMENT_COOPERATIVE}),
    ContractType.TRANSFER: frozenset(
        {_S.TRANSFER_PATENT_RIGHT, _S.TRANSFER_PATENT_APPLICATION_RIGHT, _S.TRANSFER_TECHNICAL_SECRET,
         _S.TRANSFER_OTHER}
    ),
    ContractType.LICENCE: frozenset({_S.LICENCE_EXCLUSIVE, _S.LICENCE_SOLE, _S.LICENCE_ORDINARY}),
    ContractType.CONSULTING: frozenset({_S.CONSULTING}),
    ContractType.SERVICE: frozenset({_S.SERVICE_GENERAL, _S.SERVICE_TRAINING, _S.SERVICE_BROKERAGE}),
}
#: Every subtype belongs to exactly one type.
TYPE_OF_SUBTYPE: dict[ContractSubtype, ContractType] = {
    sub: ctype for ctype, subs in CONTRACT_SUBTYPES.items() for sub in subs
}


def check_contract_subtype(contract_type: ContractType | str, subtype: ContractSubtype | str) -> None:
    """Refuse a (type, subtype) pair not in ``CONTRACT_SUBTYPES`` (``invalid_contract_subtype``)."""
    valid = (contract_type in ContractType.__members__.values()
             and subtype in CONTRACT_SUBTYPES[ContractType(contract_type)])
    if not valid:
        raise ValidationError(
            f"{subtype!s} is not a subtype of {contract_type!s} contracts.",
            code="invalid_contract_subtype",
            field="subtype",
            details={"contract_type": str(contract_type), "subtype": str(subtype)},
        )


_TRANSFER_SUBTYPE_BY_ASSET: dict[AssetKind, ContractSubtype] = {
    AssetKind.INVENTION_PATENT: _S.TRANSFER_PATENT_RIGHT,
    AssetKind.UTILITY_MODEL: _S.TRANSFER_PATENT_RIGHT,
    AssetKind.DESIGN_PATENT: _S.TRANSFER_PATENT_RIGHT,
    AssetKind.PATENT_APPLICATION_RIGHT: _S.TRANSFER_PATENT_APPLICATION_RIGHT,
    AssetKind.TECHNICAL_SECRET: _S.TRANSFER_TECHNICAL_SECRET,
    AssetKind.SOFTWARE_COPYRIGHT: _S.TRANSFER_OTHER,
    AssetKind.IC_LAYOUT_DESIGN: _S.TRANSFER_OTHER,
    AssetKind.PLANT_VARIETY: _S.TRANSFER_OTHER,
}
_LICENCE_SUBTYPE_BY_MODE: dict[TradingMode, ContractSubtype] = {
    TradingMode.EXCLUSIVE_LICENCE: _S.LICENCE_EXCLUSIVE,
    TradingMode.SOLE_LICENCE: _S.LICENCE_SOLE,
    TradingMode.ORDINARY_LICENCE: _S.LICENCE_ORDINARY,
    TradingMode.OPEN_LICENCE: _S.LICENCE_ORDINARY,
}
#: Open licences are a Patent Law institution: granted patents only.
_OPEN_LICENCE_ASSETS = frozenset({AssetKind.INVENTION_PATENT, AssetKind.UTILITY_MODEL, AssetKind.DESIGN_PATENT})


def classify_deal(trading_mode: str, asset_kind: str) -> tuple[ContractType, ContractSubtype]:
    """The contract type and subtype a deal is registered under.

    Raises ``ValidationError`` ``unknown_trading_mode`` / ``unknown_asset_kind`` for
    values outside ``listings.domain.enums``, and ``RuleViolationError``
    ``open_licence_patent_only`` for an open licence of anything but a granted patent.
    """
    try:
        mode = TradingMode(trading_mode)
    except ValueError:
        raise ValidationError("Unknown trading mode %(mode)r.", params={"mode": trading_mode},
                              code="unknown_trading_mode", field="trading_mode") from None
    try:
        kind = AssetKind(asset_kind)
    except ValueError:
        raise ValidationError("Unknown asset kind %(kind)r.", params={"kind": asset_kind},
                              code="unknown_asset_kind", field="asset_kind") from None
    if mode in (TradingMode.ASSIGNMENT, TradingMode.CAPITAL_CONTRIBUTION):
        return ContractType.TRANSFER, _TRANSFER_SUBTYPE_BY_ASSET[kind]
    if mode is TradingMode.OPEN_LICENCE and kind not in _OPEN_LICENCE_ASSETS:
        raise RuleViolationError(
            "Open licences exist only for granted patents.",
            code="open_licence_patent_only",
            field="asset_kind",
            details={"asset_kind": str(kind)},
        )
    return ContractType.LICENCE, _LICENCE_SUBTYPE_BY_MODE[mode]


# =========================================================================== 2. lifecycle
class ContractState(StrEnum):
    DRAFTED = "drafted"
    PARTLY_SIGNED = "partly_signed"  # one side has signed
    IN_FORCE = "in_force"  # both sides have signed
    TERMINATED = "terminated"  # ended after taking effect (performed, rescinded)
    CANCELLED = "cancelled"  # never took effect (not signed in time, withdrawn)


CONTRACT_TRANSITIONS: dict[ContractState, frozenset[ContractState]] = {
    ContractState.DRAFTED: frozenset({ContractState.PARTLY_SIGNED, ContractState.CANCELLED}),
    ContractState.PARTLY_SIGNED: frozenset({ContractState.IN_FORCE, ContractState.CANCELLED}),
    ContractState.IN_FORCE: frozenset({ContractState.TERMINATED}),
    ContractState.TERMINATED: frozenset(),
    ContractState.CANCELLED: frozenset(),
}


def check_transition(current: ContractState | str, target: ContractState | str) -> ContractState:
    """Return ``target`` if ``current -> target`` is allowed, else ``StateError`` ``invalid_contract_transition``."""
    src, dst = ContractState(current), ContractState(target)
    if dst not in CONTRACT_TRANSITIONS[src]:
        raise StateError(
            f"A contract cannot go from {src} to {dst}.",
            code="invalid_contract_transition",
            details={"from": str(src), "to": str(dst)},
        )
    return dst


class SigningSide(StrEnum):
    """The two sides of a technology contract (seller = 转让方/许可方/研究开发方...)."""

    SELLER = "seller"
    BUYER = "buyer"


def contract_text_fingerprint(text: str) -> str:
    """SHA-256 hex of the exact UTF-8 bytes of ``text``.

    No normalisation on purpose: whatever a party signs is the exact text, so a
    change of a single code point (even NFC vs NFD) must show.
    """
    if not isinstance(text, str):
        raise ValidationError("The contract text must be text.", code="invalid_contract_text", field="text")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: there is no exact UTF-8 text to sign
        raise ValidationError("The contract text is not valid Unicode.", code="invalid_contract_text",
                              field="text") from None
    return hashlib.sha256(data).hexdigest()


def check_text_editable(state: ContractState | str, signed_sides: Collection[SigningSide | str]) -> None:
    """Refuse to change the text once anyone has signed (``StateError`` ``contract_text_locked``).

    A signature is a consent to one exact text; editing after it would make the
    other side sign something the first never saw.
    """
    state = ContractState(state)
    if signed_sides or state is not ContractState.DRAFTED:
        raise StateError(
            "The contract text can no longer change: it has been signed.",
            code="contract_text_locked",
            details={"state": str(state), "signed": sorted(str(s) for s in signed_sides)},
        )


def apply_signature(
    state: ContractState | str,
    signed_sides: Collection[SigningSide | str],
    side: SigningSide | str,
    *,
    signed_fingerprint: str,
    current_fingerprint: str,
) -> ContractState:
    """Record ``side``'s signature and return the contract's next state.

    Refuses, in this order: a contract that is no longer signable (``StateError``
    ``contract_not_signable``), a side signing twice (``ConflictError``
    ``already_signed``), a signature over another text than the current one
    (``ConflictError`` ``contract_text_mismatch``: the signer saw an older text).
    """
    state = ContractState(state)
    try:
        side = SigningSide(side)
        signed = {SigningSide(s) for s in signed_sides}
    except ValueError:
        raise ValidationError("A signature is by the seller or the buyer.", code="invalid_signing_side",
                              field="side") from None
    if state not in (ContractState.DRAFTED, ContractState.PARTLY_SIGNED):
        raise StateError(f"A {state} contract cannot be signed.", code="contract_not_signable",
                         details={"state": str(state)})
    if side in signed:
        raise ConflictError(f"The {side} has already signed this contract.", code="already_signed",
                            details={"side": str(side)})
    if signed_fingerprint != current_fingerprint:
        raise ConflictError(
            "The signed text is not the current contract text.",
            code="contract_text_mismatch",
            details={"signed": signed_fingerprint, "current": current_fingerprint},
        )
    target = ContractState.IN_FORCE if signed | {side} == set(SigningSide) else ContractState.PARTLY_SIGNED
    return check_transition(state, target)


def signing_deadline(calendar: WorkingDayCalendar, drafted_on: date, days: int = DEFAULT_SIGNING_DAYS) -> Deadline:
    """The last day to sign: ``days`` working days after the contract was drafted."""
    return _working_days(calendar, drafted_on, days)


# =========================================================================== 3. amount
@dataclass(frozen=True, slots=True)
class NonTechnicalItem:
    """A part of the price that buys no technology (equipment, instruments, materials)."""

    description: str
    amount: Money

    def __post_init__(self) -> None:
        if not isinstance(self.description, str) or not self.description.strip():
            raise ValidationError("Say what the non-technical item is.", code="required", field="description")
        if not isinstance(self.amount, Money) or self.amount.fen < 0:
            raise ValidationError("A non-technical item has an amount of zero or more.", code="invalid_amount",
                                  field="amount")


def technology_amount(deal_amount: Money, items: Iterable[NonTechnicalItem]) -> Money:
    """技术交易额: the deal amount minus the non-technical items.

    ``RuleViolationError`` ``non_technical_exceeds_deal`` if the items add up to
    more than the deal; ``CurrencyMismatchError`` if currencies differ.
    """
    if not isinstance(deal_amount, Money) or deal_amount.fen < 0:
        raise ValidationError("The deal amount is zero or more.", code="invalid_amount", field="deal_amount")
    non_technical = Money.zero(deal_amount.currency)
    for item in items:
        non_technical += item.amount
    if non_technical > deal_amount:
        raise RuleViolationError(
            "The non-technical items add up to more than the deal amount.",
            code="non_technical_exceeds_deal",
            field="non_technical_items",
            details={"deal_amount_fen": deal_amount.fen, "non_technical_fen": non_technical.fen},
        )
    return deal_amount - non_technical


# =========================================================================== 4. registration
class RegistrationState(StrEnum):
    SUBMITTED = "submitted"
    REGISTERED = "registered"
    REFUSED = "refused"  # 未予登记; final: the parties submit anew after fixing the contract
    CHANGED = "changed"  # registered, then a change of the contract was registered (变更登记)
    CANCELLED = "cancelled"  # withdrawn before a decision, or registration revoked


REGISTRATION_TRANSITIONS: dict[RegistrationState, frozenset[RegistrationState]] = {
    RegistrationState.SUBMITTED: frozenset(
        {RegistrationState.REGISTERED, RegistrationState.REFUSED, RegistrationState.CANCELLED}
    ),
    RegistrationState.REGISTERED: frozenset({RegistrationState.CHANGED, RegistrationState.CANCELLED}),
    # A contract may be amended more than once; each change is registered.
    RegistrationState.CHANGED: frozenset({RegistrationState.CHANGED, RegistrationState.CANCELLED}),
    RegistrationState.REFUSED: frozenset(),
    RegistrationState.CANCELLED: frozenset(),
}


def check_registration_transition(
    current: RegistrationState | str, target: RegistrationState | str
) -> RegistrationState:
    """Return ``target`` if allowed, else ``StateError`` ``invalid_registration_transition``."""
    src, dst = RegistrationState(current), RegistrationState(target)
    if dst not in REGISTRATION_TRANSITIONS[src]:
        raise StateError(
            f"A registration cannot go from {src} to {dst}.",
            code="invalid_registration_transition",
            details={"from": str(src), "to": str(dst)},
        )
    return dst


def registration_deadline(
    calendar: WorkingDayCalendar,
    submitted_on: date,
    tech_amount: Money,
    disputed: bool,
    *,
    days: int = DEFAULT_REGISTRATION_DAYS,
    long_days: int = DEFAULT_REGISTRATION_DAYS_LONG,
    long_threshold: Money = DEFAULT_LONG_REGISTRATION_THRESHOLD,
) -> Deadline:
    """The day the registration decision is due: ``days`` working days after
    submission, ``long_days`` when the technology amount reaches ``long_threshold``
    or the case is disputed. Amounts are in CNY (a foreign amount raises
    ``CurrencyMismatchError``: convert first)."""
    long_review = disputed or tech_amount >= long_threshold
    return _working_days(calendar, submitted_on, long_days if long_review else days)


#: GB/T 2260 province-level prefixes; a code outside them is a typo, not a place.
_PROVINCE_PREFIXES = frozenset(
    "11 12 13 14 15 21 22 23 31 32 33 34 35 36 37 41 42 43 44 45 46 50 51 52 53 54 61 62 63 64 65 71 81 82".split()
)
_REGISTRATION_NUMBER_RE = re.compile(r"JS(?P<year>[0-9]{4})(?P<region>[0-9]{6})(?P<serial>[0-9]{6})")
_MIN_REGISTRATION_YEAR = 2000
_MAX_SERIAL = 999_999


def valid_region_code(code: object) -> bool:
    """Six ASCII digits starting with a GB/T 2260 province code (e.g. ``310104``)."""
    return (isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()
            and code[:2] in _PROVINCE_PREFIXES)


class RegistrationNumber(NamedTuple):
    year: int
    region_code: str
    serial: int

    def __str__(self) -> str:
        return f"JS{self.year:04d}{self.region_code}{self.serial:06d}"


def _number_error(message: str, field: str, value: object) -> ValidationError:
    return ValidationError(message, code="registration_number_format", field=field, details={"value": repr(value)})


def format_registration_number(year: int, region_code: str, serial: int) -> str:
    """``JS{year}{region_code}{serial:06d}``; ``ValidationError`` ``registration_number_format`` on bad parts."""
    if isinstance(year, bool) or not isinstance(year, int) or not _MIN_REGISTRATION_YEAR <= year <= 9999:
        raise _number_error(f"The year must be a 4-digit year from {_MIN_REGISTRATION_YEAR}.", "year", year)
    if not valid_region_code(region_code):
        raise _number_error("The region code is a 6-digit administrative division code.", "region_code",
                            region_code)
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= _MAX_SERIAL:
        raise _number_error(f"The serial runs from 1 to {_MAX_SERIAL}.", "serial", serial)
    return str(RegistrationNumber(year, region_code, serial))


def parse_registration_number(text: str) -> RegistrationNumber:
    """Parse ``JS2026310104000123`` (case, spaces and hyphens tolerated) into its parts."""
    if not isinstance(text, str):
        raise _number_error("A registration number is text.", "registration_number", text)
    m = _REGISTRATION_NUMBER_RE.fullmatch(re.sub(r"[\s\-]", "", text).upper())
    if not m:
        raise _number_error("A registration number looks like JS2026310104000123.", "registration_number", text)
    year, region, serial = int(m["year"]), m["region"], int(m["serial"])
    # Re-check the parts with the same rules the formatter applies.
    format_registration_number(year, region, serial)
    return RegistrationNumber(year, region, serial)


# --------------------------------------------------------------------------- 5. refusal
class RefusalReason(StrEnum):
    """Why a contract is not registered (未予登记)."""

    NOT_IN_FORCE = "not_in_force"
    NOT_TECHNOLOGY = "not_technology"
    UNCLEAR_PARTIES = "unclear_parties"
    UNCLEAR_SUBJECT = "unclear_subject"
    UNCLEAR_PRICE = "unclear_price"
    MISSING_APPROVALS = "missing_approvals"
    ILLEGAL_RESTRICTIVE_CLAUSES = "illegal_restrictive_clauses"


@dataclass(frozen=True, slots=True)
class RegistrationParty:
    """A party as the registration records it."""

    name: str
    credit_code: str  # unified social credit code, or resident ID for an individual
    region_code: str  # GB/T 2260, 6 digits
    entity_type: str  # ``exchange.models.EntityType`` value (university, enterprise, individual...)


@dataclass(frozen=True, slots=True, kw_only=True)
class RegistrationInput:
    """What the registration check reads from a contract. Flags are set by the operator."""

    contract_state: ContractState
    contract_type: ContractType
    seller: RegistrationParty | None
    buyer: RegistrationParty | None
    subject: str  # name / description of the technology
    asset_refs: tuple[str, ...] = ()  # patent numbers, copyright registrations... of what changes hands
    deal_amount: Money | None = None  # 成交额
    tech_amount: Money | None = None  # 技术交易额
    seller_state_owned: bool = False  # state-owned or public seller: a filed appraisal is required
    appraisal_filed: bool = False
    export_controlled: bool = False  # restricted technology export: needs an export licence
    export_licence_obtained: bool = False
    restrictive_clauses_flagged: bool = False  # reviewer: illegal monopoly / hinders progress (Civil Code art. 850)
    disputed: bool = False  # lengthens the review; not a refusal reason in itself


@dataclass(frozen=True, slots=True)
class RegistrationProblem:
    reason: RefusalReason
    message: str
    field: str | None = None


def _party_problems(role: str, party: RegistrationParty | None) -> list[RegistrationProblem]:
    def problem(message: str, field: str) -> RegistrationProblem:
        return RegistrationProblem(RefusalReason.UNCLEAR_PARTIES, message, f"{role}.{field}")

    if party is None:
        return [problem(f"The {role} is not named.", "name")]
    found = []
    if not party.name or not party.name.strip():
        found.append(problem(f"The {role} has no name.", "name"))
    if not party.credit_code or not party.credit_code.strip():
        found.append(problem(f"The {role} has no credit code or ID number.", "credit_code"))
    else:
        check = validate_id_number if party.entity_type == "individual" else validate_credit_code
        try:
            check(party.credit_code)
        except ValidationError as exc:
            found.append(problem(f"The {role}'s identifier is invalid: {exc.message}", "credit_code"))
    if not valid_region_code(party.region_code):
        found.append(problem(f"The {role}'s region code is not a 6-digit division code.", "region_code"))
    if not party.entity_type or not party.entity_type.strip():
        found.append(problem(f"The {role}'s entity type is not stated.", "entity_type"))
    return found


def registration_problems(
    inp: RegistrationInput, *, min_technology_share: Decimal = DEFAULT_MIN_TECHNOLOGY_SHARE
) -> list[RegistrationProblem]:
    """Every reason found in the data to refuse registration; empty if none.

    The operator decides; this lists what the data shows so the decision and its
    reasons are recorded consistently. Problems come in ``RefusalReason`` order.
    """
    found: list[RegistrationProblem] = []
    if inp.contract_state != ContractState.IN_FORCE:  # != : a plain "in_force" string counts too
        found.append(RegistrationProblem(
            RefusalReason.NOT_IN_FORCE, f"The contract is {inp.contract_state}, not in force.", "contract_state"))

    price_problems = _price_problems(inp.deal_amount, inp.tech_amount)
    if not price_problems:
        deal, tech = inp.deal_amount, inp.tech_amount
        assert deal is not None and tech is not None  # _price_problems checked both
        # tech / deal < share  <=>  tech < share * deal: exact in Decimal, no division.
        if not tech.is_positive or Decimal(tech.fen) < min_technology_share * deal.fen:
            found.append(RegistrationProblem(
                RefusalReason.NOT_TECHNOLOGY,
                f"The technology amount {tech} is too small a part of the deal amount {deal} "
                f"(at least {min_technology_share:%} needed).",
                "tech_amount",
            ))

    found += _party_problems("seller", inp.seller)
    found += _party_problems("buyer", inp.buyer)

    if not inp.subject or not inp.subject.strip():
        found.append(RegistrationProblem(RefusalReason.UNCLEAR_SUBJECT, "The subject is not described.", "subject"))
    # Transfers and licences deal in an existing right; it must be identified.
    if inp.contract_type in (ContractType.TRANSFER, ContractType.LICENCE) and not any(
        ref.strip() for ref in inp.asset_refs
    ):
        found.append(RegistrationProblem(
            RefusalReason.UNCLEAR_SUBJECT, "The rights transferred or licensed are not identified.", "asset_refs"))

    found += price_problems

    if inp.seller_state_owned and not inp.appraisal_filed:
        found.append(RegistrationProblem(
            RefusalReason.MISSING_APPROVALS, "A state-owned seller needs a filed appraisal.", "appraisal_filed"))
    if inp.export_controlled and not inp.export_licence_obtained:
        found.append(RegistrationProblem(
            RefusalReason.MISSING_APPROVALS, "Export-controlled technology needs an export licence.",
            "export_licence_obtained"))
    if inp.restrictive_clauses_flagged:
        found.append(RegistrationProblem(
            RefusalReason.ILLEGAL_RESTRICTIVE_CLAUSES,
            "The contract monopolises technology or hinders technological progress (Civil Code art. 850).",
            "restrictive_clauses_flagged"))

    order = list(RefusalReason)
    return sorted(found, key=lambda p: order.index(p.reason))  # stable: keeps order within a reason


def _price_problems(deal: Money | None, tech: Money | None) -> list[RegistrationProblem]:
    def problem(message: str, field: str) -> list[RegistrationProblem]:
        return [RegistrationProblem(RefusalReason.UNCLEAR_PRICE, message, field)]

    if deal is None or not deal.is_positive:
        return problem("The deal amount is missing or not positive.", "deal_amount")
    if tech is None:
        return problem("The technology amount is not stated.", "tech_amount")
    if tech.currency != deal.currency:
        return problem("The deal and technology amounts are in different currencies.", "tech_amount")
    if tech.fen < 0 or tech > deal:
        return problem("The technology amount must lie between zero and the deal amount.", "tech_amount")
    return []


# =========================================================================== 6. tax
@dataclass(frozen=True, slots=True)
class TaxRelief:
    """Which reliefs a registered contract's seller can claim, and why."""

    vat_exempt: bool
    income_tax_relief: bool
    reasons: tuple[str, ...]


_VAT_EXEMPT_TYPES = frozenset({ContractType.DEVELOPMENT, ContractType.TRANSFER, ContractType.LICENCE})


def tax_relief(
    contract_type: ContractType | str,
    subtype: ContractSubtype | str,
    licence_term_years: Decimal | None,
    wholly_related: bool,
    seller_is_resident_company: bool,
    *,
    min_licence_years: Decimal = DEFAULT_TAX_MIN_LICENCE_YEARS,
) -> TaxRelief:
    """Eligibility of a registered technology contract for tax relief.

    VAT (财税〔2016〕36号 annex 3): technology transfer and development are exempt.
    "Technology transfer" there is the transfer of ownership *or right of use* of
    patented or unpatented technology, so licences are included. Consulting and
    service are exempt only as part of a transfer or development contract's price,
    never on their own.

    Corporate income tax (财税〔2010〕111号, 〔2015〕116号): a resident company's
    technology-transfer income qualifies for assignments and for licences of
    ``min_licence_years`` or more, not between wholly (100%) related parties.
    Following the DOMAIN, every transfer subtype qualifies; note that 111号 lists
    patents, software copyright, IC layouts and plant varieties, so a tax office may
    read technical secrets and patent application rights more narrowly.
    """
    check_contract_subtype(contract_type, subtype)
    ctype = ContractType(contract_type)
    if licence_term_years is not None and (not isinstance(licence_term_years, Decimal)
                                           or not licence_term_years.is_finite() or licence_term_years <= 0):
        raise ValidationError("A licence term is a positive Decimal number of years.", code="invalid_licence_term",
                              field="licence_term_years")
    reasons: list[str] = []

    vat = ctype in _VAT_EXEMPT_TYPES
    if vat:
        reasons.append(f"VAT exempt: technology {ctype} (licences count as technology transfer for VAT).")
    else:
        reasons.append(f"No VAT exemption: technology {ctype} on its own is not transfer or development.")

    income = False
    if ctype is ContractType.TRANSFER:
        income = True
    elif ctype is ContractType.LICENCE:
        if licence_term_years is None:
            reasons.append("No income-tax relief: the licence term is not stated.")
        elif licence_term_years < min_licence_years:
            reasons.append(f"No income-tax relief: a licence of {licence_term_years} years is under "
                           f"{min_licence_years} years.")
        else:
            income = True
    else:
        reasons.append(f"No income-tax relief: technology {ctype} income is not technology-transfer income.")
    if income and not seller_is_resident_company:
        income = False
        reasons.append("No income-tax relief: only resident companies qualify.")
    if income and wholly_related:
        income = False
        reasons.append("No income-tax relief: the parties are wholly related.")
    if income:
        reasons.append("Income-tax relief: transfer income up to 5 million yuan a year exempt, the excess halved.")
    return TaxRelief(vat_exempt=vat, income_tax_relief=income, reasons=tuple(reasons))


def taxable_transfer_income(income: Money, *, exempt_up_to: Money = DEFAULT_TAX_EXEMPT_TRANSFER_INCOME) -> Money:
    """The part of a year's technology-transfer income that is taxed.

    Nothing up to ``exempt_up_to``; half of the excess above it, rounded half-up to
    the fen. A loss (negative income) gets no relief and is returned as it is.
    """
    if income <= exempt_up_to:
        return income if income.fen < 0 else Money.zero(income.currency)
    return (income - exempt_up_to).apply_rate(Decimal("0.5"))


# =========================================================================== 7. certificates
class CertificateState(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"


def check_certificate_transition(current: CertificateState | str, target: CertificateState | str) -> CertificateState:
    """Only ``valid -> revoked``. From revoked: ``StateError`` ``certificate_already_revoked``;
    anything else: ``StateError`` ``invalid_certificate_transition``."""
    src, dst = CertificateState(current), CertificateState(target)
    if src is CertificateState.REVOKED:
        raise StateError("The certificate is already revoked.", code="certificate_already_revoked")
    if dst is not CertificateState.REVOKED:
        raise StateError(f"A certificate cannot go from {src} to {dst}.", code="invalid_certificate_transition",
                         details={"from": str(src), "to": str(dst)})
    return dst


def certificate_fingerprint(data: dict[str, Any]) -> str:
    """SHA-256 hex of the canonical JSON of ``data`` (``exchange.jsonable.canonical_json``:
    sorted keys, ``,``/``:`` separators, characters kept, UTF-8), so an auditor can
    recompute it from the certificate's fields in any order."""
    if not isinstance(data, dict):
        raise ValidationError("Certificate data is an object.", code="invalid_certificate_data")
    try:
        text = canonical_json(data)
    except TypeError as exc:
        raise ValidationError(f"Certificate data cannot be recorded: {exc}", code="invalid_certificate_data") from None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def certificate_issuable(
    contract_in_force: bool, price_received: bool, buyer_fee_paid: bool, seller_fee_paid: bool
) -> None:
    """Refuse to issue unless every condition holds (``RuleViolationError``
    ``certificate_not_issuable``, ``details["missing"]`` lists the unmet ones)."""
    conditions = {
        "contract_in_force": contract_in_force,
        "price_received": price_received,
        "buyer_fee_paid": buyer_fee_paid,
        "seller_fee_paid": seller_fee_paid,
    }
    missing = [name for name, met in conditions.items() if not met]
    if missing:
        raise RuleViolationError(
            "The certificate cannot be issued yet: " + ", ".join(missing).replace("_", " ") + ".",
            code="certificate_not_issuable",
            details={"missing": missing},
        )


def certificate_deadline(
    calendar: WorkingDayCalendar, conditions_met_on: date, days: int = DEFAULT_CERTIFICATE_DAYS
) -> Deadline:
    """The day the certificate is due: ``days`` working days after the last condition was met."""
    return _working_days(calendar, conditions_met_on, days)


CROCKFORD_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CROCKFORD_VALUE = {ch: i for i, ch in enumerate(CROCKFORD_ALPHABET)} | {"O": 0, "I": 1, "L": 1}
SHORT_CODE_LENGTH = 10
_SERIAL_BITS = 20
_FINGERPRINT_BITS = 5 * (SHORT_CODE_LENGTH - 1) - _SERIAL_BITS
MAX_CERTIFICATE_SERIAL = 2**_SERIAL_BITS - 1
_HEX64 = re.compile(r"[0-9a-f]{64}")


def _gf32_mul(a: int, b: int) -> int:
    """Multiply in GF(32) with the primitive polynomial x^5 + x^2 + 1."""
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= 0b100101
    return product


def _check_value(values: list[int]) -> int:
    # Position i carries weight alpha^(i+1), alpha = x: all weights differ and are
    # non-zero (alpha has order 31 > 9), so one wrong symbol or a swap of two
    # different symbols always changes the sum.
    total, weight = 0, 1
    for v in values:
        weight = _gf32_mul(weight, 2)
        total ^= _gf32_mul(weight, v)
    return total


def certificate_short_code(fingerprint_hex: str, serial: int) -> str:
    """The 10-character code printed on a certificate (see the module docstring)."""
    if not isinstance(fingerprint_hex, str) or not _HEX64.fullmatch(fingerprint_hex):
        raise ValidationError("A fingerprint is 64 lower-case hex digits.", code="invalid_fingerprint")
    if isinstance(serial, bool) or not isinstance(serial, int) or not 1 <= serial <= MAX_CERTIFICATE_SERIAL:
        raise ValidationError("Certificate serials run from 1 to %(max)d.", params={"max": MAX_CERTIFICATE_SERIAL},
                              code="certificate_serial_out_of_range", details={"serial": repr(serial)})
    top_bits = int(fingerprint_hex, 16) >> (256 - _FINGERPRINT_BITS)
    number = (top_bits << _SERIAL_BITS) | serial
    values = [(number >> (5 * i)) & 31 for i in reversed(range(SHORT_CODE_LENGTH - 1))]
    values.append(_check_value(values))
    return "".join(CROCKFORD_ALPHABET[v] for v in values)


def normalise_short_code(code: str) -> str:
    """Canonical form of a typed code (upper case, ``O``->``0``, ``I``/``L``->``1``,
    spaces and hyphens dropped), or ``ValidationError`` ``invalid_short_code``."""
    cleaned = re.sub(r"[\s\-]", "", code).upper() if isinstance(code, str) else ""
    if len(cleaned) != SHORT_CODE_LENGTH or any(ch not in _CROCKFORD_VALUE for ch in cleaned):
        raise ValidationError("Not a certificate code.", code="invalid_short_code", field="code")
    values = [_CROCKFORD_VALUE[ch] for ch in cleaned]
    if _check_value(values[:-1]) != values[-1]:
        raise ValidationError("The certificate code has a typo.", code="invalid_short_code", field="code")
    return "".join(CROCKFORD_ALPHABET[v] for v in values)


def valid_short_code(code: str) -> bool:
    """Whether ``code`` is a well-formed certificate code with a correct check character."""
    try:
        normalise_short_code(code)
    except ValidationError:
        return False
    return True
