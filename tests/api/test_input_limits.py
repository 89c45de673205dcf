"""Bad input at the doors of the API: oversized bodies and uploads, malformed JSON, wrong types,
huge, negative and zero amounts, control and direction characters in names and titles.

Each is refused with a problem document and a code that says what was wrong, and leaves nothing
behind; the same cases are tried on several endpoints (sign-up, asset, listing, bid, and the
bank notification of the settlement package).
"""
from __future__ import annotations

import io
import itertools
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.models import User
from tests.factories import auth, register_payload
from tests.helpers import (
    PDF_BYTES,
    asset_payload,
    assert_problem,
    confirm_asset,
    count_rows,
    listing_in_auction,
    listing_terms,
    new_asset,
    ok,
    patent_no,
)

PROBLEM = "application/problem+json"
HUGE = 10**30  # fen: more than any database integer holds
INT64_MAX = 2**63 - 1
CONTROL_AND_BIDI = ["Eve\u202egnp.exe", "line\nbreak", "tab\there", "nul\x00byte", "bell\x07", "esc\x1b[31m",
                    "zero\u200bwidth", "\u2066isolate\u2069", "para\u2029sep", "lrm\u200emark"]


@pytest.fixture()
def world(client, session, clock):  # type: ignore[no-untyped-def]
    """An auction open for bidding, its seller, buyers and operator, and one more draft asset."""
    w = listing_in_auction(client, session, clock)
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(minutes=1))
    w["draft_asset"] = new_asset(client, w["ts"], number=patent_no(7_300_001), title="另一项专利")
    confirm_asset(client, w["ts"], w["to"], w["draft_asset"]["ref"])
    return w


def _bid(client, token, ref, body, key="input-limits-1", **kw):  # type: ignore[no-untyped-def]
    return client.post(f"/api/v1/auctions/{ref}/bids", headers=auth(token, **{"Idempotency-Key": key}), json=body,
                       **kw)


def _notification(**over):  # type: ignore[no-untyped-def]
    body = {"bank_reference": "BK-LIMITS-1", "amount_fen": 10_000_000, "payer_name": "上海测试科技有限公司",
            "purpose": "other"}
    body.update(over)
    return body


def _endpoints(w):  # type: ignore[no-untyped-def]
    """(name, path, token, a valid body, the names of its amount and text fields)."""
    eps = [
        ("register", "/api/v1/auth/register", None, register_payload(), None, "display_name"),
        ("asset", "/api/v1/assets", w["ts"], asset_payload(number=patent_no(7_300_002)), None, "title"),
        ("listing", "/api/v1/listings", w["ts"], listing_terms(w["draft_asset"]["ref"]), "price_fen", "title"),
        ("bid", f"/api/v1/auctions/{w['auction']['ref']}/bids", w["t1"], {"amount_fen": 100_000_000}, "amount_fen",
         None),
    ]
    eps.append(("bank notification", "/api/v1/settlement/bank-notifications", w["to"], _notification(),
                "amount_fen", "payer_name"))
    return eps


def _post(client, path, token, **kw):  # type: ignore[no-untyped-def]
    headers = auth(token, **{"Idempotency-Key": "input-limits-key"}) if token else {}
    return client.post(path, headers=headers, **kw)


def _nothing_written(session, before):  # type: ignore[no-untyped-def]
    from auctions.models import Bid
    from listings.models import Asset, Listing

    session.expire_all()
    return {m.__name__: count_rows(session, m) for m in (User, Asset, Listing, Bid)} == before


def _counts(session):  # type: ignore[no-untyped-def]
    from auctions.models import Bid
    from listings.models import Asset, Listing

    return {m.__name__: count_rows(session, m) for m in (User, Asset, Listing, Bid)}


# -- sizes ---------------------------------------------------------------------------------------------
def test_oversized_bodies_are_413_problems_everywhere(app, client, session, world, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 4096)
    before = _counts(session)
    for name, path, token, body, _amount, text in _endpoints(world):
        padded = {**body, (text or "amount_fen"): "x" * 5000}
        r = _post(client, path, token, json=padded)
        assert_problem(r, 413, "payload_too_large")
        # Without a Content-Length (chunked), the limit holds as well.
        raw = io.BytesIO(b'{"a": "' + b"y" * 8000 + b'"}')
        r = _post(client, path, token, input_stream=raw, content_type="application/json",
                  environ_overrides={"wsgi.input_terminated": True})
        assert r.status_code == 413 and r.mimetype == PROBLEM, (name, r.status_code)
    assert _nothing_written(session, before)


