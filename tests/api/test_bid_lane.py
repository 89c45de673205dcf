"""The bid lane (``auctions/bid_lane.py``) answers plain bids without the Flask stack, and hands
everything else to Flask. Every other API test of bids goes through it too (the test client calls
the same WSGI entry); these tests hold the two paths to the same answers, and check that the lane
really serves what it claims to and nothing more."""
from __future__ import annotations

import contextlib
import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from auctions.models import Auction, Bid
from exchange.models import ApiToken, IdempotencyRecord
from tests.auction_builders import INCREMENT, PRICE, auction_via_api
from tests.factories import auth, make_member, token_for
from tests.helpers import ok

BIDS = "/api/v1/auctions/{}/bids"


@pytest.fixture()
def lane(app):  # type: ignore[no-untyped-def]
    return app.extensions["exchange.bid_lane"]


@contextmanager
def flask_only(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """The same app with the lane taken out of its WSGI entry: every bid through Flask's route."""
    lane = app.extensions["exchange.bid_lane"]
    app.wsgi_app = lane.wsgi_app
    try:
        yield
    finally:
        app.wsgi_app = lane


def _answer(resp, refs: dict[str, str]) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What a client sees, with what must differ between two worlds (references, request ids) masked."""
    text = resp.get_data(as_text=True)
    for real, alias in refs.items():
        text = text.replace(real, alias)
    try:
        body: Any = json.loads(text)
    except ValueError:
        body = text
    if isinstance(body, dict) and "request_id" in body:
        body["request_id"] = "<id>" if body["request_id"] == resp.headers.get("X-Request-ID") else "<mismatch>"
    headers = {k: v for k, v in resp.headers.items() if k not in ("X-Request-ID", "Content-Length")}
    return {"status": resp.status_code, "body": body, "headers": headers,
            "request_id": bool(resp.headers.get("X-Request-ID"))}


def _script(client, session, clock, w: dict) -> list[tuple[str, dict[str, Any]]]:  # type: ignore[no-untyped-def]
    """A bidder's session with the plain cases and the unusual ones, answers in order."""
    ref = w["auction"]["ref"]
    t1, t2 = w["tokens"]
    url = BIDS.format(ref)
    refs = {ref: "<auction>", w["listing"]["ref"]: "<listing>"}
    out: list[tuple[str, dict[str, Any]]] = []

    def send(name: str, token: str | None = None, body: Any = None, key: str | None = "fresh", path: str = url,
             environ: dict[str, str] | None = None, **headers: str) -> Any:
        h = dict(headers)
        content_type = h.pop("content_type", "application/json")
        if token is not None:
            h["Authorization"] = f"Bearer {token}"
        if key is not None:
            h["Idempotency-Key"] = uuid.uuid4().hex if key == "fresh" else key
        raw = body if isinstance(body, (bytes, str)) else json.dumps(body).encode()
        resp = client.post(path, headers=h, data=raw, content_type=content_type, environ_overrides=environ or {})
        out.append((name, _answer(resp, refs)))
        return resp

    send("before the start", t1, {"amount_fen": PRICE})
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(seconds=5))
    send("accepted", t1, {"amount_fen": PRICE}, key="key-of-the-first-bid")
    send("replayed", t1, {"amount_fen": PRICE}, key="key-of-the-first-bid")
    send("key reused for another body", t1, {"amount_fen": PRICE + INCREMENT}, key="key-of-the-first-bid")
    send("too low", t2, {"amount_fen": PRICE})
    send("off the increment grid", t2, {"amount_fen": PRICE + INCREMENT // 2})
    send("leader raises (not allowed here)", t1, {"amount_fen": PRICE + INCREMENT})
    send("accepted, second bidder", t2, {"amount_fen": PRICE + INCREMENT}, X_Request_ID="trace-abc-123")
    stranger = make_member(session, clock)
    session.commit()
    send("not qualified", token_for(client, stranger), {"amount_fen": PRICE + 5 * INCREMENT})
    send("unknown auction", t1, {"amount_fen": PRICE}, path=BIDS.format("AU2026-999999"))
    send("unknown token", "tex_not-a-token-at-all", {"amount_fen": PRICE + 2 * INCREMENT})
    send("basic auth", None, {"amount_fen": PRICE + 2 * INCREMENT}, Authorization="Basic dXNlcjpwYXNz")
    send("no auth", None, {"amount_fen": PRICE + 2 * INCREMENT})
    send("operator", w["to"], {"amount_fen": PRICE + 2 * INCREMENT})
    send("auditor", w["ta"], {"amount_fen": PRICE + 2 * INCREMENT})
    send("no key", t1, {"amount_fen": PRICE + 2 * INCREMENT}, key=None)
    send("short key", t1, {"amount_fen": PRICE + 2 * INCREMENT}, key="short")
    send("extra field", t1, {"amount_fen": PRICE + 2 * INCREMENT, "note": "x"})
    send("amount as text", t1, {"amount_fen": str(PRICE + 2 * INCREMENT)})
    send("amount as float", t1, {"amount_fen": float(PRICE + 2 * INCREMENT)})
    send("amount as boolean", t1, {"amount_fen": True})
    send("amount too large", t1, b'{"amount_fen": 1000000000000000000000000000000}')
    send("negative amount", t1, {"amount_fen": -5})
    send("NUL in body", t1, b'{"amount_fen": 1, "x": "\\u0000"}')
    send("not JSON", t1, b"amount_fen=1")
    send("form post", t1, "amount_fen=1", content_type="application/x-www-form-urlencoded")
    send("JSON array", t1, [PRICE])
    send("query string", t1, {"amount_fen": PRICE + 2 * INCREMENT}, path=url + "?x=1")
    send("trailing slash", t1, {"amount_fen": PRICE + 3 * INCREMENT}, path=url + "/")
    # Headers and bodies that only look plain: the lane must read them as werkzeug and Flask do.
    plain = b'{"amount_fen": %d}' % (PRICE + 3 * INCREMENT)
    send("byte order mark", t2, b"\xef\xbb\xbf" + plain)
    send("no-break space after the media type", t2, plain, content_type="application/json\xa0")
    send("vertical tab before the media type", t2, plain, content_type="\x0bapplication/json")
    send("length with a plus sign", t2, plain, environ={"CONTENT_LENGTH": f"+{len(plain)}"})
    send("media type in capitals", t2, plain, content_type="Application/JSON")
    send("duplicate key, the last wins", t1, b'{"amount_fen": 1, "amount_fen": %d}' % (PRICE + 4 * INCREMENT))
    # The countdown has run out, but nobody has closed the auction yet.
    ends = datetime.fromisoformat(ok(client.get(f"/api/v1/auctions/{ref}"))["effective_end_at"])
    clock.set(ends)
    send("after the end", t1, {"amount_fen": PRICE + 9 * INCREMENT})
    return out


#: Which cases the lane answers itself; every other one it must hand to Flask.
SERVED = {"before the start", "accepted", "too low", "off the increment grid", "leader raises (not allowed here)",
          "accepted, second bidder", "not qualified", "negative amount", "media type in capitals",
          "duplicate key, the last wins", "after the end"}


def test_the_lane_and_flask_give_the_same_answers(app, client, session, clock, lane):
    # Two identical worlds: the script runs once through the lane, once through Flask alone.
    w_lane = auction_via_api(client, session, clock, buyers=2, leader_may_raise=False)
    before = (lane.served, lane.handed_on)
    answers: dict[str, list[tuple[str, dict[str, Any]]]] = {"lane": _script(client, session, clock, w_lane)}
    served, handed_on = lane.served - before[0], lane.handed_on - before[1]
    w_flask = auction_via_api(client, session, clock, buyers=2, leader_may_raise=False)
    with flask_only(app):
        answers["flask"] = _script(client, session, clock, w_flask)
    assert (lane.served, lane.handed_on) == (before[0] + served, before[1] + handed_on), "the lane was out"

    assert [n for n, _ in answers["lane"]] == [n for n, _ in answers["flask"]]
    for (name, via_lane), (_, via_flask) in zip(answers["lane"], answers["flask"]):
        assert via_lane == via_flask, name
    by_name = dict(answers["lane"])
    # The script reaches what it means to: receipts, refusals, replays and the full stack's checks.
    assert by_name["accepted"]["status"] == 201 and by_name["accepted, second bidder"]["status"] == 201
    assert by_name["replayed"]["headers"].get("Idempotent-Replayed") == "true"
    assert by_name["replayed"]["body"] == by_name["accepted"]["body"]
    codes = {name: a["body"].get("code") for name, a in answers["lane"] if isinstance(a["body"], dict)}
    assert codes["before the start"] == "auction_not_open"
    assert codes["key reused for another body"] == "idempotency_key_reused"
    assert codes["too low"] == "bid_too_low" and codes["off the increment grid"] == "not_increment_multiple"
    assert codes["leader raises (not allowed here)"] == "already_leading"
    assert codes["not qualified"] == "not_qualified" and codes["unknown auction"] == "auction_not_found"
    assert codes["unknown token"] == codes["basic auth"] == "invalid_token"
    assert codes["no auth"] == "not_authenticated" and codes["operator"] == "forbidden_role"
    assert codes["auditor"] == "auditor_read_only" and codes["no key"] == "idempotency_key_required"
    assert codes["short key"] == "idempotency_key_invalid"
    assert codes["extra field"] == codes["amount as text"] == codes["amount as float"] == "validation_error"
    assert codes["amount too large"] == "invalid_amount" and codes["NUL in body"] == "invalid_characters"
    assert codes["after the end"] == "auction_closed" and codes["negative amount"] in ("invalid_amount",
                                                                                         "bid_too_low")
    assert by_name["query string"]["status"] == 201  # a query string is ignored, by Flask
    assert by_name["media type in capitals"]["status"] == by_name["duplicate key, the last wins"]["status"] == 201
    assert codes["byte order mark"] == "validation_error"
    assert all(by_name[n]["status"] == 422 for n in ("no-break space after the media type",
                                                      "vertical tab before the media type", "length with a plus sign"))
    # The caller's X-Request-ID comes back, in the header and in a problem body.
    assert all(a["request_id"] for _, a in answers["lane"])
    assert all(a["body"].get("request_id", "<id>") == "<id>" for _, a in answers["lane"]
               if isinstance(a["body"], dict))
    # The lane served the plain cases and nothing else.
    assert served == len(SERVED), (served, handed_on)
    assert handed_on == len(answers["lane"]) - len(SERVED) - 1  # the trailing slash is not the bids URL


def test_request_id_of_the_caller_is_kept(client, session, clock, lane):
    w = auction_via_api(client, session, clock, buyers=2)
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(seconds=5))
    n = lane.served
    resp = client.post(BIDS.format(w["auction"]["ref"]), json={"amount_fen": PRICE - INCREMENT},
                       headers=auth(w["tokens"][0], **{"Idempotency-Key": uuid.uuid4().hex,
                                                       "X-Request-ID": "trace-0001"}))
    assert lane.served == n + 1
    assert resp.headers["X-Request-ID"] == "trace-0001" and resp.get_json()["request_id"] == "trace-0001"
    assert resp.headers["Content-Type"] == "application/problem+json"


def test_the_lane_stamps_a_tokens_use_as_flask_does(client, session, clock, lane):
    w = auction_via_api(client, session, clock, buyers=2, leader_may_raise=True)
    start = datetime.fromisoformat(w["auction"]["starts_at"])
    token = w["tokens"][0]

    def last_used() -> datetime | None:
        session.expire_all()
        return session.scalar(sa.select(ApiToken.last_used_at).join(ApiToken.user)
                              .where(ApiToken.user_id == w["buyers"][0].id).order_by(ApiToken.id.desc()).limit(1))

    def bid(amount: int) -> tuple[int, str | None]:
        resp = client.post(BIDS.format(w["auction"]["ref"]), json={"amount_fen": amount},
                           headers=auth(token, **{"Idempotency-Key": uuid.uuid4().hex}))
        return resp.status_code, resp.get_json().get("code")

    clock.set(start + timedelta(minutes=5))
    n = lane.served
    assert bid(PRICE) == (201, None)
    assert last_used() == start + timedelta(minutes=5)
    clock.advance(seconds=30)  # within the minute: no write
    assert bid(PRICE + 2 * INCREMENT) == (201, None)
    assert last_used() == start + timedelta(minutes=5)
    clock.advance(minutes=2)  # a refusal is rolled back whole, the stamp with it (as through Flask)
    assert bid(PRICE) == (422, "bid_too_low")
    assert last_used() == start + timedelta(minutes=5)
    assert bid(PRICE + 4 * INCREMENT) == (201, None)
    assert last_used() == start + timedelta(minutes=7, seconds=30)
    assert lane.served == n + 4


def test_an_error_in_the_lane_is_rolled_back_and_flask_answers(client, session, clock, lane, monkeypatch, caplog):
    """Nothing of the lane's attempt survives; the request is answered as if the lane were not there."""
    from auctions import service as svc

    w = auction_via_api(client, session, clock, buyers=2)
    ref = w["auction"]["ref"]
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(seconds=5))
    real = svc.bid_on
    calls = []

    def breaks_after_the_write(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        real(*args, **kwargs)  # the bid is written...
        raise RuntimeError("the lane's connection broke after the write")  # ...then the lane fails

    monkeypatch.setattr(svc, "bid_on", breaks_after_the_write)  # the lane's; Flask's route calls its own
    n, h = lane.served, lane.handed_on
    with caplog.at_level(logging.WARNING, logger="exchange.bid_lane"):
        resp = client.post(BIDS.format(ref), json={"amount_fen": PRICE},
                           headers=auth(w["tokens"][0], **{"Idempotency-Key": "retry-safe-key-1"}))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["seq"] == 1
    assert (lane.served, lane.handed_on) == (n, h + 1) and len(calls) == 1
    assert "handed" in caplog.text
    session.expire_all()
    auction = session.scalar(sa.select(Auction).where(Auction.ref == ref))
    assert auction.bid_count == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Bid).where(Bid.auction_id == auction.id)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)
                          .where(IdempotencyRecord.key == "retry-safe-key-1")) == 1


