"""IP pledges (知识产权质押融资): create, record the pledgee's consent, release.

The pledge is kept here; each pledged asset also carries a listings Encumbrance of
kind ``pledge`` with ``pledge_ref`` set, written through the listings service, so
the listings rules (no sale or exclusive licence without the pledgee's consent)
keep checking it. The listings encumbrance has one consent flag for every mode;
the pledge here keeps which modes the pledgee consented to, and
``check_pledges_allow`` answers per mode.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.clock import Clock
from exchange.errors import NotFoundError, PermissionDeniedError, ValidationError
from exchange.models import Party
from exchange.money import Money
from exchange.refs import next_reference
from exchange.text import clean_text
from listings import domain as ld
from listings.models import Asset, AssetOwner
from settlement.domain import Pledge as PledgeValue, PledgeState, check_pledge_allows, record_consent, release_pledge
from settlement.models import Pledge, PledgeAsset
from settlement.service.common import check_currency, check_fen, load_party, lock, log_event, serialise_writes, today


@dataclass(frozen=True)
class PledgeInput:
    pledgor_ref: str
    pledgee_name: str
    secured_amount_fen: int
    starts_on: date
    asset_refs: list[str] = field(default_factory=list)
    pledgee_ref: str | None = None
    ends_on: date | None = None
    currency: str = "CNY"
    secured_debt: str = ""
    registration_number: str = ""
    note: str = ""


def load_pledge(session: Session, ref: str, *, for_update: bool = False) -> Pledge:
    """A pledge by its reference (locked with ``for_update``), or ``pledge_not_found``."""
    stmt = sa.select(Pledge).where(Pledge.ref == ref)
    p = session.scalar(lock(stmt) if for_update else stmt)
    if p is None:
        raise NotFoundError(f"No pledge {ref}.", code="pledge_not_found")
    return p


def visible_pledge(actor: Actor, p: Pledge) -> Pledge:
    """The pledge for the exchange and its pledgor and pledgee; anyone else gets 404."""
    if actor.can_read_all or actor.party_id in (p.pledgor_party_id, p.pledgee_party_id):
        return p
    raise NotFoundError(f"No pledge {p.ref}.", code="pledge_not_found")


def as_value(p: Pledge) -> PledgeValue:
    """The stored pledge as the pure rules' value object."""
    return PledgeValue(pledgor=str(p.pledgor_party_id), pledgee=p.pledgee_name,
                       secured_amount=Money(p.secured_amount_fen, p.currency), starts_on=p.starts_on,
                       ends_on=p.ends_on, assets=tuple(str(a.asset_id) for a in p.assets), state=p.state,
                       consented_modes=frozenset(p.consented_modes or ()), reference=p.ref)


def _require_staff(actor: Actor) -> None:
    # The listings encumbrance is written as this actor: only the exchange records pledges.
    if not actor.is_staff:
        raise PermissionDeniedError("Pledges are recorded by the exchange.", code="forbidden_role")