def test_real_limit_is_413_before_the_body_is_read(app, client, world):
    limit = app.config["MAX_CONTENT_LENGTH"]
    r = _post(client, "/api/v1/assets", world["ts"], data=b"{" + b" " * limit + b"}", content_type="application/json")
    assert_problem(r, 413, "payload_too_large")


def test_upload_limits(app, client, session, world, monkeypatch):
    from listings.models import EvidenceDocument

    ref = world["draft_asset"]["ref"]
    before = count_rows(session, EvidenceDocument)

    def up(data: bytes, name: str = "cert.pdf"):  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/assets/{ref}/documents", headers=auth(world["ts"]),
                           data={"kind": "certificate", "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")

    # Over the file limit but under the request limit: the upload's own refusal, with the limit named.
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 2048)
    body = assert_problem(up(PDF_BYTES + b"0" * 4096), 422, "file_too_large")
    assert body["errors"]["file"]
    # Over the request limit: 413 before anything is read.
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 8192)
    assert_problem(up(PDF_BYTES + b"0" * 10_000), 413, "payload_too_large")
    # Empty files, files that are not what they claim, and no file at all.
    assert_problem(up(b""), 422, "empty_file")
    bad = up(b"MZ\x90\x00 an executable pretending", "cert.pdf")
    assert bad.status_code == 422 and bad.mimetype == PROBLEM and bad.get_json()["code"]
    assert_problem(client.post(f"/api/v1/assets/{ref}/documents", headers=auth(world["ts"]),
                               data={"kind": "certificate"}, content_type="multipart/form-data"),
                   422, "file_required")
    session.expire_all()
    assert count_rows(session, EvidenceDocument) == before


# -- malformed JSON and wrong types ------------------------------------------------------------------
MALFORMED = [b"{bad json", b'{"amount_fen": ', b"\xff\xfe\x00", b"", b"[", b'"text"', b"null", b"123", b'{"a": NaN}',
             b'{"a": Infinity}']


def test_malformed_json_is_a_problem_everywhere(client, session, world):
    before = _counts(session)
    for (name, path, token, _body, _amount, _text), raw in itertools.product(_endpoints(world), MALFORMED):
        r = _post(client, path, token, data=raw, content_type="application/json")
        assert r.status_code in (400, 422), (name, raw, r.status_code, r.get_data(as_text=True)[:200])
        # (A NUL byte is refused at the door, before parsing: invalid_characters.)
        assert r.mimetype == PROBLEM and r.get_json()["code"] in ("bad_request", "validation_error",
                                                                  "invalid_characters"), (name, raw)
    assert _nothing_written(session, before)


def test_wrong_media_type_is_refused(client, world):
    for name, path, token, body, _amount, _text in _endpoints(world):
        r = _post(client, path, token, data="amount_fen=1", content_type="application/x-www-form-urlencoded")
        assert 400 <= r.status_code < 500 and r.mimetype == PROBLEM, (name, r.status_code)


def test_amounts_of_the_wrong_type(client, session, world):
    before = _counts(session)
    values = ["100000000", 1e8, 100000000.5, [100000000], {"fen": 1}, None, True]
    for (name, path, token, body, amount, _text), value in itertools.product(_endpoints(world), values):
        if amount is None:
            continue
        r = _post(client, path, token, json={**body, amount: value})
        problem = assert_problem(r, 422, "validation_error")
        assert amount in problem["errors"], (name, value, problem)
    assert _nothing_written(session, before)


def test_texts_of_the_wrong_type(client, session, world):
    before = _counts(session)
    values = [12345, 1.5, ["list"], {"x": 1}, True, None]
    for (name, path, token, body, _amount, text), value in itertools.product(_endpoints(world), values):
        if text is None:
            continue
        problem = assert_problem(_post(client, path, token, json={**body, text: value}), 422, "validation_error")
        assert text in problem["errors"], (name, value, problem)
    assert _nothing_written(session, before)


def test_unknown_fields_such_as_client_times_are_refused(client, session, world):
    before = _counts(session)
    for name, path, token, body, _amount, _text in _endpoints(world):
        problem = assert_problem(_post(client, path, token, json={**body, "created_at": "2020-01-01T00:00:00Z"}),
                                 422, "validation_error")
        assert "created_at" in problem["errors"], name
    assert _nothing_written(session, before)


