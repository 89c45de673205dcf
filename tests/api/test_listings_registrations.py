"""Buyer registration (意向受让登记) through the API: who may register, when, deposits, qualification.

Unhappy paths first. A refused registration leaves no registration row and no audit event.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from exchange.models import AuditEvent
from listings.models import BuyerRegistration
from tests.factories import auth, register_payload
from tests.helpers import (
    assert_problem,
    cast_with_published_listing,
    confirmed_asset,
    count_rows,
    draft_listing,
    ok,
    patent_no,
    published_listing,
    qualified_buyer,
    register_buyer,
    shanghai,
)


@pytest.fixture()
def c(client, session, clock):  # type: ignore[no-untyped-def]
    return cast_with_published_listing(client, session, clock)


def sign_up(client, **over):  # type: ignore[no-untyped-def]
    """Sign up through the public API (so the related group comes from the payload) and get a token."""
    payload = register_payload(**over)
    ok(client.post("/api/v1/auth/register", json=payload), 201)
    return ok(client.post("/api/v1/auth/token", json={"email": payload["email"], "password": payload["password"]}),
              201)["token"]


def try_register(client, token, ref):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/listings/{ref}/registrations", json={"declaration": "本公司符合全部受让条件"},
                       headers=auth(token))


def nothing_new(session, before) -> None:  # type: ignore[no-untyped-def]
    assert (count_rows(session, BuyerRegistration), count_rows(session, AuditEvent)) == before


def snapshot(session):  # type: ignore[no-untyped-def]
    return count_rows(session, BuyerRegistration), count_rows(session, AuditEvent)


def test_seller_cannot_register_for_its_own_listing(client, session, c):
    before = snapshot(session)
    assert_problem(try_register(client, c.ts, c.ref), 422, "seller_cannot_register")
    nothing_new(session, before)


def test_related_party_of_the_seller_cannot_register(client, session, c):
    ts = sign_up(client, related_group="上实集团")
    related = sign_up(client, related_group="上实集团")
    unrelated = sign_up(client, related_group="光明集团")
    asset = confirmed_asset(client, ts, c.to, number=patent_no(2))
    listing = published_listing(client, ts, c.to, asset["ref"])
    before = snapshot(session)
    assert_problem(try_register(client, related, listing["ref"]), 422, "seller_cannot_register")
    nothing_new(session, before)
    assert register_buyer(client, unrelated, listing["ref"])["state"] == "pending_deposit"
    # The related party may still register for someone else's listing.
    assert register_buyer(client, related, c.ref)["state"] == "pending_deposit"


def test_registration_outside_publicity_is_refused(client, session, clock, c):
    other_asset = confirmed_asset(client, c.ts, c.to, number=patent_no(3))
    draft = draft_listing(client, c.ts, other_asset["ref"])
    before = snapshot(session)
    assert_problem(try_register(client, c.t1, draft["ref"]), 409, "publicity_not_open")
    # After the last day (and the unsold end: max_extensions 0 on this one).
    no_ext = confirmed_asset(client, c.ts, c.to, number=patent_no(4))
    ending = published_listing(client, c.ts, c.to, no_ext["ref"], max_extensions=0)
    before = snapshot(session)
    clock.set(shanghai(2026, 3, 31, 0, 0))
    assert_problem(try_register(client, c.t1, ending["ref"]), 409, "publicity_not_open")
    # The refusal rolled back everything, including the end it applied on the way: a read applies it again.
    nothing_new(session, before)
    assert ok(client.get(f"/api/v1/listings/{ending['ref']}"))["state"] == "unsold"
    assert_problem(try_register(client, c.t1, "L2026-999999"), 404, "listing_not_found")


def test_double_registration_is_refused(client, session, c):
    first = register_buyer(client, c.t1, c.ref)
    before = snapshot(session)
    assert_problem(try_register(client, c.t1, c.ref), 409, "already_registered")
    nothing_new(session, before)
    # Withdrawing does not open the door to a second registration.
    ok(client.post(f"/api/v1/registrations/{first['ref']}/withdraw", json={"reason": "内部决策变化"},
                   headers=auth(c.t1)))
    assert_problem(try_register(client, c.t1, c.ref), 409, "already_registered")


def test_only_members_register(client, session, c):
    c.make("t1", "ta")
    before = snapshot(session)
    assert_problem(try_register(client, c.to, c.ref), 403, "forbidden_role")
    assert_problem(try_register(client, c.ta, c.ref), 403, "auditor_read_only")
    assert_problem(client.post(f"/api/v1/listings/{c.ref}/registrations", json={"declaration": "x"}), 401,
                   "not_authenticated")
    assert_problem(client.post(f"/api/v1/listings/{c.ref}/registrations", json={"declaration": ""},
                               headers=auth(c.t1)), 422, "validation_error")
    nothing_new(session, before)


def test_registration_records_the_deposit_and_its_deadline(client, session, c):
    reg = register_buyer(client, c.t1, c.ref)
    assert (reg["state"], reg["deposit_fen"], reg["listing_ref"]) == ("pending_deposit", 10_000_000, c.ref)
    # Due by the end of the last day of publicity (Mar 30, Shanghai midnight).
    assert reg["deposit_due_at"] == "2026-03-30T16:00:00+00:00"
    assert reg["buyer"]["ref"] == c.b1.party.ref
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == reg["ref"],
                                                     AuditEvent.action == "registration.created")).one()
    assert ev.after["listing"] == c.ref and ev.after["deposit_fen"] == 10_000_000


def test_pending_deposit_lapses_at_the_deadline(client, session, clock, c):
    reg = register_buyer(client, c.t1, c.ref)
    clock.set(shanghai(2026, 3, 30, 23, 59))
    assert ok(client.get(f"/api/v1/registrations/{reg['ref']}", headers=auth(c.t1)))["state"] == "pending_deposit"
    clock.set(shanghai(2026, 3, 31, 0, 0))
    # The buyer's own view is the first request after the deadline.
    lapsed = ok(client.get(f"/api/v1/registrations/{reg['ref']}", headers=auth(c.t1)))
    assert lapsed["state"] == "lapsed" and lapsed["decided_at"] == "2026-03-30T16:00:00+00:00"
    assert [r["state"] for r in ok(client.get("/api/v1/registrations/mine", headers=auth(c.t1)))] == ["lapsed"]
    assert_problem(client.post(f"/api/v1/registrations/{reg['ref']}/deposit-received", headers=auth(c.to)), 409,
                   "deposit_deadline_passed")
    # Nobody qualified: publicity was extended, and the lapsed buyer does not come back by registering again.
    listing = ok(client.get(f"/api/v1/listings/{c.ref}"))
    assert (listing["state"], listing["extensions_used"]) == ("published", 1)
    assert_problem(try_register(client, c.t1, c.ref), 409, "already_registered")
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == reg["ref"],
                                                     AuditEvent.action == "registration.lapsed")).one()
    assert ev.actor == "system:deadline"


def test_operator_qualifies_only_after_the_deposit(client, session, c):
    reg = register_buyer(client, c.t1, c.ref)
    url = f"/api/v1/registrations/{reg['ref']}"
    c.make("ta")
    before = snapshot(session)
    assert_problem(client.post(f"{url}/decision", json={"qualify": True}, headers=auth(c.to)), 409, "deposit_not_paid")
    assert_problem(client.post(f"{url}/decision", json={"qualify": True}, headers=auth(c.t1)), 403, "forbidden_role")
    assert_problem(client.post(f"{url}/deposit-received", headers=auth(c.t1)), 403, "forbidden_role")
    assert_problem(client.post(f"{url}/deposit-received", headers=auth(c.ta)), 403, "auditor_read_only")
    nothing_new(session, before)
    assert ok(client.get(url, headers=auth(c.t1)))["state"] == "pending_deposit"
    paid = ok(client.post(f"{url}/deposit-received", headers=auth(c.to)))
    assert paid["state"] == "deposit_paid" and paid["deposit_paid_at"]
    # Confirming the same deposit again changes nothing.
    n = count_rows(session, AuditEvent)
    assert ok(client.post(f"{url}/deposit-received", headers=auth(c.to)))["state"] == "deposit_paid"
    assert count_rows(session, AuditEvent) == n
    qualified = ok(client.post(f"{url}/decision", json={"qualify": True}, headers=auth(c.to)))
    assert qualified["state"] == "qualified" and qualified["decision_reason"] is None
    assert_problem(client.post(f"{url}/decision", json={"qualify": False, "reason": "改判"}, headers=auth(c.to)),
                   409, "invalid_transition")
    actions = [e.action for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == reg["ref"])
                                                 .order_by(AuditEvent.seq)) if e.action.startswith("registration.")]
    assert actions == ["registration.created", "registration.deposit_paid", "registration.qualified"]


def test_reject_needs_a_reason(client, session, c):
    reg = register_buyer(client, c.t1, c.ref)
    url = f"/api/v1/registrations/{reg['ref']}"
    ok(client.post(f"{url}/deposit-received", headers=auth(c.to)))
    before = snapshot(session)
    assert_problem(client.post(f"{url}/decision", json={"qualify": False}, headers=auth(c.to)), 422, "required")
    assert_problem(client.post(f"{url}/decision", json={"qualify": False, "reason": "   "}, headers=auth(c.to)),
                   422, "required")
    nothing_new(session, before)
    assert ok(client.get(url, headers=auth(c.t1)))["state"] == "deposit_paid"
    rejected = ok(client.post(f"{url}/decision", json={"qualify": False, "reason": "营业执照已过期"},
                              headers=auth(c.to)))
    assert (rejected["state"], rejected["decision_reason"]) == ("rejected", "营业执照已过期")
    assert_problem(client.post(f"{url}/decision", json={"qualify": True}, headers=auth(c.to)), 409,
                   "invalid_transition")


def test_registrations_are_seen_by_the_buyer_and_the_exchange_only(client, session, c):
    t_other = c.t_other
    reg = qualified_buyer(client, c.t1, c.to, c.ref)
    url = f"/api/v1/registrations/{reg['ref']}"
    assert_problem(client.get(url, headers=auth(t_other)), 404, "registration_not_found")
    assert_problem(client.get(url, headers=auth(c.ts)), 404, "registration_not_found")
    assert_problem(client.get(url), 401, "not_authenticated")
    assert ok(client.get(url, headers=auth(c.ta)))["buyer"]["ref"] == c.b1.party.ref
    # The seller learns how many and in what state, never who.
    seen_by_seller = ok(client.get(f"/api/v1/listings/{c.ref}/registrations", headers=auth(c.ts)))
    assert [(r["state"], r["buyer"]["ref"], r["declaration"]) for r in seen_by_seller] == [("qualified", "", "")]
    assert c.b1.party.name not in str(seen_by_seller)
    seen_by_operator = ok(client.get(f"/api/v1/listings/{c.ref}/registrations", headers=auth(c.to)))
    assert seen_by_operator[0]["buyer"]["name"] == c.b1.party.name
    assert_problem(client.get(f"/api/v1/listings/{c.ref}/registrations", headers=auth(t_other)), 403,
                   "not_the_seller")
    assert ok(client.get("/api/v1/registrations/mine", headers=auth(t_other))) == []
    # Only the buyer withdraws its registration.
    assert_problem(client.post(f"{url}/withdraw", json={"reason": "x"}, headers=auth(t_other)), 404,
                   "registration_not_found")
    assert ok(client.get(url, headers=auth(c.t1)))["state"] == "qualified"


def test_withdrawn_registration_no_longer_blocks_the_sellers_withdrawal(client, session, c):
    reg = register_buyer(client, c.t1, c.ref)
    assert_problem(client.post(f"/api/v1/listings/{c.ref}/withdraw", json={"reason": "撤牌"}, headers=auth(c.ts)),
                   422, "withdraw_after_registration")
    ok(client.post(f"/api/v1/registrations/{reg['ref']}/withdraw", json={"reason": "预算调整"}, headers=auth(c.t1)))
    assert ok(client.post(f"/api/v1/listings/{c.ref}/withdraw", json={"reason": "撤牌"},
                          headers=auth(c.ts)))["state"] == "withdrawn"
    # A rejected or lapsed registration does not block it either; a qualified one does (see lifecycle tests).
