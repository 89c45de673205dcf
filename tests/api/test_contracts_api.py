"""The contracts API: who may see and do what, signing with an Idempotency-Key, text edits,
registration decisions, certificates and their public verification, auditors' downloads."""
from __future__ import annotations

import hashlib
import io
import zipfile

import sqlalchemy as sa
from openpyxl import load_workbook

from exchange.models import Role
from tests.factories import auth, make_member, make_staff, token_for
from tests.helpers import assert_problem, ok
from tests.integration.test_contracts_support import (
    contract_of,
    make_deal,
    money_status,
    pdf_text,
    sign_both,
)


def world(client, session, clock, **deal_over):  # type: ignore[no-untyped-def]
    """A struck deal, its two parties, an operator, an auditor and a stranger, all signed in."""
    deal = make_deal(session, clock, **deal_over)
    op, aud, stranger = make_staff(session, clock), make_staff(session, clock, Role.auditor), make_member(session, clock)
    session.commit()
    seller, buyer = deal.seller.users[0], deal.buyer.users[0]
    return {"deal": deal, "contract": contract_of(session, deal),
            "ts": token_for(client, seller), "tb": token_for(client, buyer), "to": token_for(client, op),
            "ta": token_for(client, aud), "tx": token_for(client, stranger)}


def sign(client, token: str, ref: str, sha: str, key: str):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/contracts/{ref}/sign", json={"text_sha256": sha},
                       headers=auth(token, **{"Idempotency-Key": f"sign-key-{key}"}))


def test_parties_staff_and_auditors_see_the_contract_others_do_not(client, session, clock):
    w = world(client, session, clock)
    ref = w["contract"].ref
    for token in (w["ts"], w["tb"], w["to"], w["ta"]):
        body = ok(client.get(f"/api/v1/contracts/{ref}", headers=auth(token)))
        assert body["text_sha256"] == hashlib.sha256(body["text"].encode("utf-8")).hexdigest()
        assert body["deal_ref"] == w["deal"].ref and body["state"] == "drafted"
    assert ok(client.get(f"/api/v1/deals/{w['deal'].ref}/contract", headers=auth(w["tb"])))["ref"] == ref
    assert_problem(client.get(f"/api/v1/contracts/{ref}", headers=auth(w["tx"])), 404, "contract_not_found")
    assert_problem(client.get(f"/api/v1/contracts/{ref}.pdf", headers=auth(w["tx"])), 404, "contract_not_found")
    assert_problem(client.get(f"/api/v1/contracts/{ref}"), 401, "not_authenticated")
    assert_problem(client.get("/api/v1/contracts/C2026-999999", headers=auth(w["to"])), 404, "contract_not_found")
    pdf = client.get(f"/api/v1/contracts/{ref}.pdf", headers=auth(w["tb"]))
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    # Lists: a member sees its party's, the stranger none, readers all.
    assert [c["ref"] for c in ok(client.get("/api/v1/contracts", headers=auth(w["ts"])))["items"]] == [ref]
    assert ok(client.get("/api/v1/contracts", headers=auth(w["tx"])))["meta"]["total"] == 0
    assert ref in [c["ref"] for c in ok(client.get("/api/v1/contracts", query_string={"state": "drafted"},
                                                   headers=auth(w["ta"])))["items"]]
    assert_problem(client.get("/api/v1/contracts", query_string={"state": "nonsense"}, headers=auth(w["ta"])),
                   422, "validation_error")