# -- amounts -------------------------------------------------------------------------------------------
def test_huge_amounts_are_refused_not_500(client, session, world):
    before = _counts(session)
    values = [HUGE, INT64_MAX + 1, -HUGE, 10**18]
    for (name, path, token, body, amount, _text), value in itertools.product(_endpoints(world), values):
        if amount is None:
            continue
        r = _post(client, path, token, json={**body, amount: value})
        assert r.status_code == 422 and r.mimetype == PROBLEM, (name, value, r.status_code, r.get_data(as_text=True))
        assert r.get_json()["code"] in ("validation_error", "value_out_of_range", "invalid_amount", "bid_too_high",
                                        "price_too_high"), (name, r.get_json())
    assert _nothing_written(session, before)


def test_a_huge_bid_leaves_the_auction_as_it_was(client, session, world):
    ref = world["auction"]["ref"]
    state = ok(client.get(f"/api/v1/auctions/{ref}"))
    for i, value in enumerate((HUGE, INT64_MAX + 1, INT64_MAX)):
        r = _bid(client, world["t1"], ref, {"amount_fen": value}, key=f"huge-bid-{i}")
        assert r.status_code == 422 and r.mimetype == PROBLEM, (value, r.status_code, r.get_data(as_text=True))
    after = ok(client.get(f"/api/v1/auctions/{ref}"))
    assert (after["bid_count"], after["current_price_fen"], after["version"]) == (
        state["bid_count"], state["current_price_fen"], state["version"])
    # A normal bid still goes through (the refusals did not poison the idempotency keys or the auction).
    ok(_bid(client, world["t1"], ref, {"amount_fen": 100_000_000}, key="huge-bid-normal"), 201)


def test_zero_and_negative_amounts(client, session, world):
    before = _counts(session)
    values = [0, -1, -100_000_000]
    for (name, path, token, body, amount, _text), value in itertools.product(_endpoints(world), values):
        if amount is None:
            continue
        r = _post(client, path, token, json={**body, amount: value})
        assert r.status_code == 422 and r.mimetype == PROBLEM, (name, value, r.status_code)
        assert r.get_json()["code"] in ("validation_error", "invalid_amount", "bid_too_low", "price_required",
                                        "invalid_price"), (name, r.get_json())
    assert _nothing_written(session, before)


def test_huge_numbers_in_query_strings_and_paths(client, world):
    big = str(HUGE)
    for url, token in [(f"/api/v1/audit/events?after_seq={big}", world["to"]),
                       (f"/api/v1/audit/events?limit={big}", world["to"]),
                       (f"/api/v1/parties?page={big}", world["to"]),
                       (f"/api/v1/listings?page={big}", None),
                       (f"/api/v1/calendar/{big}", None),
                       (f"/api/v1/me/tokens/{big}", world["t1"]),
                       (f"/api/v1/assets/{world['draft_asset']['ref']}/documents/{big}", world["ts"]),
                       (f"/api/v1/calendar/working-days?start=2026-03-02&days={big}", None)]:
        method = "DELETE" if "/me/tokens/" in url else "GET"
        r = client.open(url, method=method, headers=auth(token) if token else {})
        # Answered (an empty page is an answer) or refused as a problem; never a 5xx.
        assert r.status_code in (200, 404, 422), (url, r.status_code, r.get_data(as_text=True))
        assert r.status_code == 200 or r.mimetype == PROBLEM, url


# -- characters ------------------------------------------------------------------------------------------
def test_control_and_direction_characters_in_names_and_titles(client, session, world):
    before = _counts(session)
    for (name, path, token, body, _amount, field), text in itertools.product(_endpoints(world), CONTROL_AND_BIDI):
        if field is None:
            continue
        problem = assert_problem(_post(client, path, token, json={**body, field: text}), 422, "invalid_characters")
        # The field is named, except for a NUL, which the door refuses before any field is read.
        assert field in problem.get("errors", {}) or "\x00" in text, (name, text, problem)
    assert _nothing_written(session, before)


def test_direction_marks_in_the_party_name_on_sign_up(client, session):
    before = count_rows(session, User)
    for field in ("party_name", "display_name"):
        assert_problem(client.post("/api/v1/auth/register", json=register_payload(**{field: "腾讯\u202e司公限有"})),
                       422, "invalid_characters")
    session.expire_all()
    assert count_rows(session, User) == before


def test_plain_unicode_is_welcome(client, world):
    """The checks refuse controls, not languages: Chinese, accents and emoji-free symbols pass."""
    body = asset_payload(number=patent_no(7_300_003), title="一种含氟聚合物（PTFE）的制备方法 — Müller & Söhne")
    assert client.post("/api/v1/assets", json=body, headers=auth(world["ts"])).status_code == 201


def test_overlong_texts(client, session, world):
    before = _counts(session)
    for name, path, token, body, _amount, field in _endpoints(world):
        if field is None:
            continue
        r = _post(client, path, token, json={**body, field: "长" * 5000})
        assert r.status_code == 422 and r.mimetype == PROBLEM, (name, r.status_code)
        assert r.get_json()["code"] in ("validation_error", "too_long"), (name, r.get_json())
    assert _nothing_written(session, before)


