"""Shared helpers for API tests: a minimal, valid PDF and walks through the listing flow."""
from __future__ import annotations

from typing import Any

from tests.factories import auth

PROBLEM = "application/problem+json"
# The smallest file our content sniffing accepts as a PDF.
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def assert_problem(resp, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_data(as_text=True)
    assert resp.mimetype == PROBLEM
    body = resp.get_json()
    assert body["code"] == code, body
    return body


def ok(resp, status: int = 200) -> Any:  # type: ignore[no-untyped-def]
    assert resp.status_code == status, resp.get_data(as_text=True)
    return resp.get_json()


def upload(client, token: str, asset_ref: str, kind: str = "certificate", data: bytes = PDF_BYTES,  # type: ignore[no-untyped-def]
           name: str = "cert.pdf", public: bool = True):
    import io

    return client.post(f"/api/v1/assets/{asset_ref}/documents", headers=auth(token),
                       data={"kind": kind, "public": "true" if public else "false",
                             "file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


CHECKLIST = {"ownership": True, "legal_status": True, "consents": True, "encumbrances": True, "evidence": True}


def confirmed_asset(client, seller_token: str, op_token: str, **over: Any) -> dict:  # type: ignore[no-untyped-def]
    payload = {"kind": "invention_patent", "title": "一种工业机器人关节减速器", "technical_field": "advanced_manufacturing",
               "number": "ZL 201710601862.3", "filing_date": "2017-08-01", "summary": "高精度谐波减速器"}
    payload.update(over)
    asset = ok(client.post("/api/v1/assets", json=payload, headers=auth(seller_token)), 201)
    ok(upload(client, seller_token, asset["ref"]), 201)
    ok(client.post(f"/api/v1/assets/{asset['ref']}/review-request", headers=auth(seller_token)))
    ok(client.post(f"/api/v1/assets/{asset['ref']}/review", json={"checklist": CHECKLIST, "confirm": True,
                                                                  "reasons": "证书与登记簿一致"},
                   headers=auth(op_token)), 201)
    return asset


def published_listing(client, seller_token: str, op_token: str, asset_ref: str, **over: Any) -> dict:  # type: ignore[no-untyped-def]
    terms = {"asset_ref": asset_ref, "title": "工业机器人关节减速器专利转让", "mode": "assignment",
             "price_fen": 100_000_000, "deposit_fen": 10_000_000, "increment_fen": 1_000_000,
             "qualification_conditions": "中国境内依法设立的企业法人"}
    terms.update(over)
    listing = ok(client.post("/api/v1/listings", json=terms, headers=auth(seller_token)), 201)
    ok(client.post(f"/api/v1/listings/{listing['ref']}/submit", headers=auth(seller_token)))
    return ok(client.post(f"/api/v1/listings/{listing['ref']}/publish", headers=auth(op_token)))


def qualified_buyer(client, buyer_token: str, op_token: str, listing_ref: str) -> dict:  # type: ignore[no-untyped-def]
    reg = ok(client.post(f"/api/v1/listings/{listing_ref}/registrations",
                         json={"declaration": "本公司符合全部受让条件"}, headers=auth(buyer_token)), 201)
    ok(client.post(f"/api/v1/registrations/{reg['ref']}/deposit-received", headers=auth(op_token)))
    return ok(client.post(f"/api/v1/registrations/{reg['ref']}/decision", json={"qualify": True, "reason": ""},
                          headers=auth(op_token)))
