"""Assets and rights confirmation (确权) through the API: identifiers, evidence, review, valuations.

Unhappy paths first. Every refusal must carry its code and leave nothing behind:
no asset, no document, no file on disk, no review and no audit event.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa

from exchange.models import AuditEvent, EntityType, Role
from listings.models import Asset, ConfirmationReview, EvidenceDocument, Listing, Valuation
from tests.factories import auth
from tests.helpers import (
    CHECKLIST,
    PDF_BYTES,
    PNG_BYTES,
    assert_problem,
    asset_payload,
    confirm_asset,
    confirmed_asset,
    count_rows,
    draft_listing,
    new_asset,
    ok,
    patent_no,
    published_listing,
    signed_in,
    upload,
)

HTML_BYTES = b"<!doctype html><html><script>alert(1)</script></html>"


def _files(app) -> set[Path]:  # type: ignore[no-untyped-def]
    folder = Path(app.config["UPLOAD_FOLDER"])
    return {p for p in folder.rglob("*") if p.is_file()} if folder.exists() else set()


def _refused_without_trace(session, before: tuple[int, int]) -> None:  # type: ignore[no-untyped-def]
    assert (count_rows(session, Asset), count_rows(session, AuditEvent)) == before


# -- identifiers ------------------------------------------------------------------------------
def test_bad_check_character_is_refused_and_nothing_is_created(client, session, clock):
    _, ts = signed_in(client, session, clock)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    body = assert_problem(client.post("/api/v1/assets", json=asset_payload(number="ZL 201710601862.4"),
                                      headers=auth(ts)), 422, "patent_check_character")
    assert "number" in body["errors"]
    assert_problem(client.post("/api/v1/assets", json=asset_payload(number="2017106018"), headers=auth(ts)),
                   422, "patent_number_format")
    _refused_without_trace(session, before)


def test_type_digit_must_agree_with_the_kind(client, session, clock):
    _, ts = signed_in(client, session, clock)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    # 201710601862.3 has type digit 1: an invention, not a utility model or a design.
    for kind in ("utility_model", "design_patent"):
        assert_problem(client.post("/api/v1/assets", json=asset_payload(kind=kind), headers=auth(ts)),
                       422, "patent_type_mismatch")
    _refused_without_trace(session, before)
    # A utility-model number fits a utility model, and an application right accepts any type.
    um = new_asset(client, ts, kind="utility_model", number=patent_no(1, 2020, 2), filing_date="2020-05-06")
    assert um["expiry_date"] == "2030-05-05"
    app_right = new_asset(client, ts, kind="patent_application_right", number=patent_no(2, 2024, 1),
                          filing_date="2024-01-10")
    assert app_right["expiry_date"] == "2044-01-09"


def test_expired_patent_cannot_be_registered(client, session, clock):
    _, ts = signed_in(client, session, clock)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    body = assert_problem(client.post("/api/v1/assets", json=asset_payload(number=patent_no(7, 2005, 1),
                                                                           filing_date="2005-03-01"),
                                      headers=auth(ts)), 422, "patent_expired")
    assert body["details"]["expiry"] == "2025-02-28"
    # A utility model lasts 10 years: filed 2015-06-01, in force until 2025-05-31.
    assert_problem(client.post("/api/v1/assets", json=asset_payload(kind="utility_model",
                                                                    number=patent_no(8, 2015, 2),
                                                                    filing_date="2015-06-01"),
                               headers=auth(ts)), 422, "patent_expired")
    _refused_without_trace(session, before)


def test_legacy_eight_digit_number_is_read_and_found_expired(client, session, clock):
    _, ts = signed_in(client, session, clock)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    # 97101765.4: filed 1997, type digit (3rd) '1' = invention, so 20 years: expired in 2017.
    body = assert_problem(client.post("/api/v1/assets", json=asset_payload(number="97101765.4",
                                                                           filing_date="1997-05-06"),
                                      headers=auth(ts)), 422, "patent_expired")
    assert body["details"]["expiry"] == "2017-05-05"
    assert_problem(client.post("/api/v1/assets", json=asset_payload(kind="utility_model", number="97101765.4",
                                                                    filing_date="1997-05-06"),
                               headers=auth(ts)), 422, "patent_type_mismatch")
    assert_problem(client.post("/api/v1/assets", json=asset_payload(number="97101765.4", filing_date="1998-05-06"),
                               headers=auth(ts)), 422, "patent_filing_year_mismatch")
    _refused_without_trace(session, before)


def test_number_is_stored_in_one_normal_form_and_registered_once(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, t2 = signed_in(client, session, clock)
    a = new_asset(client, ts, number="CN 2017 1 0601862.3")
    assert a["number"] == "201710601862.3" and a["expiry_date"] == "2037-07-31"
    assert a["confirmation"] == "unconfirmed"
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    assert_problem(client.post("/api/v1/assets", json=asset_payload(number="ZL2017106018623"), headers=auth(t2)),
                   409, "asset_exists")
    _refused_without_trace(session, before)


def test_future_filing_date_and_missing_fields(client, session, clock):
    _, ts = signed_in(client, session, clock)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    assert_problem(client.post("/api/v1/assets", json=asset_payload(number=patent_no(3, 2026, 1),
                                                                    filing_date="2026-12-01"),
                               headers=auth(ts)), 422, "filing_date_in_future")
    assert_problem(client.post("/api/v1/assets", json=asset_payload(filing_date=None), headers=auth(ts)),
                   422, "filing_date_required")
    assert_problem(client.post("/api/v1/assets", json=asset_payload(number=None), headers=auth(ts)),
                   422, "identifier_required")
    assert_problem(client.post("/api/v1/assets", json=asset_payload(technical_field="astrology"), headers=auth(ts)),
                   422, "validation_error")
    _refused_without_trace(session, before)


def test_software_copyright_number_format(client, session, clock):
    _, ts = signed_in(client, session, clock)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    for bad in ("2020-123456", "SR0123456", "1985SR0123456", "2020SR12"):
        assert_problem(client.post("/api/v1/assets", json=asset_payload(kind="software_copyright", number=bad,
                                                                        filing_date=None, title="调度软件V1.0"),
                                   headers=auth(ts)), 422, "software_number_format")
    _refused_without_trace(session, before)
    sw = new_asset(client, ts, kind="software_copyright", number="2020sr 0123456", filing_date=None,
                   title="调度软件V1.0", technical_field="electronic_information")
    assert sw["number"] == "2020SR0123456" and sw["expiry_date"] is None


# -- technical secrets ----------------------------------------------------------------------------
def test_technical_secret_has_no_number(client, session, clock):
    _, ts = signed_in(client, session, clock)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    assert_problem(client.post("/api/v1/assets", json=asset_payload(kind="technical_secret", filing_date=None),
                               headers=auth(ts)), 422, "identifier_not_allowed")
    _refused_without_trace(session, before)
    secret = new_asset(client, ts, kind="technical_secret", number=None, filing_date=None, title="锂电池电解液配方",
                       confidential_details="配方：溶剂甲乙比3:7，添加剂X")
    assert secret["number"] is None and secret["expiry_date"] is None
    assert secret["confidential_details"] == "配方：溶剂甲乙比3:7，添加剂X"


def test_technical_secret_details_only_for_holder_and_staff(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, t_other = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    _, ta = signed_in(client, session, clock, Role.auditor)
    details = "配方：溶剂甲乙比3:7，添加剂钒酸锶"
    secret = confirmed_asset(client, ts, to, kind="technical_secret", number=None, filing_date=None,
                             title="锂电池电解液配方", confidential_details=details)
    url = f"/api/v1/assets/{secret['ref']}"
    # Unlisted: the holder and the exchange see everything; other members and visitors see nothing at all.
    assert ok(client.get(url, headers=auth(ts)))["confidential_details"] == details
    assert ok(client.get(url, headers=auth(to)))["confidential_details"] == details
    assert ok(client.get(url, headers=auth(ta)))["confidential_details"] == details
    assert_problem(client.get(url, headers=auth(t_other)), 404, "asset_not_found")
    assert_problem(client.get(url), 404, "asset_not_found")
    assert_problem(client.get(f"{url}/pricing", headers=auth(t_other)), 404, "asset_not_found")

    ok(upload(client, ts, secret["ref"], kind="other", name="formula.pdf", public=False), 201)
    listing = published_listing(client, ts, to, secret["ref"], title="电解液配方技术秘密转让")
    assert listing["asset"]["number"] is None
    # Publicly listed: others see the asset, but neither the details nor the private documents.
    for headers in (auth(t_other), {}):
        seen = ok(client.get(url, headers=headers))
        assert seen["confidential_details"] is None
        assert [d["filename"] for d in seen["documents"]] == ["cert.pdf"]
        assert details not in str(seen)
    assert ok(client.get(url, headers=auth(ts)))["confidential_details"] == details
    # Nor does the catalogue leak them through keyword search.
    assert ok(client.get("/api/v1/listings", query_string={"q": "钒酸锶"}))["meta"]["total"] == 0
    assert ok(client.get("/api/v1/listings", query_string={"q": "电解液"}))["meta"]["total"] == 1


# -- permissions ------------------------------------------------------------------------------------
def test_another_member_cannot_act_on_someone_elses_asset(client, session, clock):
    _, ts = signed_in(client, session, clock)
    other, t_other = signed_in(client, session, clock)
    a = new_asset(client, ts)
    ref = a["ref"]
    files = _files(client.application)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent), count_rows(session, EvidenceDocument),
              count_rows(session, Listing), count_rows(session, Valuation))
    assert_problem(client.get(f"/api/v1/assets/{ref}", headers=auth(t_other)), 404, "asset_not_found")
    assert_problem(upload(client, t_other, ref), 404, "asset_not_found")
    assert_problem(client.post(f"/api/v1/assets/{ref}/review-request", headers=auth(t_other)), 404, "asset_not_found")
    assert_problem(client.put(f"/api/v1/assets/{ref}/owners", json={"party_ref": other.party.ref, "consented": False},
                              headers=auth(t_other)), 404, "asset_not_found")
    assert_problem(client.post(f"/api/v1/assets/{ref}/encumbrances",
                               json={"kind": "court_freeze", "starts_on": "2026-03-01"}, headers=auth(t_other)),
                   404, "asset_not_found")
    assert_problem(client.post(f"/api/v1/assets/{ref}/valuations",
                               json={"method": "cost", "inputs": {"replacement_cost_fen": 1}}, headers=auth(t_other)),
                   404, "asset_not_found")
    assert_problem(client.post("/api/v1/listings", json={"asset_ref": ref, "title": "抢挂", "mode": "assignment",
                                                         "price_fen": 1000, "deposit_fen": 100, "increment_fen": 10},
                               headers=auth(t_other)), 404, "asset_not_found")
    assert (count_rows(session, Asset), count_rows(session, AuditEvent), count_rows(session, EvidenceDocument),
            count_rows(session, Listing), count_rows(session, Valuation)) == before
    assert _files(client.application) == files


def test_roles_on_assets(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    _, ta = signed_in(client, session, clock, Role.auditor)
    a = new_asset(client, ts)
    before = (count_rows(session, Asset), count_rows(session, AuditEvent))
    assert_problem(client.post("/api/v1/assets", json=asset_payload(number=patent_no(11)), headers=auth(ta)),
                   403, "auditor_read_only")
    assert_problem(upload(client, ta, a["ref"]), 403, "auditor_read_only")
    assert_problem(client.post("/api/v1/assets", json=asset_payload(number=patent_no(12)), headers=auth(to)),
                   403, "forbidden_role")
    assert_problem(client.post("/api/v1/assets", json=asset_payload(number=patent_no(13))), 401, "not_authenticated")
    assert_problem(client.post(f"/api/v1/assets/{a['ref']}/review", json={"checklist": CHECKLIST, "confirm": True,
                                                                          "reasons": "自己确认"}, headers=auth(ts)),
                   403, "forbidden_role")
    assert (count_rows(session, Asset), count_rows(session, AuditEvent)) == before
    # The auditor reads.
    assert ok(client.get(f"/api/v1/assets/{a['ref']}", headers=auth(ta)))["ref"] == a["ref"]


# -- evidence -------------------------------------------------------------------------------------
def test_upload_that_is_not_a_pdf_or_image_is_refused(client, session, clock):
    _, ts = signed_in(client, session, clock)
    a = new_asset(client, ts)
    files = _files(client.application)
    before = (count_rows(session, EvidenceDocument), count_rows(session, AuditEvent))
    body = assert_problem(upload(client, ts, a["ref"], data=HTML_BYTES, name="cert.pdf"), 422, "unsupported_file_type")
    assert "file" in body["errors"]
    assert_problem(upload(client, ts, a["ref"], data=b"PK\x03\x04zip", name="cert.png"), 422, "unsupported_file_type")
    assert_problem(upload(client, ts, a["ref"], data=b"", name="cert.pdf"), 422, "empty_file")
    assert_problem(upload(client, ts, a["ref"], kind="selfie"), 422, "invalid_evidence_kind")
    assert_problem(client.post(f"/api/v1/assets/{a['ref']}/documents", headers=auth(ts),
                               data={"kind": "certificate"}, content_type="multipart/form-data"),
                   422, "file_required")
    assert (count_rows(session, EvidenceDocument), count_rows(session, AuditEvent)) == before
    assert _files(client.application) == files
    assert ok(client.get(f"/api/v1/assets/{a['ref']}", headers=auth(ts)))["documents"] == []


def test_upload_too_large_is_refused(client, session, clock, app, monkeypatch):
    _, ts = signed_in(client, session, clock)
    a = new_asset(client, ts)
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", len(PDF_BYTES) + 10)
    files = _files(app)
    before = (count_rows(session, EvidenceDocument), count_rows(session, AuditEvent))
    assert_problem(upload(client, ts, a["ref"], data=PDF_BYTES + b"%" * 11), 422, "file_too_large")
    assert (count_rows(session, EvidenceDocument), count_rows(session, AuditEvent)) == before
    assert _files(app) == files
    # Right at the limit is fine.
    doc = ok(upload(client, ts, a["ref"], data=PDF_BYTES + b"%" * 10), 201)
    assert doc["size"] == len(PDF_BYTES) + 10


def test_upload_is_fingerprinted_and_typed_by_content(client, session, clock):
    _, ts = signed_in(client, session, clock)
    a = new_asset(client, ts)
    files = _files(client.application)
    doc = ok(upload(client, ts, a["ref"], kind="register_extract", data=PNG_BYTES, name="../../extract.html"), 201)
    assert doc["content_type"] == "image/png"
    assert doc["sha256"] == hashlib.sha256(PNG_BYTES).hexdigest()
    assert doc["size"] == len(PNG_BYTES)
    assert doc["filename"] == "extract.html"  # no directory parts survive
    new_files = _files(client.application) - files
    assert len(new_files) == 1 and next(iter(new_files)).read_bytes() == PNG_BYTES
    ev = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "asset.evidence_uploaded",
                                                    AuditEvent.subject_ref == a["ref"]))
    assert ev is not None and ev.after["sha256"] == doc["sha256"]


def test_evidence_download_permissions(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, t_other = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    _, ta = signed_in(client, session, clock, Role.auditor)
    a = new_asset(client, ts)
    public_doc = ok(upload(client, ts, a["ref"], data=PDF_BYTES, name="证书.pdf", public=True), 201)
    private_doc = ok(upload(client, ts, a["ref"], kind="consent", data=PNG_BYTES, name="consent.png",
                            public=False), 201)
    pub_url = f"/api/v1/assets/{a['ref']}/documents/{public_doc['id']}"
    priv_url = f"/api/v1/assets/{a['ref']}/documents/{private_doc['id']}"

    def downloaded(url, headers, data, ctype):  # type: ignore[no-untyped-def]
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert r.headers["Content-Disposition"].startswith("attachment")
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.mimetype == ctype
        body = r.get_data()
        assert body == data
        assert r.headers["X-Content-SHA256"] == hashlib.sha256(body).hexdigest()
        r.close()

    # Before listing: holder, operator and auditor yes; other members and visitors no (404, not 403).
    for headers in (auth(ts), auth(to), auth(ta)):
        downloaded(pub_url, headers, PDF_BYTES, "application/pdf")
        downloaded(priv_url, headers, PNG_BYTES, "image/png")
    for headers in (auth(t_other), {}):
        assert_problem(client.get(pub_url, headers=headers), 404, "document_not_found")
        assert_problem(client.get(priv_url, headers=headers), 404, "document_not_found")
    stored = session.get(EvidenceDocument, public_doc["id"])
    assert stored.sha256 == hashlib.sha256(PDF_BYTES).hexdigest() == public_doc["sha256"]

    # Once publicly listed: public documents for everyone, private ones still only for the holder and staff.
    confirm_asset(client, ts, to, a["ref"])
    published_listing(client, ts, to, a["ref"])
    for headers in (auth(t_other), {}):
        downloaded(pub_url, headers, PDF_BYTES, "application/pdf")
        assert_problem(client.get(priv_url, headers=headers), 404, "document_not_found")
    downloaded(priv_url, auth(ts), PNG_BYTES, "image/png")
    # A document id of another asset does not open through this asset.
    b = new_asset(client, ts, number=patent_no(21))
    assert_problem(client.get(f"/api/v1/assets/{b['ref']}/documents/{public_doc['id']}", headers=auth(ts)),
                   404, "document_not_found")


# -- operator review ------------------------------------------------------------------------------
def test_review_without_request_is_refused(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    a = new_asset(client, ts)
    ok(upload(client, ts, a["ref"]), 201)
    before = (count_rows(session, ConfirmationReview), count_rows(session, AuditEvent))
    assert_problem(client.post(f"/api/v1/assets/{a['ref']}/review",
                               json={"checklist": CHECKLIST, "confirm": True, "reasons": "齐全"}, headers=auth(to)),
                   422, "review_not_requested")
    assert (count_rows(session, ConfirmationReview), count_rows(session, AuditEvent)) == before
    assert ok(client.get(f"/api/v1/assets/{a['ref']}", headers=auth(ts)))["confirmation"] == "unconfirmed"


def test_incomplete_checklist_cannot_confirm(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    a = new_asset(client, ts)
    ok(upload(client, ts, a["ref"]), 201)
    assert ok(client.post(f"/api/v1/assets/{a['ref']}/review-request", headers=auth(ts)))["confirmation"] == "pending"
    before = (count_rows(session, ConfirmationReview), count_rows(session, AuditEvent))
    body = assert_problem(client.post(f"/api/v1/assets/{a['ref']}/review",
                                      json={"checklist": {**CHECKLIST, "encumbrances": False}, "confirm": True,
                                            "reasons": "齐全"}, headers=auth(to)),
                          422, "confirmation_checklist_incomplete")
    assert body["details"]["unchecked"] == ["encumbrances"]
    missing = {k: v for k, v in CHECKLIST.items() if k != "evidence"}
    assert_problem(client.post(f"/api/v1/assets/{a['ref']}/review",
                               json={"checklist": missing, "confirm": True, "reasons": "齐全"}, headers=auth(to)),
                   422, "invalid_checklist")
    assert_problem(client.post(f"/api/v1/assets/{a['ref']}/review",
                               json={"checklist": CHECKLIST, "confirm": True, "reasons": "   "}, headers=auth(to)),
                   422, "required")
    assert (count_rows(session, ConfirmationReview), count_rows(session, AuditEvent)) == before
    assert ok(client.get(f"/api/v1/assets/{a['ref']}", headers=auth(ts)))["confirmation"] == "pending"


def test_confirmation_needs_evidence_and_can_be_rejected_then_reviewed_again(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    a = new_asset(client, ts)
    ok(client.post(f"/api/v1/assets/{a['ref']}/review-request", headers=auth(ts)))
    checks = ok(client.get(f"/api/v1/assets/{a['ref']}/checks", headers=auth(to)))["problems"]
    assert [p["code"] for p in checks] == ["evidence_missing"]
    assert_problem(client.post(f"/api/v1/assets/{a['ref']}/review",
                               json={"checklist": CHECKLIST, "confirm": True, "reasons": "齐全"}, headers=auth(to)),
                   422, "evidence_missing")
    # A rejection needs no ticks but does need reasons; it is recorded.
    res = ok(client.post(f"/api/v1/assets/{a['ref']}/review",
                         json={"checklist": {k: False for k in CHECKLIST}, "confirm": False,
                               "reasons": "缺少专利证书"}, headers=auth(to)), 201)
    assert res["decision"] == "rejected" and res["problems"][0]["code"] == "evidence_missing"
    assert ok(client.get(f"/api/v1/assets/{a['ref']}", headers=auth(ts)))["confirmation"] == "rejected"
    confirm_asset(client, ts, to, a["ref"])
    got = ok(client.get(f"/api/v1/assets/{a['ref']}", headers=auth(ts)))
    assert got["confirmation"] == "confirmed" and got["confirmed_at"]


def test_confirmed_asset_shows_on_its_listing(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    a = new_asset(client, ts)
    draft = draft_listing(client, ts, a["ref"])
    assert draft["asset"]["confirmation"] == "unconfirmed"
    # Publication needs the exchange's confirmation.
    ok(client.post(f"/api/v1/listings/{draft['ref']}/submit", headers=auth(ts)))
    assert_problem(client.post(f"/api/v1/listings/{draft['ref']}/publish", headers=auth(to)), 422,
                   "rights_not_confirmed")
    confirm_asset(client, ts, to, a["ref"])
    published = ok(client.post(f"/api/v1/listings/{draft['ref']}/publish", headers=auth(to)))
    assert published["asset"]["confirmation"] == "confirmed"
    assert ok(client.get(f"/api/v1/listings/{draft['ref']}"))["asset"] == {
        "ref": a["ref"], "kind": "invention_patent", "title": "一种工业机器人关节减速器", "number": "201710601862.3",
        "technical_field": "advanced_manufacturing", "confirmation": "confirmed", "expiry_date": "2037-07-31"}


def test_co_owner_consent_needs_a_document_and_blocks_confirmation_until_given(client, session, clock):
    _, ts = signed_in(client, session, clock)
    co, _ = signed_in(client, session, clock, entity_type=EntityType.university)
    _, to = signed_in(client, session, clock, Role.operator)
    a = new_asset(client, ts, co_owners=[co.party.ref])
    assert [(o["party"]["ref"], o["consented"]) for o in a["owners"]][1] == (co.party.ref, False)
    ok(upload(client, ts, a["ref"]), 201)
    ok(client.post(f"/api/v1/assets/{a['ref']}/review-request", headers=auth(ts)))
    before = (count_rows(session, ConfirmationReview), count_rows(session, AuditEvent))
    assert_problem(client.post(f"/api/v1/assets/{a['ref']}/review",
                               json={"checklist": CHECKLIST, "confirm": True, "reasons": "齐全"}, headers=auth(to)),
                   422, "co_owner_consent_missing")
    assert_problem(client.put(f"/api/v1/assets/{a['ref']}/owners", json={"party_ref": co.party.ref, "consented": True},
                              headers=auth(ts)), 422, "consent_document_required")
    assert (count_rows(session, ConfirmationReview), count_rows(session, AuditEvent)) == before
    consent = ok(upload(client, ts, a["ref"], kind="consent", name="同意书.pdf", public=False), 201)
    owners = ok(client.put(f"/api/v1/assets/{a['ref']}/owners",
                           json={"party_ref": co.party.ref, "consented": True, "consent_document_id": consent["id"]},
                           headers=auth(ts)))["owners"]
    assert owners[1]["consented"] is True and owners[1]["consent_document_id"] == consent["id"]
    ok(client.post(f"/api/v1/assets/{a['ref']}/review",
                   json={"checklist": CHECKLIST, "confirm": True, "reasons": "共有人书面同意已附"}, headers=auth(to)), 201)


# -- valuations ---------------------------------------------------------------------------------
def test_valuation_input_errors_store_nothing(client, session, clock):
    _, ts = signed_in(client, session, clock)
    a = new_asset(client, ts)
    before = (count_rows(session, Valuation), count_rows(session, AuditEvent))
    url = f"/api/v1/assets/{a['ref']}/valuations"
    income = {"yearly_revenue_fen": [100_000_000] * 3, "royalty_share": "0.05", "discount_rate": "0.1",
              "economic_life_years": 3}
    assert_problem(client.post(url, json={"method": "income", "inputs": {**income, "royalty_share": 0.05}},
                               headers=auth(ts)), 422, "invalid_rate")
    assert_problem(client.post(url, json={"method": "income", "inputs": {**income, "yearly_revenue_fen": []}},
                               headers=auth(ts)), 422, "invalid_valuation_input")
    assert_problem(client.post(url, json={"method": "cost", "inputs": {"replacement_cost_fen": -5}},
                               headers=auth(ts)), 422, "invalid_amount")
    assert_problem(client.post(url, json={"method": "guess", "inputs": {}}, headers=auth(ts)), 422, "validation_error")
    assert (count_rows(session, Valuation), count_rows(session, AuditEvent)) == before


def test_market_method_needs_three_comparables(client, session, clock):
    _, ts = signed_in(client, session, clock)
    _, to = signed_in(client, session, clock, Role.operator)
    subject = new_asset(client, ts)
    url = f"/api/v1/assets/{subject['ref']}/valuations"
    none = ok(client.post(url, json={"method": "market"}, headers=auth(ts)), 201)
    assert none["value_fen"] is None and none["result"]["sufficient"] is False
    assert "No comparable deals" in none["result"]["message"]

    # Completed deals of the same kind and field are the comparables. The deal itself is the auctions
    # package's business; here the rows are marked sold directly.
    def sold_comparable(serial: int, price: int) -> None:
        other = confirmed_asset(client, ts, to, number=patent_no(serial), title=f"同类专利{serial}")
        listing = published_listing(client, ts, to, other["ref"])
        session.execute(sa.update(Listing).where(Listing.ref == listing["ref"])
                        .values(state="sold", deal_price_fen=price, closed_at=clock.now()))
        session.commit()

    sold_comparable(31, 80_000_000)
    sold_comparable(32, 120_000_000)
    two = ok(client.post(url, json={"method": "market"}, headers=auth(ts)), 201)
    assert two["value_fen"] is None and two["result"]["sufficient"] is False
    assert "Only 2 comparable deal(s)" in two["result"]["message"]
    assert sorted(two["inputs"]["comparables_fen"]) == [80_000_000, 120_000_000]
    sold_comparable(33, 90_000_000)
    three = ok(client.post(url, json={"method": "market"}, headers=auth(ts)), 201)
    assert three["result"]["sufficient"] is True and three["value_fen"] == 90_000_000


def test_income_method_is_bounded_by_the_remaining_term(client, session, clock):
    _, ts = signed_in(client, session, clock)
    # A utility model filed 2018-06-01 is in force until 2028-05-31: from 2026-03-02 that is 2 years and
    # 91 days of the 365-day year from 2028-03-02, i.e. 2.2493 years (rounded down).
    um = new_asset(client, ts, kind="utility_model", number=patent_no(41, 2018, 2), filing_date="2018-06-01",
                   title="一种机器人夹爪")
    url = f"/api/v1/assets/{um['ref']}/valuations"
    inputs = {"yearly_revenue_fen": [1_000_000_000] * 5, "royalty_share": "0.05", "discount_rate": "0",
              "economic_life_years": 5}
    bounded = ok(client.post(url, json={"method": "income", "inputs": inputs}, headers=auth(ts)), 201)
    assert bounded["result"]["limited_by"] == "remaining_term"
    assert bounded["result"]["horizon_years"] == bounded["inputs"]["remaining_term_years"] == "2.2493"
    # Without discounting: 50,000,000 fen a year for 2.2493 years.
    assert bounded["value_fen"] == 112_465_000
    # When the economic life is the shorter, it bounds the horizon instead.
    short = ok(client.post(url, json={"method": "income", "inputs": {**inputs, "economic_life_years": 2}},
                           headers=auth(ts)), 201)
    assert short["result"]["limited_by"] == "economic_life" and short["value_fen"] == 100_000_000
    pricing = ok(client.get(f"/api/v1/assets/{um['ref']}/pricing", headers=auth(ts)))
    assert pricing["reference_low_fen"] == pricing["reference_high_fen"] == 100_000_000
    assert pricing["appraisal_required"] is False