def test_signing_through_the_api(client, session, clock):
    w = world(client, session, clock)
    ref, sha = w["contract"].ref, w["contract"].text_sha256
    assert_problem(client.post(f"/api/v1/contracts/{ref}/sign", json={"text_sha256": sha}, headers=auth(w["ts"])),
                   422, "idempotency_key_required")
    assert_problem(sign(client, w["ts"], ref, "a" * 64, "s0"), 409, "contract_text_mismatch")
    assert_problem(sign(client, w["ts"], ref, "not-a-hash", "s0b"), 422, "validation_error")
    assert_problem(sign(client, w["tx"], ref, sha, "x1"), 404, "contract_not_found")
    assert_problem(sign(client, w["to"], ref, sha, "o1"), 403, "forbidden_role")
    assert_problem(sign(client, w["ta"], ref, sha, "a1"), 403, "auditor_read_only")
    first = ok(sign(client, w["ts"], ref, sha, "s1"))
    assert first["state"] == "partly_signed" and first["signatures"][0]["side"] == "seller"
    replay = sign(client, w["ts"], ref, sha, "s1")
    assert replay.status_code == 200 and replay.headers.get("Idempotent-Replayed") == "true"
    assert_problem(sign(client, w["ts"], ref, sha, "s2"), 409, "already_signed")
    done = ok(sign(client, w["tb"], ref, sha, "b1"))
    assert done["state"] == "in_force" and done["in_force_at"]
    assert ok(client.get(f"/api/v1/deals/{w['deal'].ref}", headers=auth(w["tb"])))["state"] == "in_force"
    # Locked now.
    assert_problem(client.put(f"/api/v1/contracts/{ref}/text", json={"text": "新文本", "reason": "改"},
                              headers=auth(w["to"])), 409, "contract_text_locked")


def test_operators_edit_the_text_and_items_before_signing(client, session, clock):
    w = world(client, session, clock)
    ref = w["contract"].ref
    assert_problem(client.put(f"/api/v1/contracts/{ref}/text", json={"text": "x", "reason": "y"},
                              headers=auth(w["ts"])), 403, "forbidden_role")
    assert_problem(client.put(f"/api/v1/contracts/{ref}/non-technical-items",
                              json={"items": [{"description": "设备", "amount_fen": 200_000_000}]},
                              headers=auth(w["to"])), 422, "non_technical_exceeds_deal")
    assert_problem(client.put(f"/api/v1/contracts/{ref}/non-technical-items",
                              json={"items": [{"description": "设备", "amount_fen": -1}]},
                              headers=auth(w["to"])), 422, "validation_error")
    body = ok(client.put(f"/api/v1/contracts/{ref}/non-technical-items",
                         json={"items": [{"description": "配套设备", "amount_fen": 10_000_000}]}, headers=auth(w["to"])))
    assert body["technology_amount_fen"] == 90_000_000 and "配套设备" in body["text"]
    edited = ok(client.put(f"/api/v1/contracts/{ref}/text", json={"text": body["text"] + "\n附件一：技术资料清单",
                                                                   "reason": "补充附件"}, headers=auth(w["to"])))
    assert edited["text_edited"] is True and edited["text_sha256"] != body["text_sha256"]
    assert_problem(sign(client, w["ts"], ref, body["text_sha256"], "old"), 409, "contract_text_mismatch")
    back = ok(client.post(f"/api/v1/contracts/{ref}/text/regenerate", headers=auth(w["to"])))
    assert back["text_sha256"] == body["text_sha256"] and back["text_edited"] is False