def test_a_refused_request_leaves_the_idempotency_key_free(client, session, world):
    from exchange.models import IdempotencyRecord

    ref = world["auction"]["ref"]
    before = count_rows(session, IdempotencyRecord)
    assert_problem(_bid(client, world["t1"], ref, {"amount_fen": "lots"}, key="reused-after-error"),
                   422, "validation_error")
    session.expire_all()
    assert count_rows(session, IdempotencyRecord) == before
    ok(_bid(client, world["t1"], ref, {"amount_fen": 100_000_000}, key="reused-after-error"), 201)
    assert session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)) == before + 1


# -- the database's own limits: the safety net for values no schema bounded ------------------------------------
@pytest.fixture(scope="module")
def raw_app(db_url: str, tmp_path_factory):  # type: ignore[no-untyped-def]
    """An app with a throwaway route that hands a caller's number straight to the database."""
    from exchange.app import create_app
    from exchange.auth import PUBLIC, access
    from exchange.db import get_session

    application = create_app("testing", overrides={"DATABASE_URL": db_url,
                                                   "INSTANCE_PATH": str(tmp_path_factory.mktemp("raw_app"))})

    def cast():  # type: ignore[no-untyped-def]
        from flask import request

        value = int(request.args["v"])
        return {"v": get_session().execute(sa.text("SELECT CAST(:v AS BIGINT)"), {"v": value}).scalar()}

    application.add_url_rule("/api/v1/_test/bigint", "api_bigint", access(PUBLIC)(cast))
    yield application
    application.extensions["exchange.db"].engine.dispose()


@pytest.mark.parametrize("value", [HUGE, INT64_MAX + 1, -HUGE])
def test_a_number_the_database_cannot_hold_is_a_422_not_a_500(raw_app, value):
    r = raw_app.test_client().get(f"/api/v1/_test/bigint?v={value}")
    assert_problem(r, 422, "value_out_of_range")
    assert "Traceback" not in r.get_data(as_text=True)
    assert raw_app.test_client().get(f"/api/v1/_test/bigint?v={INT64_MAX}").get_json() == {"v": INT64_MAX}


def _stored_files(app) -> set[str]:  # type: ignore[no-untyped-def]
    root = Path(app.config["UPLOAD_FOLDER"])
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_an_upload_whose_transaction_fails_leaves_no_file_behind(app, client, session, world, monkeypatch):
    """The file is written before the row commits; if the commit never comes, the file goes too."""
    from listings.models import EvidenceDocument
    from listings.service import assets

    ref = world["draft_asset"]["ref"]
    before_rows, before_files = count_rows(session, EvidenceDocument), _stored_files(app)

    def up():  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/assets/{ref}/documents", headers=auth(world["ts"]),
                           data={"kind": "certificate", "file": (io.BytesIO(PDF_BYTES), "cert.pdf")},
                           content_type="multipart/form-data")

    def audit_down(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("audit store unavailable")

    with monkeypatch.context() as m:
        m.setattr(assets, "record_event", audit_down)  # fails after the file is on disk
        assert up().status_code == 500
    session.expire_all()
    assert count_rows(session, EvidenceDocument) == before_rows
    assert _stored_files(app) == before_files
    # The same upload that commits keeps its file, where its row says.
    r = up()
    assert r.status_code == 201, r.get_json()
    new = _stored_files(app) - before_files
    key = session.scalar(sa.select(EvidenceDocument.storage_key).where(EvidenceDocument.id == r.get_json()["id"]))
    assert new == {f"{key[:2]}/{key}"}


def test_an_upload_whose_commit_outcome_is_unknown_keeps_its_file(app, client, world, monkeypatch):
    """The connection drops during COMMIT: the row may have been stored, so its file must not go
    (an orphan file is the lesser harm than a stored row whose file is gone); the answer is 503."""
    from sqlalchemy.orm import Session

    before = _stored_files(app)
    real_commit = Session.commit

    def dropped(self):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(Session, "commit", real_commit)
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "commit", dropped)
    r = client.post(f"/api/v1/assets/{world['draft_asset']['ref']}/documents", headers=auth(world["ts"]),
                    data={"kind": "certificate", "file": (io.BytesIO(PDF_BYTES), "cert.pdf")},
                    content_type="multipart/form-data")
    assert r.status_code == 503 and r.headers["Retry-After"] == "1"
    assert len(_stored_files(app) - before) == 1
