"""Open licences (开放许可, Patent Law art. 50-52) through the API: declare, take by notice, withdraw.

Unhappy paths first. A refused declaration or taking leaves no row and no audit event.
The patent used here, 201710601862.3 filed 2017-08-01, is in force until 2037-07-31.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from exchange.models import AuditEvent
from listings.models import OpenLicenceDeclaration, OpenLicenceTaking
from tests.factories import auth, register_payload
from tests.helpers import (
    Cast,
    CHECKLIST,
    assert_problem,
    confirm_asset,
    confirmed_asset,
    count_rows,
    draft_listing,
    new_asset,
    ok,
    patent_no,
    shanghai,
)

LUMP_SUM = {"fee_kind": "lump_sum", "lump_sum_fen": 5_000_000, "term_start": "2026-03-02", "term_end": "2029-03-01"}


@pytest.fixture()
def c(client, session, clock):  # type: ignore[no-untyped-def]
    """The cast (made on first use) and the seller's confirmed patent."""
    cast = Cast(client, session, clock)
    cast.asset = confirmed_asset(client, cast.ts, cast.to)
    cast.aref = cast.asset["ref"]
    return cast


def declare(client, token, asset_ref, **over):  # type: ignore[no-untyped-def]
    return client.post("/api/v1/open-licences", json={"asset_ref": asset_ref, **LUMP_SUM, **over},
                       headers=auth(token))


def take(client, token, ref, notice="我司依照声明条件实施该专利，并按期支付许可使用费。"):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/open-licences/{ref}/take", json={"notice": notice}, headers=auth(token))


def snapshot(session):  # type: ignore[no-untyped-def]
    return (count_rows(session, OpenLicenceDeclaration), count_rows(session, OpenLicenceTaking),
            count_rows(session, AuditEvent))


def reconfirm(client, op_token, asset_ref):  # type: ignore[no-untyped-def]
    ok(client.post(f"/api/v1/assets/{asset_ref}/review", json={"checklist": CHECKLIST, "confirm": True,
                                                               "reasons": "复核通过"}, headers=auth(op_token)), 201)


# -- declaring --------------------------------------------------------------------------------------
def test_term_must_be_at_least_one_year_and_within_the_patent_term(client, session, c):
    before = snapshot(session)
    body = assert_problem(declare(client, c.ts, c.aref, term_end="2027-02-28"), 422, "open_licence_term_too_short")
    assert "term_end" in body["errors"]
    assert_problem(declare(client, c.ts, c.aref, term_end="2037-08-01"), 422, "open_licence_beyond_patent_term")
    assert_problem(declare(client, c.ts, c.aref, term_start="2026-03-01"), 422, "invalid_dates")
    assert snapshot(session) == before
    # Exactly one year, and exactly to the patent's last day, are both fine.
    first = ok(declare(client, c.ts, c.aref, term_end="2027-03-01"), 201)
    ok(client.post(f"/api/v1/open-licences/{first['ref']}/withdraw", json={"reason": "改期"}, headers=auth(c.ts)))
    assert ok(declare(client, c.ts, c.aref, term_end="2037-07-31"), 201)["term_end"] == "2037-07-31"


def test_fee_must_match_its_kind(client, session, c):
    before = snapshot(session)
    bad = [
        dict(royalty_rate="0.03"),  # a lump sum with a rate as well
        dict(fee_kind="royalty", lump_sum_fen=None),  # a royalty without a rate
        dict(fee_kind="royalty", lump_sum_fen=None, royalty_rate="1.5"),
        dict(fee_kind="entry_fee_plus_royalty", lump_sum_fen=None, royalty_rate="0.02"),  # no entry fee
        dict(lump_sum_fen=None),
    ]
    for over in bad:
        assert_problem(declare(client, c.ts, c.aref, **over), 422, "open_licence_fee_invalid")
    assert_problem(declare(client, c.ts, c.aref, fee_kind="royalty", lump_sum_fen=None, royalty_rate="三成"),
                   422, "invalid_rate")
    assert_problem(declare(client, c.ts, c.aref, lump_sum_fen=0), 422, "invalid_amount")
    assert_problem(declare(client, c.ts, c.aref, lump_sum_fen=1.5), 422, "validation_error")
    assert snapshot(session) == before
    royalty = ok(declare(client, c.ts, c.aref, fee_kind="entry_fee_plus_royalty", lump_sum_fen=None,
                         entry_fee_fen=1_000_000, royalty_rate="0.035"), 201)
    assert (royalty["entry_fee_fen"], royalty["royalty_rate"], royalty["lump_sum_fen"]) == (1_000_000, "0.035", None)