def test_registration_through_the_api(client, session, clock):
    w = world(client, session, clock)
    ref = w["contract"].ref
    # Submitted before the contract is in force: the operator sees why it cannot be registered.
    reg = ok(client.post(f"/api/v1/contracts/{ref}/registration", json={}, headers=auth(w["ts"])), 201)
    assert reg["state"] == "submitted" and reg["deadline"]["working_days_left"] == 15
    assert_problem(client.post(f"/api/v1/contracts/{ref}/registration", json={}, headers=auth(w["ts"])),
                   409, "tech_registration_exists")
    assert_problem(client.post(f"/api/v1/contracts/{ref}/registration", json={}, headers=auth(w["tb"])),
                   403, "not_the_seller")
    assert_problem(client.post(f"/api/v1/contracts/{ref}/registration", json={"bogus": 1}, headers=auth(w["ts"])),
                   422, "validation_error")
    problems = ok(client.get(f"/api/v1/tech-registrations/{reg['ref']}/problems", headers=auth(w["ta"])))
    assert [p["reason"] for p in problems["problems"]] == ["not_in_force"]
    assert_problem(client.post(f"/api/v1/tech-registrations/{reg['ref']}/register", json={}, headers=auth(w["to"])),
                   422, "registration_has_problems")
    assert_problem(client.post(f"/api/v1/tech-registrations/{reg['ref']}/refuse",
                               json={"reasons": ["unclear_price"]}, headers=auth(w["to"])),
                   422, "refusal_reason_unsupported")
    refused = ok(client.post(f"/api/v1/tech-registrations/{reg['ref']}/refuse",
                             json={"reasons": ["not_in_force"], "note": "合同尚未生效"}, headers=auth(w["to"])))
    assert refused["state"] == "refused" and refused["refusal_reasons"][0]["reason"] == "not_in_force"
    # Signed, submitted again, registered, proof downloaded.
    session.expire_all()
    sign_both(session, clock, w["deal"])
    session.commit()
    again = ok(client.post(f"/api/v1/contracts/{ref}/registration", json={"licence_term_years": "5"},
                           headers=auth(w["ts"])), 201)
    ok(client.patch(f"/api/v1/tech-registrations/{again['ref']}/review", json={"disputed": True},
                    headers=auth(w["to"])))
    assert ok(client.get(f"/api/v1/tech-registrations/{again['ref']}", headers=auth(w["tb"])))["disputed"] is True
    done = ok(client.post(f"/api/v1/tech-registrations/{again['ref']}/register", json={"note": "准予登记"},
                          headers=auth(w["to"])))
    assert done["registration_number"].startswith("JS2026") and done["tax_relief"]["vat_exempt"] is True
    listed = ok(client.get("/api/v1/tech-registrations", query_string={"state": "registered"},
                           headers=auth(w["ta"])))
    assert again["ref"] in [r["ref"] for r in listed["items"]]
    by_number = ok(client.get("/api/v1/tech-registrations",
                              query_string={"registration_number": done["registration_number"].lower()},
                              headers=auth(w["ta"])))
    assert [r["ref"] for r in by_number["items"]] == [again["ref"]]
    assert_problem(client.get(f"/api/v1/tech-registrations/{again['ref']}", headers=auth(w["tx"])),
                   404, "tech_registration_not_found")
    proof = client.get(f"/api/v1/tech-registrations/{again['ref']}.pdf", headers=auth(w["ts"]))
    assert proof.status_code == 200 and done["registration_number"] in pdf_text(proof.data)
    changed = ok(client.post(f"/api/v1/tech-registrations/{again['ref']}/changes",
                             json={"changes": {"technical_field": "new_materials"}, "reason": "领域更正"},
                             headers=auth(w["to"])))
    assert changed["state"] == "changed" and changed["changes"][0]["changes"]["technical_field"]["to"] == \
        "new_materials"
    assert_problem(client.post(f"/api/v1/tech-registrations/{again['ref']}/changes",
                               json={"changes": {"registration_number": "x"}, "reason": "r"},
                               headers=auth(w["to"])), 422, "unknown_field")