def test_a_failed_commit_answers_as_flask_does(app, client, session, clock, lane, monkeypatch):
    """The same 503 problem, whichever path's commit failed; nothing stored."""
    from sqlalchemy.engine.base import NestedTransaction, RootTransaction
    from sqlalchemy.orm import Session

    def lost(*args: Any, **kwargs: Any) -> None:
        raise sa.exc.OperationalError("COMMIT", {}, Exception("server closed the connection unexpectedly"))

    answers = []
    for through_lane in (True, False):
        w = auction_via_api(client, session, clock, buyers=2)
        clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(seconds=5))
        n = lane.served
        with monkeypatch.context() as m, (contextlib.nullcontext() if through_lane else flask_only(app)):
            if through_lane:  # the lane's own transaction: a savepoint on the test's connection
                m.setattr(NestedTransaction, "commit", lost)
                m.setattr(RootTransaction, "commit", lost)
            else:
                m.setattr(Session, "commit", lost)
            resp = client.post(BIDS.format(w["auction"]["ref"]), json={"amount_fen": PRICE},
                               headers=auth(w["tokens"][0], **{"Idempotency-Key": uuid.uuid4().hex}))
        assert lane.served == n + through_lane
        answers.append(_answer(resp, {w["auction"]["ref"]: "<auction>"}))
        session.expire_all()
        assert session.scalar(sa.select(Auction.bid_count).where(Auction.ref == w["auction"]["ref"])) == 0
    assert answers[0] == answers[1]
    assert answers[0]["status"] == 503 and answers[0]["headers"]["Retry-After"] == "1"
    assert answers[0]["body"]["code"] == "database_unavailable"