def test_declaration_needs_a_confirmed_granted_patent_of_ones_own(client, session, clock, c):
    unconfirmed = new_asset(client, c.ts, number=patent_no(5))
    software = confirmed_asset(client, c.ts, c.to, kind="software_copyright", number="2021SR0654321",
                               filing_date=None, title="机器人调度软件")
    application = confirmed_asset(client, c.ts, c.to, kind="patent_application_right", number=patent_no(6, 2025),
                                  filing_date="2025-05-06", title="一种机器人关节（申请中）")
    c.make("t1", "ta")
    before = snapshot(session)
    assert_problem(declare(client, c.ts, unconfirmed["ref"]), 422, "rights_not_confirmed")
    assert_problem(declare(client, c.ts, software["ref"]), 422, "open_licence_patent_only")
    assert_problem(declare(client, c.ts, application["ref"]), 422, "open_licence_patent_only")
    assert_problem(declare(client, c.t1, c.aref), 404, "asset_not_found")
    assert_problem(declare(client, c.to, c.aref), 403, "forbidden_role")
    assert_problem(declare(client, c.ta, c.aref), 403, "auditor_read_only")
    assert snapshot(session) == before


def test_declare_lump_sum_open_licence(client, session, c):
    decl = ok(declare(client, c.ts, c.aref), 201)
    assert (decl["asset_ref"], decl["fee_kind"], decl["lump_sum_fen"]) == (c.aref, "lump_sum", 5_000_000)
    assert (decl["term_start"], decl["term_end"], decl["withdrawn_at"]) == ("2026-03-02", "2029-03-01", None)
    assert decl["ref"] in [d["ref"] for d in ok(client.get("/api/v1/open-licences"))]
    assert ok(client.get(f"/api/v1/open-licences/{decl['ref']}"))["asset_title"] == "一种工业机器人关节减速器"
    before = snapshot(session)
    assert_problem(declare(client, c.ts, c.aref), 409, "open_licence_exists")
    assert snapshot(session) == before
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == decl["ref"])).one()
    assert ev.action == "open_licence.declared" and ev.after["lump_sum_fen"] == 5_000_000


def test_existing_exclusive_or_sole_licence_blocks_the_declaration(client, session, c):
    sole_asset = confirmed_asset(client, c.ts, c.to, number=patent_no(7))
    for ref, kind in ((c.aref, "exclusive_licence"), (sole_asset["ref"], "sole_licence")):
        ok(client.post(f"/api/v1/assets/{ref}/encumbrances", json={"kind": kind, "starts_on": "2025-01-01",
                                                                   "holder_name": "某被许可企业"},
                       headers=auth(c.ts)), 201)
        reconfirm(client, c.to, ref)  # a new encumbrance reopens the review
    before = snapshot(session)
    assert_problem(declare(client, c.ts, c.aref), 422, "licence_conflict")
    assert_problem(declare(client, c.ts, sole_asset["ref"]), 422, "licence_conflict")
    assert snapshot(session) == before


# -- taking ---------------------------------------------------------------------------------------
def test_take_by_notice_once_and_not_by_the_patentee(client, session, c):
    decl = ok(declare(client, c.ts, c.aref), 201)
    c.make("t1", "t2")
    before = snapshot(session)
    assert_problem(take(client, c.ts, decl["ref"]), 422, "seller_cannot_register")
    assert_problem(take(client, c.to, decl["ref"]), 403, "forbidden_role")
    assert_problem(take(client, c.t1, decl["ref"], notice=" "), 422, "required")
    assert_problem(take(client, c.t1, "OL2026-999999"), 404, "open_licence_not_found")
    assert snapshot(session) == before
    taking = ok(take(client, c.t1, decl["ref"]), 201)
    assert taking["licensee_party_id"] == c.b1.party_id and taking["taken_at"] == "2026-03-02T01:00:00+00:00"
    before = snapshot(session)
    assert_problem(take(client, c.t1, decl["ref"]), 409, "already_licensed")
    assert snapshot(session) == before
    ok(take(client, c.t2, decl["ref"]), 201)  # anyone else may take it as well: no auction
    taken = [e for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == decl["ref"]))
             if e.action == "open_licence.taken"]
    assert len(taken) == 2


def test_related_party_of_the_patentee_cannot_take(client, session, c):
    def sign_up(group):  # type: ignore[no-untyped-def]
        payload = register_payload(related_group=group)
        ok(client.post("/api/v1/auth/register", json=payload), 201)
        return ok(client.post("/api/v1/auth/token", json={"email": payload["email"],
                                                          "password": payload["password"]}), 201)["token"]

    holder, related = sign_up("华虹系"), sign_up("华虹系")
    asset = confirmed_asset(client, holder, c.to, number=patent_no(8))
    decl = ok(declare(client, holder, asset["ref"]), 201)
    before = snapshot(session)
    assert_problem(take(client, related, decl["ref"]), 422, "seller_cannot_register")
    assert snapshot(session) == before


def test_taking_after_the_term_is_refused(client, session, clock, c):
    decl = ok(declare(client, c.ts, c.aref, term_end="2027-03-01"), 201)
    c.make("t1")
    clock.set(shanghai(2027, 3, 2))
    before = snapshot(session)
    assert_problem(take(client, c.t1, decl["ref"]), 422, "open_licence_expired")
    assert snapshot(session) == before


