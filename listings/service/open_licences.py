"""Open licences (开放许可): declare terms, anyone takes a licence by notice, withdraw."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event
from exchange.clock import Clock
from exchange.errors import ConflictError, NotFoundError, PermissionDeniedError, RuleViolationError, ValidationError
from exchange.money import Money
from exchange.refs import next_reference
from exchange.text import clean_text
from listings import domain as d
from listings.models import OpenLicenceDeclaration, OpenLicenceTaking
from listings.service.common import facts_for, load_asset, related_party_ids, require_holder, today

# The auctions package turns each taking into a deal: fn(session, declaration, taking, clock).
ON_TAKEN: list[Callable[..., None]] = []
GRANTED_PATENT_KINDS = (d.AssetKind.INVENTION_PATENT, d.AssetKind.UTILITY_MODEL, d.AssetKind.DESIGN_PATENT)


@dataclass(frozen=True)
class OpenLicenceInput:
    fee_kind: d.OpenLicenceFeeKind
    term_start: date
    term_end: date
    lump_sum_fen: int | None = None
    entry_fee_fen: int | None = None
    royalty_rate: str | None = None


def _rate(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        r = Decimal(str(text))
    except InvalidOperation:
        raise ValidationError("royalty_rate is a decimal such as \"0.035\".", code="invalid_rate",
                              field="royalty_rate") from None
    if not r.is_finite():
        raise ValidationError("royalty_rate is a decimal such as \"0.035\".", code="invalid_rate", field="royalty_rate")
    return r


def load_declaration(session: Session, ref: str, *, for_update: bool = False) -> OpenLicenceDeclaration:
    stmt = sa.select(OpenLicenceDeclaration).where(OpenLicenceDeclaration.ref == ref)
    if for_update:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    decl = session.scalar(stmt)
    if decl is None:
        raise NotFoundError(f"No open licence {ref}.", code="open_licence_not_found")
    return decl


def declare_open_licence(session: Session, actor: Actor, asset_ref: str, cmd: OpenLicenceInput, *,
                         clock: Clock) -> OpenLicenceDeclaration:
    """Declare an open licence on a granted, confirmed patent (no exclusive or sole licence may stand)."""
    asset = load_asset(session, asset_ref, for_update=True)
    require_holder(actor, asset)
    if asset.kind not in GRANTED_PATENT_KINDS:
        raise RuleViolationError("Open licences are declared on granted patents.", code="open_licence_patent_only")
    if asset.confirmation != d.AssetConfirmation.CONFIRMED:
        raise RuleViolationError("The asset's rights have not been confirmed by the exchange.",
                                 code="rights_not_confirmed")
    if session.scalar(sa.select(OpenLicenceDeclaration.id).where(OpenLicenceDeclaration.asset_id == asset.id,
                                                                 OpenLicenceDeclaration.withdrawn_at.is_(None))):
        raise ConflictError("An open licence is already declared for this patent.", code="open_licence_exists")
    for name in ("lump_sum_fen", "entry_fee_fen"):
        v = getattr(cmd, name)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v <= 0 or v >= 10**15):
            raise ValidationError(f"{name} must be a positive whole number of fen.", code="invalid_amount",
                                  field=name)
    terms = d.OpenLicenceTerms(fee_kind=cmd.fee_kind, term_start=cmd.term_start, term_end=cmd.term_end,
                               lump_sum=Money(cmd.lump_sum_fen) if cmd.lump_sum_fen else None,
                               royalty_rate=_rate(cmd.royalty_rate),
                               entry_fee=Money(cmd.entry_fee_fen) if cmd.entry_fee_fen else None)
    if cmd.term_start < today(clock):
        raise ValidationError("The term cannot start in the past.", code="invalid_dates", field="term_start")
    d.check_open_licence_terms(terms, asset.expiry_date)
    d.check_listable(facts_for(session, asset, asset.holder_party_id, d.TradingMode.OPEN_LICENCE), today(clock))
    now = clock.now()
    decl = OpenLicenceDeclaration(ref=next_reference(session, "OL", now.year), asset_id=asset.id,
                                  seller_party_id=asset.holder_party_id, fee_kind=cmd.fee_kind,
                                  lump_sum_fen=cmd.lump_sum_fen, entry_fee_fen=cmd.entry_fee_fen,
                                  royalty_rate=str(terms.royalty_rate) if terms.royalty_rate is not None else None,
                                  term_start=cmd.term_start, term_end=cmd.term_end, declared_at=now)
    session.add(decl)
    session.flush()
    record_event(session, actor=actor, action="open_licence.declared", subject_type="open_licence",
                 subject_ref=decl.ref, after={"asset": asset.ref, "fee_kind": cmd.fee_kind,
                                              "lump_sum_fen": cmd.lump_sum_fen, "entry_fee_fen": cmd.entry_fee_fen,
                                              "royalty_rate": decl.royalty_rate, "term_start": cmd.term_start,
                                              "term_end": cmd.term_end}, clock=clock)
    return decl


def withdraw_open_licence(session: Session, actor: Actor, ref: str, reason: str, *,
                          clock: Clock) -> OpenLicenceDeclaration:
    """Withdraw the declaration; licences already taken stay in force."""
    decl = load_declaration(session, ref, for_update=True)
    require_holder(actor, decl.asset)
    if decl.withdrawn_at is not None:
        raise ConflictError("The declaration is already withdrawn.", code="open_licence_withdrawn")
    decl.withdrawn_at = clock.now()
    session.flush()
    record_event(session, actor=actor, action="open_licence.withdrawn", subject_type="open_licence",
                 subject_ref=decl.ref, reason=clean_text(reason, "reason", max_length=2000, multiline=True),
                 clock=clock)
    return decl


def take_open_licence(session: Session, actor: Actor, ref: str, notice: str, *, clock: Clock) -> OpenLicenceTaking:
    """Any member obtains the licence by written notice; no bidding."""
    if actor.party_id is None:
        raise PermissionDeniedError("Only members take licences.", code="forbidden_role")
    decl = load_declaration(session, ref, for_update=True)
    if decl.withdrawn_at is not None:
        raise RuleViolationError("This open licence has been withdrawn.", code="open_licence_withdrawn")
    on = today(clock)
    if on > decl.term_end:
        raise RuleViolationError("The open licence term has ended.", code="open_licence_expired")
    if actor.party_id == decl.seller_party_id or str(actor.party_id) in related_party_ids(session, decl.asset.holder):
        raise RuleViolationError("The patentee does not license itself.", code="seller_cannot_register")
    if session.scalar(sa.select(OpenLicenceTaking.id).where(OpenLicenceTaking.declaration_id == decl.id,
                                                            OpenLicenceTaking.licensee_party_id == actor.party_id)):
        raise ConflictError("You already hold this licence.", code="already_licensed")
    frozen = [e for e in decl.asset.encumbrances if e.kind == d.EncumbranceKind.COURT_FREEZE
              and e.starts_on <= on and (e.ends_on is None or on <= e.ends_on)
              and (e.released_on is None or e.released_on > on)]
    if frozen:
        raise RuleViolationError("The patent is frozen by a court.", code="court_frozen")
    taking = OpenLicenceTaking(declaration_id=decl.id, licensee_party_id=actor.party_id, user_id=actor.user_id,
                               notice=clean_text(notice, "notice", max_length=5000, multiline=True),
                               taken_at=clock.now())
    session.add(taking)
    session.flush()
    record_event(session, actor=actor, action="open_licence.taken", subject_type="open_licence",
                 subject_ref=decl.ref, after={"licensee_party_id": actor.party_id}, clock=clock)
    for hook in ON_TAKEN:
        hook(session, decl, taking, clock)
    return taking
