"""Technology contract registration (技术合同认定登记): submit, review, register or refuse
(未予登记, with reasons the data supports), register changes and cancellations.

The registration keeps a snapshot of what is registered (name, parties with
region codes and entity types, type and subtype, field, IP type, amounts), so a
later change of the underlying records does not silently change a registration:
a change is registered as such (``register_change``), checked the same way.

Deadlines: 15 working days from submission, 30 when the technology amount is 5
million yuan or more or the case is disputed (``contracts.domain``), on the
business calendar; operators see ``due_on`` and the overdue ones, and the job
flags those that pass their date undecided.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from contracts import domain as cd
from contracts.models import Contract, TechRegistration, TechRegistrationChange
from contracts.service.contracts import load_contract, technology_amount_of, within
from contracts.service.drafting import licence_months, open_licence_term
from contracts.service.records import seal
from exchange.actors import Actor
from exchange.audit import record_event
from exchange.calendar_store import get_calendar
from exchange.clock import Clock, local_date
from exchange.errors import ConflictError, NotFoundError, PermissionDeniedError, RuleViolationError, ValidationError
from exchange.jsonable import jsonable
from exchange.models import EntityType, Party, PartyKind
from exchange.money import MAX_FEN, Money
from exchange.pagination import paginate
from exchange.refs import next_reference
from exchange.text import clean_text
from listings.fields import check_field
from listings.service.common import appraisal_required
from listings.service.pricing import current_appraisal

LIVE_STATES = (cd.RegistrationState.SUBMITTED, cd.RegistrationState.REGISTERED, cd.RegistrationState.CHANGED)
_RESIDENT_COMPANY_TYPES = frozenset({EntityType.enterprise, EntityType.state_owned_enterprise})
#: What a registered change may alter.
CHANGEABLE = ("contract_name", "subject", "asset_refs", "contract_type", "subtype", "technical_field",
              "deal_amount_fen", "tech_amount_fen", "term_start", "term_end", "licence_term_years",
              "export_controlled", "export_licence_obtained", "wholly_related")
#: What the reviewer may flag while the registration is being decided.
REVIEW_FLAGS = ("export_controlled", "export_licence_obtained", "restrictive_clauses_flagged", "disputed",
                "wholly_related")


# --------------------------------------------------------------------------- loading
def load_registration(session: Session, ref: str, *, for_update: bool = False) -> TechRegistration:
    stmt = sa.select(TechRegistration).where(TechRegistration.ref == ref)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    reg = session.scalar(stmt)
    if reg is None:
        raise NotFoundError(f"No registration {ref}.", code="tech_registration_not_found")
    return reg


def visible_registration(actor: Actor, reg: TechRegistration) -> TechRegistration:
    deal = reg.contract.deal
    if actor.can_read_all or actor.party_id in (deal.seller_party_id, deal.buyer_party_id):
        return reg
    raise NotFoundError(f"No registration {reg.ref}.", code="tech_registration_not_found")


def live_registration(session: Session, contract_id: int) -> TechRegistration | None:
    return session.scalar(sa.select(TechRegistration).where(TechRegistration.contract_id == contract_id,
                                                            TechRegistration.state.in_(LIVE_STATES)))


# --------------------------------------------------------------------------- the pure inputs
def _decimal_years(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        years = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError("A licence term is a number of years.", code="invalid_licence_term",
                              field="licence_term_years") from None
    if not years.is_finite() or years <= 0 or years > 100:
        raise ValidationError("A licence term is a positive number of years, at most 100.",
                              code="invalid_licence_term", field="licence_term_years")
    return Decimal(int(years)) if years == years.to_integral_value() else years


def _party(snapshot: Mapping[str, Any] | None) -> cd.RegistrationParty | None:
    if not snapshot:
        return None
    return cd.RegistrationParty(name=snapshot.get("name", ""), credit_code=snapshot.get("credit_code", ""),
                                region_code=snapshot.get("region_code", ""),
                                entity_type=snapshot.get("entity_type", ""))


def _party_snapshot(values: Mapping[str, Any], role: str) -> Mapping[str, Any] | None:
    return next((p for p in values["parties"] if p.get("role") == role), None)


def registration_input(values: Mapping[str, Any], contract_state: cd.ContractState) -> cd.RegistrationInput:
    """The pure rules' view of a registration's values (a row's attributes or a proposed change)."""
    cur = values["currency"]
    return cd.RegistrationInput(
        contract_state=contract_state, contract_type=cd.ContractType(values["contract_type"]),
        seller=_party(_party_snapshot(values, "seller")), buyer=_party(_party_snapshot(values, "buyer")),
        subject=values["subject"], asset_refs=tuple(values["asset_refs"] or ()),
        deal_amount=Money(values["deal_amount_fen"], cur), tech_amount=Money(values["tech_amount_fen"], cur),
        seller_state_owned=values["seller_state_owned"], appraisal_filed=values["appraisal_filed"],
        export_controlled=values["export_controlled"], export_licence_obtained=values["export_licence_obtained"],
        restrictive_clauses_flagged=values["restrictive_clauses_flagged"], disputed=values["disputed"])


_VALUE_NAMES = ("contract_name", "subject", "asset_refs", "contract_type", "subtype", "technical_field", "ip_type",
                "signing_date", "term_start", "term_end", "licence_term_years", "deal_amount_fen", "tech_amount_fen",
                "currency", "parties", "seller_state_owned", "appraisal_filed", "seller_is_resident_company",
                "export_controlled", "export_licence_obtained", "restrictive_clauses_flagged", "disputed",
                "wholly_related")


def values_of(reg: TechRegistration) -> dict[str, Any]:
    return {name: getattr(reg, name) for name in _VALUE_NAMES}


def problems_of(reg: TechRegistration) -> list[cd.RegistrationProblem]:
    """Every reason the data gives to refuse ``reg`` (empty: it may be registered)."""
    return cd.registration_problems(registration_input(values_of(reg), reg.contract.state))


def problem_dicts(problems: Iterable[cd.RegistrationProblem]) -> list[dict[str, Any]]:
    return [{"reason": p.reason.value, "message": p.message, "field": p.field} for p in problems]


def tax_relief_of(values: Mapping[str, Any]) -> dict[str, Any]:
    relief = cd.tax_relief(values["contract_type"], values["subtype"], _decimal_years(values["licence_term_years"]),
                           values["wholly_related"], values["seller_is_resident_company"])
    return {"vat_exempt": relief.vat_exempt, "income_tax_relief": relief.income_tax_relief,
            "reasons": list(relief.reasons)}


def _deadline(session: Session, values: Mapping[str, Any], submitted_on: date) -> tuple[date, bool]:
    dl = cd.registration_deadline(get_calendar(session), submitted_on, Money(values["tech_amount_fen"],
                                                                             values["currency"]),
                                  values["disputed"])
    return dl.day, dl.provisional


# --------------------------------------------------------------------------- submit
@dataclass(frozen=True)
class RegistrationSubmission:
    """What the submitter may state; everything left None comes from the contract and its deal."""

    contract_type: cd.ContractType | None = None
    subtype: cd.ContractSubtype | None = None
    contract_name: str | None = None
    subject: str | None = None
    asset_refs: list[str] | None = None
    technical_field: str | None = None
    licence_term_years: Decimal | str | None = None
    export_controlled: bool = False
    export_licence_obtained: bool = False
    disputed: bool = False
    wholly_related: bool = False


def _snapshot_party(role: str, p: Party) -> dict[str, Any]:
    return {"role": role, "name": p.name, "credit_code": p.id_code, "region_code": p.region_code,
            "entity_type": p.entity_type.value}


def registering_region(seller: Party, buyer: Party, default: str) -> str:
    """Registered where the seller is (the domestic buyer for an import), else at the exchange's place."""
    for party in (seller, buyer):
        if cd.valid_region_code(party.region_code):
            return party.region_code
    return default


def _term(contract: Contract, signing: date | None) -> tuple[date | None, date | None, Decimal | None]:
    deal = contract.deal
    declared = open_licence_term(deal)
    if declared is not None:
        start, end = declared
        return start, end, (Decimal((end - start).days + 1) / Decimal(365)).quantize(Decimal("0.1"))
    months = licence_months(deal)
    if months is None or contract.contract_type is not cd.ContractType.LICENCE:
        return None, None, None
    years = Decimal(months) / Decimal(12)
    years = Decimal(months // 12) if months % 12 == 0 else years.quantize(Decimal("0.01"))
    if signing is None:
        return None, None, years
    y, m = divmod(signing.month - 1 + months, 12)
    try:
        end = signing.replace(year=signing.year + y, month=m + 1)
    except ValueError:  # 31 Jan + 1 month: the last day of the month
        end = date(signing.year + y, m + 2, 1) if m + 2 <= 12 else date(signing.year + y + 1, 1, 1)
    return signing, end - timedelta(days=1), years


def submit_registration(session: Session, actor: Actor, contract_ref: str, cmd: RegistrationSubmission, *,
                        clock: Clock, default_region: str = "310000") -> TechRegistration:
    """The seller's side (or an operator for it) submits the contract for registration.

    One live registration per contract (``tech_registration_exists``); a refused one
    may be followed by a new submission. The contract need not be in force yet: the
    decision checks that (and refuses with ``not_in_force``).
    """
    contract = load_contract(session, contract_ref, for_update=True)
    deal = contract.deal
    if not actor.is_staff and actor.party_id != deal.seller_party_id:
        if actor.party_id == deal.buyer_party_id:
            raise PermissionDeniedError("The seller's side registers the contract.", code="not_the_seller")
        raise NotFoundError(f"No contract {contract_ref}.", code="contract_not_found")
    if live_registration(session, contract.id) is not None:
        raise ConflictError("This contract is already submitted or registered.", code="tech_registration_exists")
    ctype = cmd.contract_type or contract.contract_type
    subtype = cmd.subtype or (contract.subtype if ctype == contract.contract_type else None)
    if subtype is None:
        raise ValidationError("Give the subtype of the new contract type.", code="invalid_contract_subtype",
                              field="subtype")
    cd.check_contract_subtype(ctype, subtype)
    asset = deal.asset
    technical_field = check_field(cmd.technical_field or asset.technical_field)
    name = clean_text(cmd.contract_name if cmd.contract_name is not None else contract.title, "contract_name",
                      max_length=200)
    # The subject and the identifiers are checked by the rules, not here: blank ones are a refusal reason.
    subject = clean_text(cmd.subject if cmd.subject is not None else asset.title, "subject", max_length=500,
                         min_length=0)
    refs = cmd.asset_refs if cmd.asset_refs is not None else [asset.number or asset.ref]
    refs = [clean_text(r, "asset_refs", max_length=60, min_length=0) for r in refs[:20]]
    signing = local_date(contract.in_force_at) if contract.in_force_at else None
    term_start, term_end, years = _term(contract, signing)
    if cmd.licence_term_years is not None:
        years = _decimal_years(cmd.licence_term_years)
    seller, buyer = deal.seller, deal.buyer
    now = clock.now()
    values: dict[str, Any] = {
        "contract_name": name, "subject": subject, "asset_refs": refs, "contract_type": ctype, "subtype": subtype,
        "technical_field": technical_field, "ip_type": asset.kind.value, "signing_date": signing,
        "term_start": term_start, "term_end": term_end, "licence_term_years": str(years) if years else None,
        "deal_amount_fen": deal.price_fen, "tech_amount_fen": technology_amount_of(contract).fen,
        "currency": deal.currency,
        "parties": [_snapshot_party("seller", seller), _snapshot_party("buyer", buyer)],
        "seller_state_owned": appraisal_required(seller),
        "appraisal_filed": current_appraisal(session, asset.id, local_date(deal.struck_at)) is not None,
        "seller_is_resident_company": seller.kind == PartyKind.organisation
        and seller.entity_type in _RESIDENT_COMPANY_TYPES,
        "export_controlled": cmd.export_controlled, "export_licence_obtained": cmd.export_licence_obtained,
        "restrictive_clauses_flagged": False, "disputed": cmd.disputed, "wholly_related": cmd.wholly_related,
    }
    due_on, provisional = _deadline(session, values, local_date(now))
    reg = TechRegistration(ref=next_reference(session, "TR", now.year), contract_id=contract.id,
                           state=cd.RegistrationState.SUBMITTED,
                           region_code=registering_region(seller, buyer, default_region), submitted_at=now,
                           submitted_by=actor.label, due_on=due_on, due_provisional=provisional, record_hash="",
                           **values)
    reg.contract = contract
    session.add(reg)
    seal(session, reg)
    record_event(session, actor=actor, action="tech_registration.submitted", subject_type="tech_registration",
                 subject_ref=reg.ref, after={"contract": contract.ref, "state": reg.state, "contract_type": ctype,
                                             "subtype": subtype, "deal_amount_fen": reg.deal_amount_fen,
                                             "tech_amount_fen": reg.tech_amount_fen, "due_on": due_on,
                                             "due_provisional": provisional}, clock=clock)
    return reg


# --------------------------------------------------------------------------- review and decision
def _require_state(reg: TechRegistration, *states: cd.RegistrationState) -> None:
    if reg.state not in states:
        raise ConflictError(f"The registration is {reg.state.value}.", code="invalid_registration_state",
                            details={"state": reg.state.value})


def update_review(session: Session, actor: Actor, ref: str, flags: Mapping[str, bool], *,
                  clock: Clock) -> TechRegistration:
    """The reviewer records what it found (export control, restrictive clauses, a dispute...).
    A dispute lengthens the review: the deadline is computed again from the submission."""
    reg = load_registration(session, ref, for_update=True)
    _require_state(reg, cd.RegistrationState.SUBMITTED)
    unknown = set(flags) - set(REVIEW_FLAGS)
    if unknown:
        raise ValidationError("Unknown review flags: %(flags)s.", params={"flags": ", ".join(sorted(unknown))},
                              code="unknown_field")
    before = {k: getattr(reg, k) for k in flags}
    for k, v in flags.items():
        setattr(reg, k, bool(v))
    after = {k: getattr(reg, k) for k in flags}
    if before == after:
        return reg
    if "disputed" in flags:
        reg.due_on, reg.due_provisional = _deadline(session, values_of(reg), local_date(reg.submitted_at))
        after["due_on"] = reg.due_on
    seal(session, reg)
    record_event(session, actor=actor, action="tech_registration.reviewed", subject_type="tech_registration",
                 subject_ref=ref, before=before, after=after, clock=clock)
    return reg


def register(session: Session, actor: Actor, ref: str, *, clock: Clock, note: str = "") -> TechRegistration:
    """Register the contract: a new registration number ``JS{year}{region}{serial}``, and the tax
    relief it unlocks. Refused while the data shows a reason not to (``registration_has_problems``)."""
    reg = load_registration(session, ref, for_update=True)
    cd.check_registration_transition(reg.state, cd.RegistrationState.REGISTERED)
    problems = problems_of(reg)
    if problems:
        raise RuleViolationError("The data shows reasons not to register; refuse with them or fix the data.",
                                 code="registration_has_problems", details={"problems": problem_dicts(problems)})
    now = clock.now()
    today = local_date(now)
    # The counter is per year; a serial unique in the year is unique for the year and place.
    serial = int(next_reference(session, "JS", today.year).rsplit("-", 1)[1])
    reg.registration_number = cd.format_registration_number(today.year, reg.region_code, serial)
    reg.state = cd.RegistrationState.REGISTERED
    reg.registered_on = today
    reg.decided_at, reg.decided_by = now, actor.label
    reg.decision_note = clean_text(note, "note", max_length=2000, min_length=0, multiline=True) or None
    reg.tax_relief = tax_relief_of(values_of(reg))
    seal(session, reg)
    record_event(session, actor=actor, action="tech_registration.registered", subject_type="tech_registration",
                 subject_ref=ref, before={"state": cd.RegistrationState.SUBMITTED},
                 after={"state": reg.state, "registration_number": reg.registration_number,
                        "tax_relief": reg.tax_relief}, reason=reg.decision_note, clock=clock)
    return reg


def refuse(session: Session, actor: Actor, ref: str, reasons: Iterable[cd.RefusalReason | str], *, note: str = "",
           clock: Clock) -> TechRegistration:
    """Refuse registration (未予登记) with reasons, each of which the data must support.

    No reasons given: every reason the data shows. Refused: a reason the data does
    not show (``refusal_reason_unsupported``), or nothing to refuse for
    (``no_refusal_reason``: register it instead).
    """
    reg = load_registration(session, ref, for_update=True)
    cd.check_registration_transition(reg.state, cd.RegistrationState.REFUSED)
    try:
        wanted = [cd.RefusalReason(r) for r in reasons]
    except ValueError as exc:
        raise ValidationError(str(exc), code="unknown_refusal_reason", field="reasons") from None
    problems = problems_of(reg)
    found = {p.reason for p in problems}
    if not found:
        raise RuleViolationError("The data shows no reason to refuse this registration.", code="no_refusal_reason")
    unsupported = [r.value for r in dict.fromkeys(wanted) if r not in found]
    if unsupported:
        raise RuleViolationError("The data does not support these reasons.", code="refusal_reason_unsupported",
                                 field="reasons", details={"unsupported": unsupported,
                                                           "found": sorted(r.value for r in found)})
    chosen = [p for p in problems if not wanted or p.reason in wanted]
    now = clock.now()
    reg.state = cd.RegistrationState.REFUSED
    reg.refusal_reasons = problem_dicts(chosen)
    reg.decided_at, reg.decided_by = now, actor.label
    reg.decision_note = clean_text(note, "note", max_length=2000, min_length=0, multiline=True) or None
    seal(session, reg)
    record_event(session, actor=actor, action="tech_registration.refused", subject_type="tech_registration",
                 subject_ref=ref, before={"state": cd.RegistrationState.SUBMITTED},
                 after={"state": reg.state, "reasons": [p["reason"] for p in reg.refusal_reasons]},
                 reason=reg.decision_note, clock=clock)
    return reg


def _coerce_change(name: str, value: Any) -> Any:
    if name in ("contract_name",):
        return clean_text(value, name, max_length=200)
    if name == "subject":
        return clean_text(value, name, max_length=500, min_length=0)
    if name == "asset_refs":
        if not isinstance(value, list):
            raise ValidationError("asset_refs is a list.", code="invalid_type", field=name)
        return [clean_text(v, name, max_length=60, min_length=0) for v in value[:20]]
    if name == "contract_type":
        return cd.ContractType(value)
    if name == "subtype":
        return cd.ContractSubtype(value)
    if name == "technical_field":
        return check_field(value)
    if name in ("deal_amount_fen", "tech_amount_fen"):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < MAX_FEN:
            raise ValidationError(f"{name} is a whole number of fen, zero or more.", code="invalid_amount", field=name)
        return value
    if name in ("term_start", "term_end"):
        if value is None or isinstance(value, date):
            return value
        if not isinstance(value, str):
            raise ValidationError("%(name)s is a date (YYYY-MM-DD).", params={"name": name}, code="invalid_type",
                                  field=name)
        return date.fromisoformat(value)
    if name == "licence_term_years":
        years = _decimal_years(value)
        return str(years) if years is not None else None
    if not isinstance(value, bool):
        raise ValidationError("%(name)s is true or false.", params={"name": name}, code="invalid_type", field=name)
    return value


def register_change(session: Session, actor: Actor, ref: str, changes: Mapping[str, Any], reason: str, *,
                    clock: Clock) -> TechRegistration:
    """Register a change of a registered contract (变更登记), checked like a registration:
    a change the rules would refuse is refused with its reasons (``change_refused``)."""
    reg = load_registration(session, ref, for_update=True)
    cd.check_registration_transition(reg.state, cd.RegistrationState.CHANGED)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    unknown = set(changes) - set(CHANGEABLE)
    if unknown:
        raise ValidationError("These fields cannot be changed: %(fields)s.",
                              params={"fields": ", ".join(sorted(unknown))}, code="unknown_field",
                              details={"changeable": list(CHANGEABLE)})
    try:
        proposed = {k: _coerce_change(k, v) for k, v in changes.items()}
    except ValueError as exc:  # enum values and ISO dates
        raise ValidationError(str(exc), code="invalid_input") from None
    current = values_of(reg)
    diff = {k: v for k, v in proposed.items() if current[k] != v}
    if not diff:
        raise ValidationError("Nothing would change.", code="no_change")
    candidate = {**current, **diff}
    cd.check_contract_subtype(candidate["contract_type"], candidate["subtype"])
    if candidate["tech_amount_fen"] > candidate["deal_amount_fen"]:
        raise RuleViolationError("The technology amount cannot exceed the deal amount.",
                                 code="non_technical_exceeds_deal", field="tech_amount_fen")
    problems = cd.registration_problems(registration_input(candidate, reg.contract.state))
    if problems:
        raise RuleViolationError("The change cannot be registered.", code="change_refused",
                                 details={"problems": problem_dicts(problems)})
    before_state = reg.state
    for k, v in diff.items():
        setattr(reg, k, v)
    reg.state = cd.RegistrationState.CHANGED
    reg.tax_relief = tax_relief_of(values_of(reg))
    record = {k: {"from": jsonable(current[k]), "to": jsonable(v)} for k, v in diff.items()}
    reg.changes.append(TechRegistrationChange(kind="change", changes=record, reason=reason, recorded_at=clock.now(),
                                              recorded_by=actor.label))
    seal(session, reg)
    record_event(session, actor=actor, action="tech_registration.changed", subject_type="tech_registration",
                 subject_ref=ref, before={"state": before_state}, after={"state": reg.state, "changes": record},
                 reason=reason, clock=clock)
    return reg


def cancel_registration(session: Session, actor: Actor, ref: str, reason: str, *, clock: Clock) -> TechRegistration:
    """Withdraw a submission, or cancel a registration (注销), with the reason; registered as a change row."""
    reg = load_registration(session, ref, for_update=True)
    before = reg.state
    cd.check_registration_transition(before, cd.RegistrationState.CANCELLED)
    reason = clean_text(reason, "reason", max_length=2000, multiline=True)
    reg.state = cd.RegistrationState.CANCELLED
    reg.changes.append(TechRegistrationChange(kind="cancellation",
                                              changes={"state": {"from": before.value, "to": "cancelled"}},
                                              reason=reason, recorded_at=clock.now(), recorded_by=actor.label))
    seal(session, reg)
    record_event(session, actor=actor, action="tech_registration.cancelled", subject_type="tech_registration",
                 subject_ref=ref, before={"state": before}, after={"state": reg.state}, reason=reason, clock=clock)
    return reg


# --------------------------------------------------------------------------- deadlines
def deadline_status(session: Session, reg: TechRegistration, clock: Clock) -> dict[str, Any]:
    """What operators see: the due date, working days left, overdue or not."""
    today = local_date(clock.now())
    pending = reg.state == cd.RegistrationState.SUBMITTED
    cal = get_calendar(session)
    left = cal.working_days_between(today, reg.due_on) if pending else None
    return {"due_on": reg.due_on, "provisional": reg.due_provisional, "pending": pending,
            "working_days_left": left, "overdue": pending and today > reg.due_on,
            "flagged_at": reg.overdue_flagged_at}


def overdue_refs(session: Session, clock: Clock, *, unflagged_only: bool = True, limit: int = 200) -> list[str]:
    """Submitted registrations whose decision date has passed (Shanghai date)."""
    stmt = sa.select(TechRegistration.ref).where(TechRegistration.state == cd.RegistrationState.SUBMITTED,
                                                 TechRegistration.due_on < local_date(clock.now()))
    if unflagged_only:
        stmt = stmt.where(TechRegistration.overdue_flagged_at.is_(None))
    return list(session.scalars(stmt.order_by(TechRegistration.due_on, TechRegistration.id).limit(limit)))


def flag_overdue(session: Session, ref: str, *, clock: Clock) -> bool:
    """Mark an undecided registration past its date, once (an audit event operators can follow)."""
    reg = load_registration(session, ref, for_update=True)
    today = local_date(clock.now())
    if reg.state != cd.RegistrationState.SUBMITTED or reg.overdue_flagged_at is not None or today <= reg.due_on:
        return False
    reg.overdue_flagged_at = clock.now()
    seal(session, reg)
    record_event(session, actor=Actor.system("registration-deadline"), action="tech_registration.overdue",
                 subject_type="tech_registration", subject_ref=ref,
                 after={"due_on": reg.due_on, "flagged_at": reg.overdue_flagged_at}, clock=clock)
    return True


# --------------------------------------------------------------------------- lists
@dataclass(frozen=True)
class RegistrationQuery:
    state: cd.RegistrationState | None = None
    contract_type: cd.ContractType | None = None
    subtype: cd.ContractSubtype | None = None
    overdue: bool | None = None
    due_before: date | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None
    registration_number: str | None = None


def registrations_query(q: RegistrationQuery, *, today: date, party_id: int | None = None) -> sa.Select:
    from auctions.models import Deal

    stmt = sa.select(TechRegistration)
    if party_id is not None:
        stmt = (stmt.join(Contract, Contract.id == TechRegistration.contract_id).join(Deal, Deal.id == Contract.deal_id)
                .where(sa.or_(Deal.seller_party_id == party_id, Deal.buyer_party_id == party_id)))
    if q.state is not None:
        stmt = stmt.where(TechRegistration.state == q.state)
    if q.contract_type is not None:
        stmt = stmt.where(TechRegistration.contract_type == q.contract_type)
    if q.subtype is not None:
        stmt = stmt.where(TechRegistration.subtype == q.subtype)
    if q.overdue is not None:
        late = sa.and_(TechRegistration.state == cd.RegistrationState.SUBMITTED, TechRegistration.due_on < today)
        stmt = stmt.where(late if q.overdue else sa.not_(late))
    if q.due_before is not None:
        stmt = stmt.where(TechRegistration.due_on <= q.due_before)
    if q.registration_number:
        stmt = stmt.where(TechRegistration.registration_number == str(cd.parse_registration_number(
            q.registration_number)))
    stmt = within(stmt, TechRegistration.submitted_at, q.submitted_from, q.submitted_to)
    return stmt.order_by(TechRegistration.due_on, TechRegistration.id)


def list_registrations(session: Session, q: RegistrationQuery, *, clock: Clock, page: int, per_page: int,
                       party_id: int | None = None) -> tuple[list[TechRegistration], dict[str, int]]:
    return paginate(session, registrations_query(q, today=local_date(clock.now()), party_id=party_id), page,
                    per_page)