def test_court_freeze_blocks_taking_and_declaring_until_it_ends(client, session, clock, c):
    decl = ok(declare(client, c.ts, c.aref), 201)
    other = confirmed_asset(client, c.ts, c.to, number=patent_no(9))
    freeze = {"kind": "court_freeze", "starts_on": "2026-03-02", "ends_on": "2026-06-30",
              "holder_name": "上海知识产权法院"}
    ok(client.post(f"/api/v1/assets/{c.aref}/encumbrances", json=freeze, headers=auth(c.ts)), 201)
    ok(client.post(f"/api/v1/assets/{other['ref']}/encumbrances", json=freeze, headers=auth(c.ts)), 201)
    c.make("t1")
    before = snapshot(session)
    assert_problem(take(client, c.t1, decl["ref"]), 422, "court_frozen")
    assert_problem(declare(client, c.ts, other["ref"]), 422, "rights_not_confirmed")
    assert_problem(client.post(f"/api/v1/assets/{other['ref']}/review",
                               json={"checklist": CHECKLIST, "confirm": True, "reasons": "核对"}, headers=auth(c.to)),
                   422, "court_frozen")
    assert snapshot(session) == before
    # The freeze ran until Jun 30; on Jul 1 the licence can be taken again.
    clock.set(shanghai(2026, 7, 1))
    assert ok(take(client, c.t1, decl["ref"]), 201)["licensee_party_id"] == c.b1.party_id


# -- withdrawal and its effects -----------------------------------------------------------------
def test_withdrawal_keeps_licences_already_taken(client, session, c):
    decl = ok(declare(client, c.ts, c.aref), 201)
    taking = ok(take(client, c.t1, decl["ref"]), 201)
    url = f"/api/v1/open-licences/{decl['ref']}/withdraw"
    assert_problem(client.post(url, json={"reason": "x"}, headers=auth(c.t1)), 404, "asset_not_found")
    assert_problem(client.post(url, json={}, headers=auth(c.ts)), 422, "validation_error")
    withdrawn = ok(client.post(url, json={"reason": "转为独占许可"}, headers=auth(c.ts)))
    assert withdrawn["withdrawn_at"] == "2026-03-02T01:00:00+00:00"
    assert decl["ref"] not in [d["ref"] for d in ok(client.get("/api/v1/open-licences"))]
    assert_problem(client.post(url, json={"reason": "再撤一次"}, headers=auth(c.ts)), 409, "open_licence_withdrawn")
    c.make("t2")
    before = snapshot(session)
    assert_problem(take(client, c.t2, decl["ref"]), 422, "open_licence_withdrawn")
    assert snapshot(session) == before
    # The licence taken before the withdrawal is still on record.
    kept = session.scalars(sa.select(OpenLicenceTaking).join(OpenLicenceDeclaration)
                           .where(OpenLicenceDeclaration.ref == decl["ref"])).all()
    assert [(t.id, t.licensee_party_id) for t in kept] == [(taking["id"], c.b1.party_id)]


def test_while_declared_no_exclusive_or_sole_licence_may_be_listed(client, session, c):
    decl = ok(declare(client, c.ts, c.aref), 201)
    draft = draft_listing(client, c.ts, c.aref, mode="exclusive_licence", licence_term_months=60, territory="全球",
                          title="独占许可")
    ref = draft["ref"]
    n = count_rows(session, AuditEvent)
    body = assert_problem(client.post(f"/api/v1/listings/{ref}/submit", headers=auth(c.ts)), 422, "licence_conflict")
    assert "open licence" in body["detail"]
    ok(client.patch(f"/api/v1/listings/{ref}", json={"mode": "sole_licence"}, headers=auth(c.ts)))
    assert_problem(client.post(f"/api/v1/listings/{ref}/submit", headers=auth(c.ts)), 422, "licence_conflict")
    assert count_rows(session, AuditEvent) == n + 1  # only the change of mode
    # An ordinary licence does not clash with an open one.
    ok(client.patch(f"/api/v1/listings/{ref}", json={"mode": "ordinary_licence"}, headers=auth(c.ts)))
    ok(client.post(f"/api/v1/listings/{ref}/submit", headers=auth(c.ts)))
    # Once the declaration is withdrawn an exclusive licence may be listed.
    ok(client.post(f"/api/v1/listings/{ref}/withdraw", json={"reason": "改为独占"}, headers=auth(c.ts)))
    ok(client.post(f"/api/v1/open-licences/{decl['ref']}/withdraw", json={"reason": "改为独占"}, headers=auth(c.ts)))
    again = draft_listing(client, c.ts, c.aref, mode="exclusive_licence", licence_term_months=60, territory="全球",
                          title="独占许可")
    assert ok(client.post(f"/api/v1/listings/{again['ref']}/submit", headers=auth(c.ts)))["state"] == "submitted"


def test_royalty_open_licence_is_taken_the_same_way(client, session, c):
    second = new_asset(client, c.ts, number=patent_no(10))
    confirm_asset(client, c.ts, c.to, second["ref"])
    decl = ok(declare(client, c.ts, second["ref"], fee_kind="royalty", lump_sum_fen=None, royalty_rate="0.05"), 201)
    assert (decl["royalty_rate"], decl["lump_sum_fen"]) == ("0.05", None)
    assert ok(take(client, c.t1, decl["ref"]), 201)["licensee_party_id"] == c.b1.party_id