def test_the_key_is_looked_up_again_after_the_stamp_waited(client, session, clock, lane, monkeypatch, caplog):
    """The token's last-use stamp can wait for another request's lock on the token row. If that was
    a retry of this very bid and it committed meanwhile, the key is taken by the time the stamp is
    written: the lane looks again and hands the request to Flask, which (looking the key up after
    its own stamp) replays the stored answer instead of bidding again. Here the "retry" is written
    inside the lane's transaction at the stamp, which is what the lane then sees."""
    from auctions import bid_lane
    from exchange.idempotency import request_digest

    w = auction_via_api(client, session, clock, buyers=2)
    ref = w["auction"]["ref"]
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(minutes=5))  # the stamp is due
    body = json.dumps({"amount_fen": PRICE}).encode()
    real = bid_lane.stamp_token_use
    stamped = []

    def stamp_while_a_retry_commits(conn, token_id, last_used_at, now):  # type: ignore[no-untyped-def]
        wrote = real(conn, token_id, last_used_at, now)
        stamped.append(wrote)
        conn.execute(sa.insert(IdempotencyRecord).values(
            user_id=w["buyers"][0].id, key="retried-key-0001", endpoint="auctions_api.place_bid",
            request_hash=request_digest("POST", BIDS.format(ref), body), status_code=201,
            response_body='{"seq": 1}', created_at=now))
        return wrote

    monkeypatch.setattr(bid_lane, "stamp_token_use", stamp_while_a_retry_commits)
    n, h = lane.served, lane.handed_on
    with caplog.at_level(logging.WARNING, logger="exchange.bid_lane"):
        resp = client.post(BIDS.format(ref), data=body, content_type="application/json",
                           headers=auth(w["tokens"][0], **{"Idempotency-Key": "retried-key-0001"}))
    assert stamped == [True]
    assert (lane.served, lane.handed_on) == (n, h + 1)
    # Handed on because it looked, not because its own record then clashed with the key's.
    assert "handed" not in caplog.text, caplog.text
    assert resp.status_code == 201  # Flask's answer (the simulated record went with the lane's rollback)
    session.expire_all()
    assert session.scalar(sa.select(Auction.bid_count).where(Auction.ref == ref)) == 1