def create_pledge(session: Session, actor: Actor, cmd: PledgeInput, *, clock: Clock) -> Pledge:
    """Record a pledge over the pledgor's assets and mirror it on each asset as an encumbrance."""
    from listings.service import EncumbranceInput, add_encumbrance

    _require_staff(actor)
    serialise_writes(session)
    pledgor = load_party(session, cmd.pledgor_ref, "pledgor_ref")
    pledgee: Party | None = load_party(session, cmd.pledgee_ref, "pledgee_ref") if cmd.pledgee_ref else None
    if pledgee is not None and pledgee.id == pledgor.id:
        raise ValidationError("The pledgor cannot be its own pledgee.", code="invalid_pledge", field="pledgee_ref")
    name = clean_text(cmd.pledgee_name or (pledgee.name if pledgee else ""), "pledgee_name", max_length=200)
    amount = check_fen(cmd.secured_amount_fen, "secured_amount_fen")
    currency = check_currency(cmd.currency)
    refs = [clean_text(r, "asset_refs", max_length=20) for r in cmd.asset_refs]
    if not refs or len(refs) > 50 or len(set(refs)) != len(refs):
        raise ValidationError("Name each pledged asset once (1 to 50).", code="invalid_pledge", field="asset_refs")
    assets = []
    for ref in refs:
        asset = session.scalar(sa.select(Asset).where(Asset.ref == ref))
        if asset is None:
            raise NotFoundError(f"No asset {ref}.", code="asset_not_found", field="asset_refs")
        owner = asset.holder_party_id == pledgor.id or session.scalar(
            sa.select(AssetOwner.id).where(AssetOwner.asset_id == asset.id, AssetOwner.party_id == pledgor.id))
        if not owner:
            raise ValidationError(f"The pledgor does not hold asset {ref}.", code="pledgor_not_holder",
                                  field="asset_refs")
        assets.append(asset)
    PledgeValue(pledgor=pledgor.ref, pledgee=name, secured_amount=Money(amount, currency), starts_on=cmd.starts_on,
                ends_on=cmd.ends_on)  # the pure rules check amounts and dates
    now = clock.now()
    p = Pledge(ref=next_reference(session, "PL", now.year), pledgor_party_id=pledgor.id,
               pledgee_party_id=pledgee.id if pledgee else None, pledgee_name=name,
               secured_debt=clean_text(cmd.secured_debt or "", "secured_debt", max_length=2000, min_length=0,
                                       multiline=True),
               secured_amount_fen=amount, currency=currency, starts_on=cmd.starts_on, ends_on=cmd.ends_on,
               state=PledgeState.ACTIVE, consented_modes=[],
               registration_number=clean_text(cmd.registration_number or "", "registration_number", max_length=60,
                                              min_length=0),
               note=clean_text(cmd.note or "", "note", max_length=2000, min_length=0, multiline=True),
               created_at=now, created_by=actor.label)
    session.add(p)
    session.flush()
    for asset in assets:
        enc = add_encumbrance(session, actor, asset.ref, EncumbranceInput(
            kind=ld.EncumbranceKind.PLEDGE, starts_on=cmd.starts_on, ends_on=None,
            holder_party_ref=pledgee.ref if pledgee else None, holder_name=name, consent_to_transfer=False,
            note=f"pledge {p.ref}", pledge_ref=p.ref), clock=clock)
        session.add(PledgeAsset(pledge_id=p.id, asset_id=asset.id, encumbrance_id=enc.id))
    session.flush()
    session.expire(p, ["assets"])
    log_event(session, actor, "pledge.created", "pledge", p.ref, clock,
              after={"pledgor": pledgor.ref, "pledgee": name, "secured_amount_fen": amount, "currency": currency,
                     "starts_on": cmd.starts_on, "ends_on": cmd.ends_on, "assets": refs})
    return p


def consent(session: Session, actor: Actor, ref: str, mode: str, note: str, *, clock: Clock) -> Pledge:
    """Record the pledgee's consent to dealing in ``mode`` (a listings trading mode). Idempotent."""
    from listings.service import update_encumbrance

    _require_staff(actor)
    serialise_writes(session)
    try:
        mode_value = ld.TradingMode(mode).value
    except ValueError:
        raise ValidationError(f"Unknown trading mode {mode!r}.", code="invalid_trading_mode", field="mode") from None
    note = clean_text(note, "note", max_length=2000, multiline=True)
    p = load_pledge(session, ref, for_update=True)
    updated = record_consent(as_value(p), mode_value)
    if set(updated.consented_modes) == set(p.consented_modes or ()):
        return p
    before = sorted(p.consented_modes or ())
    p.consented_modes = sorted(updated.consented_modes)
    for pa in p.assets:
        enc = pa.encumbrance_id
        update_encumbrance(session, actor, _asset_ref(session, pa.asset_id), enc, consent_to_transfer=True,
                           clock=clock)
    session.flush()
    log_event(session, actor, "pledge.consent_recorded", "pledge", p.ref, clock,
              before={"consented_modes": before}, after={"consented_modes": p.consented_modes}, reason=note)
    return p


