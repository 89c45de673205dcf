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


# -- more helpers for the listings API tests (appended) --------------------------------------
def patent_no(serial: int, year: int = 2017, type_digit: int = 1) -> str:
    """A valid 12-digit application number (check character computed), so one test can hold many assets."""
    from listings.domain import patent_check_character

    body = f"{year}{type_digit}{serial:07d}"
    return f"{body}.{patent_check_character(body)}"


def shanghai(y: int, m: int, d: int, hour: int = 10, minute: int = 0):  # type: ignore[no-untyped-def]
    """An instant given as Shanghai wall-clock time, as the aware UTC datetime the clock wants."""
    from datetime import datetime

    from exchange.clock import BUSINESS_TZ

    return datetime(y, m, d, hour, minute, tzinfo=BUSINESS_TZ)


def asset_payload(**over: Any) -> dict:
    payload = {"kind": "invention_patent", "title": "一种工业机器人关节减速器", "technical_field": "advanced_manufacturing",
               "number": "ZL 201710601862.3", "filing_date": "2017-08-01", "summary": "高精度谐波减速器"}
    payload.update(over)
    return payload


def new_asset(client, token: str, **over: Any) -> dict:  # type: ignore[no-untyped-def]
    """Register an asset (no evidence, no review)."""
    return ok(client.post("/api/v1/assets", json=asset_payload(**over), headers=auth(token)), 201)


def confirm_asset(client, seller_token: str, op_token: str, asset_ref: str) -> dict:  # type: ignore[no-untyped-def]
    """Upload a certificate, ask for review (if not already pending) and have the operator confirm."""
    ok(upload(client, seller_token, asset_ref), 201)
    ok(client.post(f"/api/v1/assets/{asset_ref}/review-request", headers=auth(seller_token)))
    return ok(client.post(f"/api/v1/assets/{asset_ref}/review", json={"checklist": CHECKLIST, "confirm": True,
                                                                     "reasons": "证书与登记簿一致"},
                          headers=auth(op_token)), 201)


def listing_terms(asset_ref: str, **over: Any) -> dict:
    terms = {"asset_ref": asset_ref, "title": "工业机器人关节减速器专利转让", "mode": "assignment",
             "price_fen": 100_000_000, "deposit_fen": 10_000_000, "increment_fen": 1_000_000,
             "qualification_conditions": "中国境内依法设立的企业法人"}
    terms.update(over)
    return terms


def draft_listing(client, token: str, asset_ref: str, **over: Any) -> dict:  # type: ignore[no-untyped-def]
    return ok(client.post("/api/v1/listings", json=listing_terms(asset_ref, **over), headers=auth(token)), 201)


def register_buyer(client, buyer_token: str, listing_ref: str) -> dict:  # type: ignore[no-untyped-def]
    return ok(client.post(f"/api/v1/listings/{listing_ref}/registrations",
                          json={"declaration": "本公司符合全部受让条件"}, headers=auth(buyer_token)), 201)


def audit_events(client, token: str, **params: Any) -> list[dict]:  # type: ignore[no-untyped-def]
    """Audit events (as a reader) filtered by action and/or subject_ref."""
    return ok(client.get("/api/v1/audit/events", query_string={"limit": 1000, **params},
                         headers=auth(token)))["items"]


def count_rows(session, model) -> int:  # type: ignore[no-untyped-def]
    """How many rows a table holds as seen from the test's connection (requests included)."""
    import sqlalchemy as sa

    return session.scalar(sa.select(sa.func.count()).select_from(model))


def signed_in(client, session, clock, role=None, **over: Any):  # type: ignore[no-untyped-def]
    """A committed member (or staff user with ``role``) and a bearer token for it."""
    from tests.factories import make_member, make_staff, token_for

    user = make_member(session, clock, **over) if role is None else make_staff(session, clock, role)
    session.commit()
    return user, token_for(client, user)


def listing_in_auction(client, session, clock, **listing_over: Any) -> dict:  # type: ignore[no-untyped-def]
    """Seller, operator and two qualified buyers; publicity has ended and the auction is scheduled.

    Returns tokens, parties and refs. The clock is left just after publicity ended.
    """
    from datetime import datetime, timezone

    from exchange.models import Role
    from tests.factories import make_member, make_staff, token_for

    clock.set(datetime(2026, 9, 21, 2, 0, tzinfo=timezone.utc))
    seller, b1, b2 = make_member(session, clock), make_member(session, clock), make_member(session, clock)
    op = make_staff(session, clock, Role.operator)
    session.commit()
    ts, t1, t2, to = (token_for(client, u) for u in (seller, b1, b2, op))
    asset = confirmed_asset(client, ts, to)
    listing = published_listing(client, ts, to, asset["ref"], **listing_over)
    r1 = qualified_buyer(client, t1, to, listing["ref"])
    r2 = qualified_buyer(client, t2, to, listing["ref"])
    clock.set(datetime(2026, 10, 26, 16, 0, 1, tzinfo=timezone.utc))  # just after the last publicity day
    after = ok(client.get(f"/api/v1/listings/{listing['ref']}"))
    assert after["state"] == "in_auction", after
    auctions = ok(client.get("/api/v1/auctions"))
    auction = next(a for a in auctions if a["listing_ref"] == listing["ref"])
    return {"seller": seller, "b1": b1, "b2": b2, "op": op, "ts": ts, "t1": t1, "t2": t2, "to": to,
            "asset": asset, "listing": listing, "r1": r1, "r2": r2, "auction": auction}


class Cast:
    """The people of a test, each made and signed in on first use, so a test pays only for whom it needs.

    ``seller``, ``other``, ``b1``..``b3`` are members, ``op`` an operator, ``aud`` an auditor;
    ``ts``, ``t_other``, ``t1``..``t3``, ``to``, ``ta`` are their bearer tokens.
    """

    _ROLES: dict[str, str | None] = {"seller": None, "other": None, "b1": None, "b2": None, "b3": None,
                                     "op": "operator", "aud": "auditor"}
    _TOKENS = {"ts": "seller", "t_other": "other", "t1": "b1", "t2": "b2", "t3": "b3", "to": "op", "ta": "aud"}

    def __init__(self, client, session, clock) -> None:  # type: ignore[no-untyped-def]
        self._client, self._session, self._clock = client, session, clock
        self._made: dict[str, tuple[Any, str]] = {}

    def _person(self, name: str) -> tuple[Any, str]:
        if name not in self._made:
            from exchange.models import Role

            role = self._ROLES[name]
            self._made[name] = signed_in(self._client, self._session, self._clock, Role(role) if role else None)
        return self._made[name]

    def make(self, *names: str) -> None:
        """Make these people now, e.g. before counting rows (making one writes audit events)."""
        for name in names:
            self._person(self._TOKENS.get(name, name))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self._TOKENS:
            return self._person(self._TOKENS[name])[1]
        if name in self._ROLES:
            return self._person(name)[0]
        raise AttributeError(name)


def cast_with_published_listing(client, session, clock) -> Cast:  # type: ignore[no-untyped-def]
    """The cast (made on first use) and a published listing of the seller's confirmed patent."""
    cast = Cast(client, session, clock)
    cast.asset = confirmed_asset(client, cast.ts, cast.to)
    cast.listing = published_listing(client, cast.ts, cast.to, cast.asset["ref"])
    cast.ref = cast.listing["ref"]
    return cast
