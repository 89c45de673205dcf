"""An operator's manual 'deposit received' records the money in the ledger before the
registration counts as paid: a registration is never paid without a deposit held."""
from __future__ import annotations

from datetime import datetime, timezone

from exchange.models import Role
from tests.factories import auth, make_member, make_staff, token_for
from tests.helpers import confirmed_asset, ok, published_listing, register_buyer


def test_manual_deposit_funds_the_hold_through_the_ledger_once(client, session, clock):
    clock.set(datetime(2026, 9, 21, 2, 0, tzinfo=timezone.utc))
    seller, buyer = make_member(session, clock), make_member(session, clock)
    op, aud = make_staff(session, clock, Role.operator), make_staff(session, clock, Role.auditor)
    session.commit()
    ts, tb, to, ta = (token_for(client, u) for u in (seller, buyer, op, aud))
    listing = published_listing(client, ts, to, confirmed_asset(client, ts, to)["ref"])
    reg = register_buyer(client, tb, listing["ref"])
    assert ok(client.get(f"/api/v1/settlement/holds/{reg['ref']}", headers=auth(to)))["state"] == "pending"

    paid = ok(client.post(f"/api/v1/registrations/{reg['ref']}/deposit-received", headers=auth(to)))
    assert paid["state"] == "deposit_paid"
    hold = ok(client.get(f"/api/v1/settlement/holds/{reg['ref']}", headers=auth(to)))
    assert hold["state"] == "held" and hold["funded_by"] == "cash" and hold["cash_fen"] == reg["deposit_fen"]
    # The receipt is a bank notification like any other, matched to the registration.
    notes = ok(client.get("/api/v1/settlement/bank-notifications", headers=auth(to)))
    items = notes["items"] if isinstance(notes, dict) else notes
    mine = [n for n in items if n["bank_reference"] == f"MANUAL-{reg['ref']}"]
    assert len(mine) == 1 and mine[0]["state"] == "matched"
    # Confirming again changes nothing, and the ledger still balances.
    again = ok(client.post(f"/api/v1/registrations/{reg['ref']}/deposit-received", headers=auth(to)))
    assert again["state"] == "deposit_paid"
    notes = ok(client.get("/api/v1/settlement/bank-notifications", headers=auth(to)))
    items = notes["items"] if isinstance(notes, dict) else notes
    assert len([n for n in items if n["bank_reference"] == f"MANUAL-{reg['ref']}"]) == 1
    assert ok(client.get("/api/v1/settlement/ledger/verify", headers=auth(ta)))["ok"] is True
