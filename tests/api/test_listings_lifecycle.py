"""The listing lifecycle through the API: rights and price rules at submission and publication,
state transitions, publicity on the business calendar, suspension, changes, withdrawal, relisting.

Unhappy paths first. A refusal carries its code and changes nothing: the state stays, no audit event.
The 2026 calendar: Oct 1-7 off, Sat Oct 10 a working day; Apr 4-6 off (Qingming).
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from exchange.models import AuditEvent, EntityType
from listings.models import Listing
from tests.factories import auth
from tests.helpers import (
    CHECKLIST,
    Cast,
    assert_problem,
    confirm_asset,
    confirmed_asset,
    count_rows,
    draft_listing,
    listing_terms,
    new_asset,
    ok,
    patent_no,
    published_listing,
    qualified_buyer,
    register_buyer,
    shanghai,
    signed_in,
    upload,
)


@pytest.fixture()
def c(client, session, clock):  # type: ignore[no-untyped-def]
    """The cast: a seller, another member, buyers, an operator and an auditor, made on first use."""
    return Cast(client, session, clock)


def act(client, token, ref, action, **body):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/listings/{ref}/{action}", json=body or None, headers=auth(token))


def get(client, ref, token=None):  # type: ignore[no-untyped-def]
    return ok(client.get(f"/api/v1/listings/{ref}", headers=auth(token) if token else {}))


def events(session, ref, action=None) -> int:  # type: ignore[no-untyped-def]
    stmt = sa.select(sa.func.count()).select_from(AuditEvent).where(AuditEvent.subject_ref == ref)
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return session.scalar(stmt)


def add_encumbrance(client, token, asset_ref, **body):  # type: ignore[no-untyped-def]
    return ok(client.post(f"/api/v1/assets/{asset_ref}/encumbrances", json=body, headers=auth(token)), 201)


def reconfirm(client, op_token, asset_ref):  # type: ignore[no-untyped-def]
    """A new encumbrance reopens the review; the operator confirms again."""
    return ok(client.post(f"/api/v1/assets/{asset_ref}/review", json={"checklist": CHECKLIST, "confirm": True,
                                                                      "reasons": "复核通过"},
                          headers=auth(op_token)), 201)


# -- ownership and burdens, at submission and at publication ------------------------------------
def test_missing_co_owner_consent_blocks_submission(client, session, c):
    a = new_asset(client, c.ts, co_owners=[c.other.party.ref])
    draft = draft_listing(client, c.ts, a["ref"])
    n = events(session, draft["ref"])
    body = assert_problem(act(client, c.ts, draft["ref"], "submit"), 422, "co_owner_consent_missing")
    assert [p["code"] for p in body["details"]["problems"]] == ["co_owner_consent_missing"]
    assert get(client, draft["ref"], c.ts)["state"] == "draft"
    assert events(session, draft["ref"]) == n


def test_co_owner_consent_is_checked_again_at_publication(client, session, c):
    a = new_asset(client, c.ts, co_owners=[c.other.party.ref])
    consent = ok(upload(client, c.ts, a["ref"], kind="consent", name="同意书.pdf", public=False), 201)
    owner_url = f"/api/v1/assets/{a['ref']}/owners"
    ok(client.put(owner_url, json={"party_ref": c.other.party.ref, "consented": True,
                                   "consent_document_id": consent["id"]}, headers=auth(c.ts)))
    confirm_asset(client, c.ts, c.to, a["ref"])
    draft = draft_listing(client, c.ts, a["ref"])
    assert ok(act(client, c.ts, draft["ref"], "submit"))["state"] == "submitted"
    # The co-owner revokes its consent before the operator publishes.
    ok(client.put(owner_url, json={"party_ref": c.other.party.ref, "consented": False}, headers=auth(c.ts)))
    n = events(session, draft["ref"])
    assert_problem(act(client, c.to, draft["ref"], "publish"), 422, "co_owner_consent_missing")
    after = get(client, draft["ref"], c.ts)
    assert after["state"] == "submitted" and after["publicity_start"] is None
    assert events(session, draft["ref"]) == n
    ok(client.put(owner_url, json={"party_ref": c.other.party.ref, "consented": True,
                                   "consent_document_id": consent["id"]}, headers=auth(c.ts)))
    assert ok(act(client, c.to, draft["ref"], "publish"))["state"] == "published"


def test_pledge_without_consent_blocks_and_consent_lets_it_through(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    pledge = add_encumbrance(client, c.ts, a["ref"], kind="pledge", starts_on="2025-06-01", holder_name="上海银行")
    assert pledge["consent_to_transfer"] is False
    draft = draft_listing(client, c.ts, a["ref"])
    n = events(session, draft["ref"])
    assert_problem(act(client, c.ts, draft["ref"], "submit"), 422, "pledged_without_consent")
    assert get(client, draft["ref"], c.ts)["state"] == "draft" and events(session, draft["ref"]) == n
    checks = ok(client.get(f"/api/v1/assets/{a['ref']}/checks", headers=auth(c.to)))["problems"]
    assert [p["code"] for p in checks] == ["pledged_without_consent"]

    ok(client.patch(f"/api/v1/assets/{a['ref']}/encumbrances/{pledge['id']}", json={"consent_to_transfer": True},
                    headers=auth(c.ts)))
    assert ok(act(client, c.ts, draft["ref"], "submit"))["state"] == "submitted"
    # Recording the pledge reopened the review: the exchange confirms again before publication.
    assert_problem(act(client, c.to, draft["ref"], "publish"), 422, "rights_not_confirmed")
    reconfirm(client, c.to, a["ref"])
    assert ok(act(client, c.to, draft["ref"], "publish"))["state"] == "published"


def test_released_or_ended_pledge_does_not_block(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    pledge = add_encumbrance(client, c.ts, a["ref"], kind="pledge", starts_on="2025-06-01", holder_name="上海银行")
    ok(client.patch(f"/api/v1/assets/{a['ref']}/encumbrances/{pledge['id']}", json={"released_on": "2026-03-02"},
                    headers=auth(c.ts)))
    assert_problem(client.patch(f"/api/v1/assets/{a['ref']}/encumbrances/{pledge['id']}",
                                json={"consent_to_transfer": True}, headers=auth(c.ts)), 409, "encumbrance_released")
    draft = draft_listing(client, c.ts, a["ref"])
    assert ok(act(client, c.ts, draft["ref"], "submit"))["state"] == "submitted"

    b = confirmed_asset(client, c.ts, c.to, number=patent_no(2))
    add_encumbrance(client, c.ts, b["ref"], kind="pledge", starts_on="2024-01-01", ends_on="2025-12-31",
                    holder_name="浦发银行")
    draft_b = draft_listing(client, c.ts, b["ref"])
    assert ok(act(client, c.ts, draft_b["ref"], "submit"))["state"] == "submitted"


def test_existing_exclusive_licence_blocks_exclusive_sole_and_ordinary_licences(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    add_encumbrance(client, c.ts, a["ref"], kind="exclusive_licence", starts_on="2025-01-01", ends_on="2030-12-31",
                    holder_name="某独占被许可人")
    draft = draft_listing(client, c.ts, a["ref"], mode="exclusive_licence", licence_term_months=36,
                          territory="中国大陆", title="独占许可")
    n = events(session, draft["ref"])
    body = assert_problem(act(client, c.ts, draft["ref"], "submit"), 422, "licence_conflict")
    assert "exclusive licence" in body["detail"]
    for mode in ("sole_licence", "ordinary_licence"):
        ok(client.patch(f"/api/v1/listings/{draft['ref']}", json={"mode": mode}, headers=auth(c.ts)))
        assert_problem(act(client, c.ts, draft["ref"], "submit"), 422, "licence_conflict")
    assert get(client, draft["ref"], c.ts)["state"] == "draft"
    assert events(session, draft["ref"], "listing.submitted") == 0 and events(session, draft["ref"]) == n + 2
    # An open licence is declared, never listed; here the patent is blocked for it anyway (see open licences).
    assert_problem(client.patch(f"/api/v1/listings/{draft['ref']}", json={"mode": "open_licence"},
                                headers=auth(c.ts)), 422, "use_open_licence")
    # Selling the patent subject to the licence is possible.
    ok(client.patch(f"/api/v1/listings/{draft['ref']}", json={"mode": "assignment"}, headers=auth(c.ts)))
    assert ok(act(client, c.ts, draft["ref"], "submit"))["licence_term_months"] is None


def test_published_listing_cannot_be_changed_into_a_blocked_licence(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    add_encumbrance(client, c.ts, a["ref"], kind="exclusive_licence", starts_on="2025-01-01",
                    holder_name="某独占被许可人")
    reconfirm(client, c.to, a["ref"])
    listing = published_listing(client, c.ts, c.to, a["ref"])  # an assignment subject to the licence is fine
    n = events(session, listing["ref"])
    assert_problem(client.patch(f"/api/v1/listings/{listing['ref']}",
                                json={"mode": "exclusive_licence", "licence_term_months": 36, "territory": "中国大陆"},
                                headers=auth(c.ts)), 422, "licence_conflict")
    after = get(client, listing["ref"])
    assert (after["mode"], after["licence_term_months"], after["publicity_start"]) == ("assignment", None,
                                                                                      "2026-03-02")
    assert events(session, listing["ref"]) == n


def test_existing_sole_licence_blocks_exclusive_and_sole_but_not_ordinary(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    add_encumbrance(client, c.ts, a["ref"], kind="sole_licence", starts_on="2025-01-01", holder_name="某排他被许可人")
    draft = draft_listing(client, c.ts, a["ref"], mode="sole_licence", licence_term_months=24, territory="上海")
    assert_problem(act(client, c.ts, draft["ref"], "submit"), 422, "licence_conflict")
    ok(client.patch(f"/api/v1/listings/{draft['ref']}", json={"mode": "exclusive_licence"}, headers=auth(c.ts)))
    assert_problem(act(client, c.ts, draft["ref"], "submit"), 422, "licence_conflict")
    ok(client.patch(f"/api/v1/listings/{draft['ref']}", json={"mode": "ordinary_licence"}, headers=auth(c.ts)))
    assert ok(act(client, c.ts, draft["ref"], "submit"))["state"] == "submitted"


def test_court_freeze_blocks_everything(client, session, c):
    freeze = {"kind": "court_freeze", "starts_on": "2026-03-02", "holder_name": "上海市第一中级人民法院"}
    live = confirmed_asset(client, c.ts, c.to, number=patent_no(1))
    live_listing = published_listing(client, c.ts, c.to, live["ref"])
    waiting = confirmed_asset(client, c.ts, c.to, number=patent_no(2))
    submitted = draft_listing(client, c.ts, waiting["ref"])
    ok(act(client, c.ts, submitted["ref"], "submit"))
    fresh = confirmed_asset(client, c.ts, c.to, number=patent_no(3))
    draft = draft_listing(client, c.ts, fresh["ref"])
    assert_problem(client.post(f"/api/v1/assets/{fresh['ref']}/encumbrances", json={**freeze,
                                                                                  "consent_to_transfer": True},
                               headers=auth(c.ts)), 422, "invalid_encumbrance")
    for asset in (live, waiting, fresh):
        add_encumbrance(client, c.ts, asset["ref"], **freeze)
    c.make("t1")
    n = count_rows(session, AuditEvent)

    # Submission, confirmation, publication and buyer registration are all refused.
    assert_problem(act(client, c.ts, draft["ref"], "submit"), 422, "court_frozen")
    checks = ok(client.get(f"/api/v1/assets/{fresh['ref']}/checks", headers=auth(c.to)))["problems"]
    assert checks[0]["code"] == "court_frozen"
    for asset in (fresh, waiting):
        assert_problem(client.post(f"/api/v1/assets/{asset['ref']}/review",
                                   json={"checklist": CHECKLIST, "confirm": True, "reasons": "核对"},
                                   headers=auth(c.to)), 422, "court_frozen")
    assert_problem(act(client, c.to, submitted["ref"], "publish"), 422, "rights_not_confirmed")
    assert_problem(client.post(f"/api/v1/listings/{live_listing['ref']}/registrations",
                               json={"declaration": "符合条件"}, headers=auth(c.t1)), 422, "court_frozen")
    assert count_rows(session, AuditEvent) == n
    assert get(client, draft["ref"], c.ts)["state"] == "draft"
    assert get(client, submitted["ref"], c.ts)["state"] == "submitted"
    assert get(client, live_listing["ref"])["registrations_count"] == 0


# -- price rules ----------------------------------------------------------------------------------
def test_university_seller_needs_an_appraisal_and_may_not_list_below_it(client, session, clock, c):
    uni, tu = signed_in(client, session, clock, entity_type=EntityType.university)
    a = confirmed_asset(client, tu, c.to)
    assert ok(client.get(f"/api/v1/assets/{a['ref']}/pricing", headers=auth(tu)))["appraisal_required"] is True
    draft = draft_listing(client, tu, a["ref"])
    n = events(session, draft["ref"])
    assert_problem(act(client, tu, draft["ref"], "submit"), 422, "appraisal_missing")
    appraisal_url = f"/api/v1/assets/{a['ref']}/appraisals"
    appraisal = {"appraiser": "上海东洲资产评估有限公司", "report_number": "东洲评报字[2026]第0101号",
                 "value_fen": 90_000_000, "report_date": "2025-03-01"}
    assert_problem(client.post(appraisal_url, json=appraisal, headers=auth(tu)), 403, "forbidden_role")
    assert_problem(client.post(appraisal_url, json={**appraisal, "report_date": "2026-03-03"}, headers=auth(c.to)),
                   422, "invalid_dates")
    # A report is valid one year: dated 2025-03-01 it lapsed on 2026-02-28.
    ok(client.post(appraisal_url, json=appraisal, headers=auth(c.to)), 201)
    assert_problem(act(client, tu, draft["ref"], "submit"), 422, "appraisal_missing")
    ok(client.post(appraisal_url, json={**appraisal, "value_fen": 120_000_000, "report_date": "2026-02-15"},
                   headers=auth(c.to)), 201)
    assert_problem(act(client, tu, draft["ref"], "submit"), 422, "price_below_appraisal")
    assert get(client, draft["ref"], tu)["state"] == "draft"
    assert events(session, draft["ref"]) == n
    ok(client.patch(f"/api/v1/listings/{draft['ref']}", json={"price_fen": 120_000_000}, headers=auth(tu)))
    ok(act(client, tu, draft["ref"], "submit"))
    assert ok(act(client, c.to, draft["ref"], "publish"))["state"] == "published"


def test_relisting_below_90_percent_of_the_appraisal_needs_an_approval(client, session, clock, c):
    uni, tu = signed_in(client, session, clock, entity_type=EntityType.university)
    a = confirmed_asset(client, tu, c.to)
    ok(client.post(f"/api/v1/assets/{a['ref']}/appraisals",
                   json={"appraiser": "上海东洲资产评估有限公司", "report_number": "东洲评报字[2026]第0102号",
                         "value_fen": 100_000_000, "report_date": "2026-02-15"}, headers=auth(c.to)), 201)
    first = published_listing(client, tu, c.to, a["ref"], max_extensions=0)
    # Only a relisting may go below the appraisal, and only with an approval.
    clock.set(shanghai(2026, 3, 31, 0, 0))
    assert get(client, first["ref"])["state"] == "unsold"
    second = ok(client.post(f"/api/v1/listings/{first['ref']}/relist", json={"price_fen": 89_999_999},
                            headers=auth(tu)), 201)
    assert second["attempt"] == 2 and second["state"] == "draft"
    n = events(session, second["ref"])
    # One fen under 90% of 100,000,000.
    assert_problem(act(client, tu, second["ref"], "submit"), 422, "relist_below_90_needs_approval")
    assert_problem(act(client, tu, second["ref"], "approve-below-appraisal", reason="我同意"), 403, "forbidden_role")
    assert_problem(act(client, c.to, second["ref"], "approve-below-appraisal"), 422, "validation_error")
    assert_problem(act(client, c.to, second["ref"], "approve-below-appraisal", reason="  "), 422, "required")
    assert get(client, second["ref"], tu)["state"] == "draft" and events(session, second["ref"]) == n
    ok(act(client, c.to, second["ref"], "approve-below-appraisal", reason="两次流拍，国资委批复同意降价"))
    ok(act(client, tu, second["ref"], "submit"))
    assert ok(act(client, c.to, second["ref"], "publish"))["state"] == "published"
    approvals = [e for e in session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == second["ref"]))
                 if e.action == "listing.below_appraisal_approved"]
    assert len(approvals) == 1 and approvals[0].reason == "两次流拍，国资委批复同意降价"


def test_first_listing_cannot_be_approved_below_the_appraisal(client, session, clock, c):
    uni, tu = signed_in(client, session, clock, entity_type=EntityType.university)
    a = confirmed_asset(client, tu, c.to)
    draft = draft_listing(client, tu, a["ref"])
    assert_problem(act(client, c.to, draft["ref"], "approve-below-appraisal", reason="想降价"), 422,
                   "price_below_appraisal")


def test_deposit_over_30_percent_is_refused(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    before = (count_rows(session, Listing), count_rows(session, AuditEvent))
    body = assert_problem(client.post("/api/v1/listings", json=listing_terms(a["ref"], deposit_fen=30_000_001),
                                      headers=auth(c.ts)), 422, "deposit_too_high")
    assert "deposit" in body["errors"]
    assert_problem(client.post("/api/v1/listings", json=listing_terms(a["ref"], deposit_fen=0), headers=auth(c.ts)),
                   422, "invalid_amount")
    assert_problem(client.post("/api/v1/listings", json=listing_terms(a["ref"], increment_fen=100_000_001),
                               headers=auth(c.ts)), 422, "invalid_increment")
    assert (count_rows(session, Listing), count_rows(session, AuditEvent)) == before
    draft = draft_listing(client, c.ts, a["ref"], deposit_fen=30_000_000)  # exactly 30% is allowed
    assert_problem(client.patch(f"/api/v1/listings/{draft['ref']}", json={"price_fen": 99_999_999},
                                headers=auth(c.ts)), 422, "deposit_too_high")
    assert get(client, draft["ref"], c.ts)["price_fen"] == 100_000_000


# -- transitions and roles ---------------------------------------------------------------------------
def test_transitions_from_the_wrong_state_are_refused(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    draft = draft_listing(client, c.ts, a["ref"])
    ref = draft["ref"]
    n = events(session, ref)
    body = assert_problem(act(client, c.to, ref, "publish"), 409, "invalid_transition")
    assert body["details"] == {"from": "draft", "to": "published"}
    assert_problem(act(client, c.to, ref, "suspend", reason="核查"), 409, "invalid_transition")
    assert_problem(act(client, c.to, ref, "reject", reason="不全"), 409, "invalid_transition")
    assert_problem(client.post(f"/api/v1/listings/{ref}/relist", json={}, headers=auth(c.ts)), 409,
                   "invalid_transition")
    after = get(client, ref, c.ts)
    assert after["state"] == "draft" and after["published_at"] is None and events(session, ref) == n
    ok(act(client, c.ts, ref, "submit"))
    assert_problem(act(client, c.ts, ref, "submit"), 409, "invalid_transition")
    ok(act(client, c.to, ref, "publish"))
    n = events(session, ref)
    assert_problem(act(client, c.to, ref, "publish"), 409, "invalid_transition")
    assert_problem(act(client, c.to, ref, "resume", reason="恢复"), 409, "invalid_transition")
    assert_problem(act(client, c.to, ref, "reject", reason="不全"), 409, "invalid_transition")
    assert get(client, ref)["state"] == "published" and events(session, ref) == n
    ok(act(client, c.to, ref, "terminate", reason="权利人破产清算"))
    assert_problem(act(client, c.to, ref, "suspend", reason="核查"), 409, "invalid_transition")
    assert_problem(act(client, c.ts, ref, "withdraw", reason="不卖了"), 409, "invalid_transition")
    assert_problem(client.patch(f"/api/v1/listings/{ref}", json={"price_fen": 90_000_000}, headers=auth(c.ts)),
                   409, "terms_locked")


def test_roles_on_listings(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    draft = draft_listing(client, c.ts, a["ref"])
    ref = draft["ref"]
    ok(act(client, c.ts, ref, "submit"))
    n = events(session, ref)
    assert_problem(act(client, c.ts, ref, "publish"), 403, "forbidden_role")
    assert_problem(act(client, c.ta, ref, "publish"), 403, "auditor_read_only")
    assert_problem(client.patch(f"/api/v1/listings/{ref}", json={"price_fen": 1}, headers=auth(c.ta)), 403,
                   "auditor_read_only")
    assert_problem(act(client, c.ta, ref, "withdraw", reason="审计"), 403, "auditor_read_only")
    assert_problem(client.post("/api/v1/listings", json=listing_terms(a["ref"]), headers=auth(c.to)), 403,
                   "forbidden_role")
    assert_problem(client.post(f"/api/v1/listings/{ref}/publish"), 401, "not_authenticated")
    # Another member: someone else's unpublished listing does not exist for it...
    assert_problem(client.get(f"/api/v1/listings/{ref}", headers=auth(c.t_other)), 404, "listing_not_found")
    assert_problem(client.get(f"/api/v1/listings/{ref}"), 404, "listing_not_found")
    assert_problem(act(client, c.t_other, ref, "withdraw", reason="捣乱"), 404, "listing_not_found")
    assert_problem(client.patch(f"/api/v1/listings/{ref}", json={"price_fen": 1_000}, headers=auth(c.t_other)),
                   404, "listing_not_found")
    assert get(client, ref, c.ta)["state"] == "submitted"  # the auditor reads
    assert events(session, ref) == n
    ok(act(client, c.to, ref, "publish"))
    # ...and once public it may see but not change it.
    n = events(session, ref)
    assert_problem(act(client, c.t_other, ref, "withdraw", reason="捣乱"), 403, "not_the_seller")
    assert_problem(client.patch(f"/api/v1/listings/{ref}", json={"price_fen": 1_000}, headers=auth(c.t_other)),
                   403, "not_the_seller")
    assert_problem(client.get(f"/api/v1/listings/{ref}/registrations", headers=auth(c.t_other)), 403,
                   "not_the_seller")
    assert events(session, ref) == n and get(client, ref)["price_fen"] == 100_000_000


def test_reject_needs_a_reason_and_the_seller_can_resubmit(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    draft = draft_listing(client, c.ts, a["ref"])
    ref = draft["ref"]
    ok(act(client, c.ts, ref, "submit"))
    n = events(session, ref)
    assert_problem(act(client, c.to, ref, "reject"), 422, "validation_error")
    assert_problem(act(client, c.to, ref, "reject", reason=" \n "), 422, "required")
    assert get(client, ref, c.ts)["state"] == "submitted" and events(session, ref) == n
    assert ok(act(client, c.to, ref, "reject", reason="受让条件含歧视性条款"))["state"] == "rejected"
    ev = session.scalar(sa.select(AuditEvent).where(AuditEvent.subject_ref == ref,
                                                    AuditEvent.action == "listing.rejected"))
    assert ev.reason == "受让条件含歧视性条款"
    ok(client.patch(f"/api/v1/listings/{ref}", json={"qualification_conditions": "依法设立的企业"}, headers=auth(c.ts)))
    assert ok(act(client, c.ts, ref, "submit"))["state"] == "submitted"
    assert ok(act(client, c.to, ref, "publish"))["state"] == "published"


# -- publicity on the business calendar -------------------------------------------------------------
def test_publicity_end_is_counted_on_the_calendar_across_national_day(client, session, clock, c):
    clock.set(shanghai(2026, 9, 30))
    a = confirmed_asset(client, c.ts, c.to)
    listing = published_listing(client, c.ts, c.to, a["ref"])
    # Oct 1-7 off; Oct 8, 9, Sat 10 (make-up), 12-16, 19-23, 26-30, Nov 2, Nov 3 = 20 working days.
    assert (listing["publicity_start"], listing["publicity_end"]) == ("2026-09-30", "2026-11-03")
    assert listing["publicity_provisional"] is False
    clock.set(shanghai(2026, 11, 3, 23, 59))
    assert get(client, listing["ref"])["state"] == "published"


def test_no_qualified_buyer_extends_by_five_working_days(client, session, clock, c):
    clock.set(shanghai(2026, 9, 30))
    a = confirmed_asset(client, c.ts, c.to)
    listing = published_listing(client, c.ts, c.to, a["ref"])
    clock.set(shanghai(2026, 11, 4, 0, 0))
    after = get(client, listing["ref"])
    assert after["state"] == "published" and after["extensions_used"] == 1
    assert after["publicity_end"] == "2026-11-10" and after["publicity_start"] == "2026-09-30"
    assert events(session, listing["ref"], "listing.extended") == 1
    # Registration is open again during the extension.
    register_buyer(client, c.t1, listing["ref"])


def test_unsold_after_the_last_extension(client, session, clock, c):
    a = confirmed_asset(client, c.ts, c.to)
    no_ext = published_listing(client, c.ts, c.to, a["ref"], max_extensions=0)
    b = confirmed_asset(client, c.ts, c.to, number=patent_no(2))
    not_allowed = published_listing(client, c.ts, c.to, b["ref"], allows_extension=False)
    clock.set(shanghai(2026, 3, 30, 23, 59))
    assert get(client, no_ext["ref"])["state"] == "published"
    clock.set(shanghai(2026, 3, 31, 0, 0))
    for ref in (no_ext["ref"], not_allowed["ref"]):
        after = get(client, ref)
        assert after["state"] == "unsold" and after["extensions_used"] == 0
        assert events(session, ref, "listing.unsold") == 1
    # One extension, then unsold. Published Tue Mar 31 (Apr 4-6 off): the 20th working day is Apr 29;
    # five more: Apr 30, (May 1-5 off) May 6, 7, 8 and the make-up Saturday May 9.
    d = confirmed_asset(client, c.ts, c.to, number=patent_no(3))
    one = published_listing(client, c.ts, c.to, d["ref"], max_extensions=1)
    assert one["publicity_end"] == "2026-04-29"
    clock.set(shanghai(2026, 4, 30, 0, 0))
    extended = get(client, one["ref"])
    assert (extended["state"], extended["extensions_used"], extended["publicity_end"]) == ("published", 1,
                                                                                           "2026-05-09")
    clock.set(shanghai(2026, 5, 10, 0, 0))
    assert get(client, one["ref"])["state"] == "unsold"


def test_one_qualified_buyer_means_negotiation_and_only_qualified_ones_count(client, session, clock, c):
    t3 = c.t3
    a = confirmed_asset(client, c.ts, c.to)
    listing = published_listing(client, c.ts, c.to, a["ref"])
    qualified_buyer(client, c.t1, c.to, listing["ref"])
    paid = register_buyer(client, c.t2, listing["ref"])  # paid, never qualified
    ok(client.post(f"/api/v1/registrations/{paid['ref']}/deposit-received", headers=auth(c.to)))
    pending = register_buyer(client, t3, listing["ref"])  # never pays
    clock.set(shanghai(2026, 3, 31, 0, 0))
    after = get(client, listing["ref"])
    assert after["state"] == "awaiting_negotiation" and after["qualified_count"] == 1
    assert ok(client.get(f"/api/v1/registrations/{pending['ref']}", headers=auth(t3)))["state"] == "lapsed"
    assert ok(client.get(f"/api/v1/registrations/{paid['ref']}", headers=auth(c.t2)))["state"] == "deposit_paid"


def test_two_qualified_buyers_mean_an_auction(client, session, clock, c):
    a = confirmed_asset(client, c.ts, c.to)
    listing = published_listing(client, c.ts, c.to, a["ref"])
    qualified_buyer(client, c.t1, c.to, listing["ref"])
    qualified_buyer(client, c.t2, c.to, listing["ref"])
    clock.set(shanghai(2026, 3, 31, 0, 0))
    after = get(client, listing["ref"])
    # The listing goes to awaiting_auction; the auctions package's hook then opens the auction at once.
    assert after["state"] == "in_auction" and after["qualified_count"] == 2 and after["extensions_used"] == 0
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == listing["ref"],
                                                     AuditEvent.action == "listing.awaiting_auction")).one()
    assert ev.before == {"state": "published"} and ev.after == {"state": "awaiting_auction", "qualified": 2}


# -- suspension, changes, withdrawal -----------------------------------------------------------------
def test_suspension_and_resumption_follow_the_20_10_rule(client, session, clock, c):
    a = confirmed_asset(client, c.ts, c.to)
    early = published_listing(client, c.ts, c.to, a["ref"])
    b = confirmed_asset(client, c.ts, c.to, number=patent_no(2))
    late = published_listing(client, c.ts, c.to, b["ref"])
    assert early["publicity_end"] == late["publicity_end"] == "2026-03-30"

    # Suspended on Thu Mar 12: 7 working days served (Mar 3-6, 9-11).
    clock.set(shanghai(2026, 3, 12))
    assert_problem(act(client, c.to, early["ref"], "suspend"), 422, "validation_error")
    assert_problem(act(client, c.ts, early["ref"], "suspend", reason="权属争议"), 403, "forbidden_role")
    assert ok(act(client, c.to, early["ref"], "suspend", reason="权属争议"))["state"] == "suspended"
    assert_problem(client.post(f"/api/v1/listings/{early['ref']}/registrations", json={"declaration": "符合"},
                               headers=auth(c.t1)), 409, "publicity_not_open")
    # Suspended on Tue Mar 24: 15 working days served.
    clock.set(shanghai(2026, 3, 24))
    ok(act(client, c.to, late["ref"], "suspend", reason="补充披露"))
    # The original end passes while suspended: nothing happens.
    clock.set(shanghai(2026, 3, 31))
    assert get(client, early["ref"])["state"] == "suspended"
    resumed_late = ok(act(client, c.to, late["ref"], "resume", reason="披露已补充"))
    # 15 served: 5 would reach 20, but at least 10 more: Apr 1, 2, 3, 7, 8, 9, 10, 13, 14, 15.
    assert (resumed_late["state"], resumed_late["publicity_end"]) == ("published", "2026-04-15")
    clock.set(shanghai(2026, 4, 1))
    resumed_early = ok(act(client, c.to, early["ref"], "resume", reason="争议已解决"))
    # 7 served: 13 more from Apr 1: Apr 2, 3, 7-10, 13-17, 20, 21.
    assert (resumed_early["state"], resumed_early["publicity_end"]) == ("published", "2026-04-21")
    assert resumed_early["publicity_start"] == "2026-03-02"
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == early["ref"],
                                                     AuditEvent.action == "listing.suspended")).one()
    assert ev.after["days_served"] == 7 and ev.reason == "权属争议"


def test_changing_published_terms_restarts_the_count(client, session, clock, c):
    a = confirmed_asset(client, c.ts, c.to)
    listing = published_listing(client, c.ts, c.to, a["ref"])
    clock.set(shanghai(2026, 3, 10))
    n = events(session, listing["ref"])
    assert_problem(client.patch(f"/api/v1/listings/{listing['ref']}", json={"price_fen": 30_000_000},
                                headers=auth(c.ts)), 422, "deposit_too_high")
    assert_problem(client.patch(f"/api/v1/listings/{listing['ref']}", json={}, headers=auth(c.ts)), 422,
                   "empty_update")
    assert_problem(client.patch(f"/api/v1/listings/{listing['ref']}", json={"colour": "red"}, headers=auth(c.ts)),
                   422, "validation_error")
    unchanged = get(client, listing["ref"])
    assert (unchanged["price_fen"], unchanged["publicity_start"], unchanged["publicity_end"]) == \
        (100_000_000, "2026-03-02", "2026-03-30")
    assert events(session, listing["ref"]) == n
    changed = ok(client.patch(f"/api/v1/listings/{listing['ref']}", json={"price_fen": 90_000_000},
                              headers=auth(c.ts)))
    # 20 working days from Tue Mar 10: Mar 11-13, 16-20, 23-27, 30, 31, Apr 1-3, 7, 8.
    assert (changed["state"], changed["price_fen"]) == ("published", 90_000_000)
    assert (changed["publicity_start"], changed["publicity_end"]) == ("2026-03-10", "2026-04-08")
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == listing["ref"],
                                                     AuditEvent.action == "listing.terms_changed")).one()
    assert ev.before == {"price_fen": 100_000_000}
    assert ev.after["publicity_restarted"] == {"start": "2026-03-10", "end": "2026-04-08"}


def test_withdrawal_before_any_registration_but_not_after(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    draft = draft_listing(client, c.ts, a["ref"])
    assert_problem(act(client, c.ts, draft["ref"], "withdraw"), 422, "validation_error")
    assert ok(act(client, c.ts, draft["ref"], "withdraw", reason="暂不转让"))["state"] == "withdrawn"
    listing = published_listing(client, c.ts, c.to, a["ref"])  # the asset is free again
    assert ok(act(client, c.ts, listing["ref"], "withdraw", reason="已与他方达成意向"))["state"] == "withdrawn"
    assert_problem(client.get(f"/api/v1/listings/{listing['ref']}"), 404, "listing_not_found")

    b = confirmed_asset(client, c.ts, c.to, number=patent_no(2))
    taken = published_listing(client, c.ts, c.to, b["ref"])
    register_buyer(client, c.t1, taken["ref"])
    n = events(session, taken["ref"])
    body = assert_problem(act(client, c.ts, taken["ref"], "withdraw", reason="反悔"), 422,
                          "withdraw_after_registration")
    assert body["details"] == {"registrations": 1}
    assert get(client, taken["ref"])["state"] == "published" and events(session, taken["ref"]) == n


def test_an_asset_has_one_listing_in_progress(client, session, c):
    a = confirmed_asset(client, c.ts, c.to)
    draft_listing(client, c.ts, a["ref"])
    before = (count_rows(session, Listing), count_rows(session, AuditEvent))
    assert_problem(client.post("/api/v1/listings", json=listing_terms(a["ref"]), headers=auth(c.ts)), 422,
                   "asset_already_listed")
    assert (count_rows(session, Listing), count_rows(session, AuditEvent)) == before


def test_relist_of_an_unsold_listing_counts_the_attempt(client, session, clock, c):
    a = confirmed_asset(client, c.ts, c.to)
    first = published_listing(client, c.ts, c.to, a["ref"], max_extensions=0)
    clock.set(shanghai(2026, 3, 31))
    assert get(client, first["ref"])["state"] == "unsold"
    assert_problem(client.post(f"/api/v1/listings/{first['ref']}/relist", json={"price_fen": 80_000_000},
                               headers=auth(c.t_other)), 403, "not_the_seller")
    assert_problem(client.post(f"/api/v1/listings/{first['ref']}/relist", json={"price_fen": 20_000_000},
                               headers=auth(c.ts)), 422, "deposit_too_high")
    second = ok(client.post(f"/api/v1/listings/{first['ref']}/relist",
                            json={"price_fen": 80_000_000, "max_extensions": 2}, headers=auth(c.ts)), 201)
    assert (second["state"], second["attempt"], second["price_fen"]) == ("draft", 2, 80_000_000)
    assert second["ref"] != first["ref"] and second["publicity_start"] is None
    assert second["deposit_fen"] == first["deposit_fen"] and second["max_extensions"] == 2
    row = session.scalars(sa.select(Listing).where(Listing.ref == second["ref"])).one()
    assert row.previous_listing_id == session.scalar(sa.select(Listing.id).where(Listing.ref == first["ref"]))
    ev = session.scalars(sa.select(AuditEvent).where(AuditEvent.subject_ref == second["ref"],
                                                     AuditEvent.action == "listing.relisted")).one()
    assert ev.after == {"previous": first["ref"], "attempt": 2, "price_fen": 80_000_000}
    assert_problem(client.post(f"/api/v1/listings/{first['ref']}/relist", json={}, headers=auth(c.ts)), 409,
                   "already_relisted")
    ok(act(client, c.ts, second["ref"], "submit"))
    assert ok(act(client, c.to, second["ref"], "publish"))["publicity_start"] == "2026-03-31"
    assert get(client, first["ref"])["state"] == "unsold"


# -- deadlines do not wait for the scheduler -----------------------------------------------------
def test_requests_after_the_end_see_the_end_even_before_any_job_ran(client, session, clock, c):
    """Each of these requests comes first after publicity ended: the end must be applied before acting."""
    a = confirmed_asset(client, c.ts, c.to, number=patent_no(1))
    auctioned = published_listing(client, c.ts, c.to, a["ref"])
    r1 = qualified_buyer(client, c.t1, c.to, auctioned["ref"])
    qualified_buyer(client, c.t2, c.to, auctioned["ref"])
    b = confirmed_asset(client, c.ts, c.to, number=patent_no(2))
    unsold = published_listing(client, c.ts, c.to, b["ref"], max_extensions=0)
    d = confirmed_asset(client, c.ts, c.to, number=patent_no(3))
    to_relist = published_listing(client, c.ts, c.to, d["ref"], max_extensions=0)
    clock.set(shanghai(2026, 3, 31, 0, 0))

    # Changing the terms of a listing whose publicity is over would restart a finished publicity.
    assert_problem(client.patch(f"/api/v1/listings/{auctioned['ref']}", json={"price_fen": 90_000_000},
                                headers=auth(c.ts)), 409, "terms_locked")
    # A qualified buyer can no longer back out of the auction by withdrawing during publicity.
    assert_problem(client.post(f"/api/v1/registrations/{r1['ref']}/withdraw", json={"reason": "不参加了"},
                               headers=auth(c.t1)), 409, "publicity_not_open")
    # An unsold listing is not withdrawn but may be relisted right away.
    assert_problem(act(client, c.ts, unsold["ref"], "withdraw", reason="撤回"), 409, "invalid_transition")
    relisted = ok(client.post(f"/api/v1/listings/{to_relist['ref']}/relist", json={}, headers=auth(c.ts)), 201)
    assert relisted["attempt"] == 2
    after = get(client, auctioned["ref"])
    assert (after["state"], after["qualified_count"], after["price_fen"]) == ("in_auction", 2, 100_000_000)
    assert get(client, unsold["ref"])["state"] == "unsold"


# -- the audit trail ------------------------------------------------------------------------------
def test_transitions_write_audit_events(client, session, c):
    from tests.helpers import audit_events

    a = confirmed_asset(client, c.ts, c.to)
    listing = published_listing(client, c.ts, c.to, a["ref"])
    ref = listing["ref"]
    published = audit_events(client, c.to, action="listing.published", subject_ref=ref)
    assert len(published) == 1
    ev = published[0]
    assert ev["subject_type"] == "listing" and ev["actor"].startswith(c.op.ref)
    assert ev["before"] == {"state": "submitted"}
    assert ev["after"]["state"] == "published" and ev["after"]["publicity_end"] == "2026-03-30"
    trail = [e["action"] for e in audit_events(client, c.ta, subject_ref=ref)]
    assert trail == ["listing.drafted", "listing.submitted", "listing.published"]
    asset_trail = [e["action"] for e in audit_events(client, c.to, subject_ref=a["ref"])]
    assert asset_trail == ["asset.registered", "asset.evidence_uploaded", "asset.review_requested",
                           "asset.confirmed"]
    assert_problem(client.get("/api/v1/audit/events", headers=auth(c.ts)), 403, "forbidden_role")
    assert ok(client.get("/api/v1/audit/verify", headers=auth(c.ta)))["ok"] is True