def test_a_descending_acceptance_goes_through_flask(client, session, clock, lane):
    """Its one acceptance closes the auction and strikes the deal: ORM work, left to the full stack."""
    w = auction_via_api(client, session, clock, buyers=2, auction_format="descending")
    ref = w["auction"]["ref"]
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(seconds=5))
    n, h = lane.served, lane.handed_on
    resp = client.post(BIDS.format(ref), json={"amount_fen": 0},
                       headers=auth(w["tokens"][0], **{"Idempotency-Key": uuid.uuid4().hex}))
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["auction"]["state"] == "closed"
    assert (lane.served, lane.handed_on) == (n, h + 1)


def test_the_lane_can_be_turned_off(db_url, tmp_path):  # type: ignore[no-untyped-def]
    from exchange.app import create_app

    app = create_app("testing", overrides={"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path),
                                          "BID_LANE": False})
    try:
        assert "exchange.bid_lane" not in app.extensions
        assert type(app.wsgi_app).__name__ != "BidLane"
    finally:
        app.extensions["exchange.db"].engine.dispose()


def test_the_lane_refuses_to_start_if_the_route_moved(app):
    from auctions.bid_lane import BidLane

    class Moved:
        url_map = app.url_map.__class__()
        view_functions: dict = {}

    with pytest.raises(RuntimeError, match="bid lane serves POST"):
        BidLane(Moved(), app.wsgi_app)  # type: ignore[arg-type]