def test_certificates_through_the_api(client, session, clock, monkeypatch):
    w = world(client, session, clock)
    deal_ref = w["deal"].ref
    assert_problem(client.post(f"/api/v1/deals/{deal_ref}/certificate", headers=auth(w["to"])),
                   422, "certificate_not_issuable")
    sign_both(session, clock, w["deal"])
    session.commit()
    money_status(monkeypatch)
    assert ok(client.get(f"/api/v1/deals/{deal_ref}/certificate/readiness", headers=auth(w["ta"])))["issuable"]
    assert_problem(client.post(f"/api/v1/deals/{deal_ref}/certificate", headers=auth(w["ts"])), 403, "forbidden_role")
    cert = ok(client.post(f"/api/v1/deals/{deal_ref}/certificate", headers=auth(w["to"])), 201)
    assert_problem(client.post(f"/api/v1/deals/{deal_ref}/certificate", headers=auth(w["to"])),
                   409, "certificate_exists")
    pdf1 = client.get(f"/api/v1/certificates/{cert['ref']}.pdf", headers=auth(w["tb"]))
    pdf2 = client.get(f"/api/v1/certificates/{cert['ref']}.pdf", headers=auth(w["ta"]))
    assert pdf1.mimetype == "application/pdf" and pdf1.data == pdf2.data
    assert f"http://127.0.0.1:5000/verify/{cert['short_code']}" in pdf_text(pdf1.data)
    assert_problem(client.get(f"/api/v1/certificates/{cert['ref']}.pdf", headers=auth(w["tx"])),
                   404, "certificate_not_found")
    # Anyone with the code: valid, the fingerprint, nothing private.
    public = ok(client.get(f"/api/v1/certificates/verify/{cert['short_code']}"))
    assert public["valid"] is True and public["fingerprint"] == cert["fingerprint"]
    assert w["deal"].buyer.name not in str(public) and "price" not in str(public)
    page = client.get(f"/verify/{cert['short_code']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-state="valid"' in html and cert["fingerprint"] in html
    assert w["deal"].buyer.name not in html
    assert_problem(client.post(f"/api/v1/certificates/{cert['ref']}/revoke", json={"reason": ""},
                               headers=auth(w["to"])), 422, "validation_error")
    revoked = ok(client.post(f"/api/v1/certificates/{cert['ref']}/revoke", json={"reason": "交易标的权属存在争议"},
                             headers=auth(w["to"])))
    assert revoked["state"] == "revoked"
    assert ok(client.get(f"/api/v1/certificates/verify/{cert['short_code']}"))["state"] == "revoked"
    html = client.get(f"/verify/{cert['short_code']}").get_data(as_text=True)
    assert 'data-state="revoked"' in html and "已撤销" in html and "交易标的权属存在争议" not in html
    assert "已撤销" in pdf_text(client.get(f"/api/v1/certificates/{cert['ref']}.pdf", headers=auth(w["ts"])).data)
    assert ok(client.get("/api/v1/certificates", query_string={"state": "revoked"},
                         headers=auth(w["ts"])))["items"][0]["ref"] == cert["ref"]
    # Codes that are not certificates: a clear answer, never a 500.
    assert_problem(client.get("/api/v1/certificates/verify/NOT-A-CODE"), 422, "invalid_short_code")
    assert client.get("/verify/NOT-A-CODE").status_code == 422
    wrong = client.get("/verify/0000000000")
    assert wrong.status_code in (404, 422) and 'data-state="unknown"' in wrong.get_data(as_text=True)


def test_auditor_downloads_and_record_verification(client, session, clock, monkeypatch):
    w = world(client, session, clock, price_fen=123_456_700)
    sign_both(session, clock, w["deal"])
    session.commit()
    csv = client.get("/api/v1/exports/contracts.csv", headers=auth(w["ta"]))
    assert csv.status_code == 200 and csv.mimetype == "text/csv" and csv.data.startswith(b"\xef\xbb\xbf")
    text = csv.data.decode("utf-8-sig")
    assert w["contract"].ref in text and "1234567.00" in text and w["deal"].seller.name in text
    assert "in_force" in text
    xlsx = client.get("/api/v1/exports/contracts.xlsx", query_string={"state": "in_force"}, headers=auth(w["ta"]))
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    header = rows[0]
    row = next(r for r in rows[1:] if r[0] == w["contract"].ref)
    assert row[header.index("买方 Buyer")] == w["deal"].buyer.name
    assert float(row[header.index("成交价 Price (yuan)")]) == 1234567.0
    # The same records give the same bytes, whenever downloaded: an auditor can compare hashes.
    import datetime as dt
    import time as time_mod

    import openpyxl.writer.excel as xl_writer

    later = dt.datetime(2031, 5, 6, 7, 8, 9)
    with monkeypatch.context() as m:
        m.setattr(time_mod, "localtime", lambda *a: later.timetuple())  # what zipfile stamps entries with
        m.setattr(xl_writer.datetime, "datetime", type("Later", (dt.datetime,), {
            "now": classmethod(lambda cls, tz=None: later.replace(tzinfo=tz))}))  # openpyxl's "modified"
        again = client.get("/api/v1/exports/contracts.xlsx", query_string={"state": "in_force"},
                           headers=auth(w["ta"]))
    assert again.data == xlsx.data
    core = zipfile.ZipFile(io.BytesIO(again.data)).read("docProps/core.xml")
    assert b"2031" not in core and core.count(b">2000-01-01T00:00:00Z<") == 2  # created and modified
    for path in ("/api/v1/exports/contracts.csv", "/api/v1/exports/bundle.zip?from=2026-03-01&to=2026-03-31",
                 "/api/v1/records/verify"):
        assert_problem(client.get(path, headers=auth(w["ts"])), 403, "forbidden_role")
    assert_problem(client.get("/api/v1/exports/bundle.zip", headers=auth(w["ta"])), 422, "validation_error")
    assert_problem(client.get("/api/v1/exports/bundle.zip?from=2025-01-01&to=2026-03-31", headers=auth(w["ta"])),
                   422, "export_range_too_long")
    assert ok(client.get("/api/v1/records/verify", headers=auth(w["ta"])))["ok"] is True
    session.execute(sa.text("UPDATE contracts SET title = 'forged' WHERE ref = :r"), {"r": w["contract"].ref})
    session.commit()
    report = ok(client.get("/api/v1/records/verify", headers=auth(w["ta"])))
    assert report["ok"] is False and report["mismatches"] == [
        {"kind": "contract", "ref": w["contract"].ref, "problem": "the stored record does not match its record hash"}]


def test_bad_input_gets_a_code_and_changes_nothing(client, session, clock):
    w = world(client, session, clock)
    sign_both(session, clock, w["deal"])
    session.commit()
    ref = w["contract"].ref
    reg = ok(client.post(f"/api/v1/contracts/{ref}/registration", json={}, headers=auth(w["ts"])), 201)
    reg = ok(client.post(f"/api/v1/tech-registrations/{reg['ref']}/register", json={}, headers=auth(w["to"])))
    path = f"/api/v1/tech-registrations/{reg['ref']}/changes"
    for changes, code in (({"export_controlled": "yes"}, "invalid_type"), ({"contract_type": "bogus"}, "invalid_input"),
                          ({"term_start": "2026-13-01"}, "invalid_input"), ({"term_end": 20260101}, "invalid_type"),
                          ({"deal_amount_fen": 10**18}, "invalid_amount"), ({"tech_amount_fen": -1}, "invalid_amount"),
                          ({"asset_refs": "ZL1"}, "invalid_type"), ({"subtype": "licence_sole"}, "invalid_contract_subtype"),
                          ({"licence_term_years": "abc"}, "invalid_licence_term"), ({}, "no_change"),
                          ({"tech_amount_fen": reg["deal_amount_fen"] + 1}, "non_technical_exceeds_deal")):
        r = client.post(path, json={"changes": changes, "reason": "测试"}, headers=auth(w["to"]))
        assert r.status_code == 422 and r.get_json()["code"] == code, (changes, r.get_json())
    after = ok(client.get(f"/api/v1/tech-registrations/{reg['ref']}", headers=auth(w["to"])))
    assert after["state"] == "registered" and after["changes"] == [] and after["record_hash"] == reg["record_hash"]
    assert_problem(client.put(f"/api/v1/contracts/{ref}/text", json={"text": "a\u202eb", "reason": "x"},
                              headers=auth(w["to"])), 409, "contract_text_locked")
    assert_problem(client.patch(f"/api/v1/tech-registrations/{reg['ref']}/review", json={"disputed": "maybe"},
                                headers=auth(w["to"])), 422, "validation_error")
    assert_problem(client.get("/api/v1/tech-registrations", query_string={"registration_number": "JS-nonsense"},
                              headers=auth(w["ta"])), 422, "registration_number_format")
    assert_problem(client.get("/api/v1/contracts", query_string={"drafted_from": "2026-03-05",
                                                                 "drafted_to": "2026-03-01"}, headers=auth(w["ta"])),
                   422, "invalid_range")
    assert ok(client.get("/api/v1/records/verify", headers=auth(w["ta"])))["ok"] is True