def release(session: Session, actor: Actor, ref: str, note: str, *, clock: Clock) -> Pledge:
    """Release the pledge (deregistered): it stops blocking, on every mirrored encumbrance too."""
    from listings.service import update_encumbrance

    _require_staff(actor)
    serialise_writes(session)
    note = clean_text(note, "note", max_length=2000, multiline=True)
    p = load_pledge(session, ref, for_update=True)
    if p.state == PledgeState.RELEASED:
        return p
    release_pledge(as_value(p))
    on = max(today(clock), p.starts_on)
    p.state = PledgeState.RELEASED
    p.released_on = on
    for pa in p.assets:
        update_encumbrance(session, actor, _asset_ref(session, pa.asset_id), pa.encumbrance_id, released_on=on,
                           clock=clock)
    session.flush()
    log_event(session, actor, "pledge.released", "pledge", p.ref, clock, before={"state": "active"},
              after={"state": "released", "released_on": on}, reason=note)
    return p


def _asset_ref(session: Session, asset_id: int) -> str:
    return session.scalar(sa.select(Asset.ref).where(Asset.id == asset_id))


def pledges_on(session: Session, asset_id: int) -> list[Pledge]:
    """Every pledge (active or released) over an asset."""
    return list(session.scalars(sa.select(Pledge).join(PledgeAsset, PledgeAsset.pledge_id == Pledge.id)
                                .where(PledgeAsset.asset_id == asset_id).order_by(Pledge.id)))


def check_pledges_allow(session: Session, asset_id: int, mode: Any, on: date) -> None:
    """Raise ``pledged_without_consent`` if a pledge on the asset forbids dealing in ``mode`` on ``on``."""
    check_pledge_allows([as_value(p) for p in pledges_on(session, asset_id)], mode, on)


def list_pledges(session: Session, actor: Actor, *, asset_ref: str | None = None,
                 party_ref: str | None = None) -> list[Pledge]:
    """Pledges the actor may see, optionally of one asset or party."""
    stmt = sa.select(Pledge).order_by(Pledge.id.desc())
    if not actor.can_read_all:
        stmt = stmt.where(sa.or_(Pledge.pledgor_party_id == actor.party_id, Pledge.pledgee_party_id == actor.party_id))
    if party_ref:
        pid = load_party(session, party_ref).id
        stmt = stmt.where(sa.or_(Pledge.pledgor_party_id == pid, Pledge.pledgee_party_id == pid))
    if asset_ref:
        stmt = stmt.join(PledgeAsset, PledgeAsset.pledge_id == Pledge.id).join(Asset, Asset.id == PledgeAsset.asset_id)\
            .where(Asset.ref == asset_ref)
    return list(session.scalars(stmt.limit(500)))


def pledge_view(session: Session, p: Pledge) -> dict[str, Any]:
    """The pledge as the API shows it."""
    return {"ref": p.ref, "pledgor_ref": p.pledgor.ref, "pledgor_name": p.pledgor.name,
            "pledgee_ref": p.pledgee.ref if p.pledgee else None, "pledgee_name": p.pledgee_name,
            "secured_debt": p.secured_debt, "secured_amount_fen": p.secured_amount_fen, "currency": p.currency,
            "starts_on": p.starts_on, "ends_on": p.ends_on, "state": p.state.value,
            "consented_modes": list(p.consented_modes or []), "registration_number": p.registration_number,
            "note": p.note, "released_on": p.released_on, "created_at": p.created_at,
            "assets": [{"asset_ref": _asset_ref(session, a.asset_id), "encumbrance_id": a.encumbrance_id}
                       for a in p.assets]}
