"""The bid lane: ``POST /api/v1/auctions/<ref>/bids`` answered without the Flask request stack.

Bids are the exchange's busiest request: in the last minutes of an auction every bidder sends one
after another, and most are refused because someone else got the price step first. Through Flask a
bid cost the web server several times the CPU of the bid's own SQL (routing, hooks, the cookie
session, argument parsing, the ORM's identity map for the caller; ``bench/RESULTS.md``). This WSGI
wrapper serves the common bid directly: the same token check, the same idempotency record, the same
bid service (``bid_on``, which ``place_bid`` wraps for Flask) and the same problem documents, in one
transaction it commits itself.

It serves only the plain case, and hands every other request to the Flask app untouched (its body
put back), where it is answered as any request is:

- anything but ``POST`` to the bids URL; a query string; a body that is not exactly
  ``{"amount_fen": <integer>}`` sent as ``application/json``; a missing or malformed
  ``Idempotency-Key``; an ``Authorization`` header that is not a bearer token;
- a token that is unknown, revoked or of a disabled account, or whose role the route's
  ``@access`` does not admit; an auction that does not exist, or a descending one (its one
  acceptance closes the auction, which is ORM work);
- a key already used (the replay, or the refusal of a reused key);
- any unexpected error, after rolling back (a retry through Flask finds the stored answer if a
  commit did land, and places the bid if it did not).

What the lane answers itself: the receipt (201) and the service's refusals, which are what a bidder
meets nearly every time; and, as Flask's route would, a 503 when the database is lost mid-bid
(the transaction is rolled back whole, and the bidder retries with the same key).
``tests/api/test_bid_lane.py`` checks both paths give the same answers. ``BID_LANE = False`` in the
settings turns the lane off.
"""
from __future__ import annotations

import functools
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from flask import Flask, g
from werkzeug.http import HTTP_STATUS_CODES, parse_options_header

from auctions import service as svc
from auctions.domain import AuctionFormat
from exchange.actors import Actor
from exchange.auth import policy_for, role_refusal, stamp_token_use, token_digest, token_principal_query
from exchange.db import get_db
from exchange.errors import DomainError
from exchange.http import (PROBLEM_CONTENT_TYPE, UNAVAILABLE_HEADERS, problem_json, refusal_problem,
                           security_headers, unavailable_problem)
from exchange.idempotency import request_digest, statements, valid_key
from exchange.logs import log_access, request_id_from
from exchange.models import IdempotencyRecord, User

log = logging.getLogger("exchange.bid_lane")

ENDPOINT = "auctions_api.place_bid"
RULE = "/api/v1/auctions/<ref>/bids"
_PATH = re.compile(r"/api/v1/auctions/([A-Za-z0-9_-]{1,64})/bids")
_MAX_BODY = 200  # {"amount_fen": ...} is 30 bytes; anything longer is not the plain case
_MAX_AMOUNT = 2**53  # exact in every JSON reader; larger amounts go through the full stack's range checks
_STATUS_LINES = {code: f"{code} {text.upper()}" for code, text in HTTP_STATUS_CODES.items()}  # as werkzeug says them

StartResponse = Callable[..., Any]


class BidLane:
    """WSGI middleware in front of the Flask app (``install`` puts it there)."""

    def __init__(self, app: Flask, wsgi_app: Callable[[dict, StartResponse], Iterable[bytes]]) -> None:
        rules = [r for r in app.url_map.iter_rules() if r.endpoint == ENDPOINT]
        if [r.rule for r in rules] != [RULE] or "POST" not in rules[0].methods:
            raise RuntimeError(f"the bid lane serves POST {RULE}, but {ENDPOINT} is routed as {rules}")
        policy = policy_for(app, ENDPOINT, "POST")
        if not policy:
            raise RuntimeError(f"{ENDPOINT} declares no access policy")
        self.app = app
        self.wsgi_app = wsgi_app
        self.policy = policy
        # Counted for the tests, which check that the lane serves what it should and hands on the rest.
        self.served = 0
        self.handed_on = 0

    def __call__(self, environ: dict, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "POST":
            match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
            if match is not None:
                answer = self._serve(environ, match.group(1))
                if answer is not None:
                    self.served += 1
                    return self._respond(start_response, *answer)
                self.handed_on += 1
        return self.wsgi_app(environ, start_response)

    # -- the plain case -----------------------------------------------------------------------------
    def _serve(self, environ: dict, ref: str) -> tuple[int, bytes, str, str, tuple] | None:
        """(status, body, content type, request id, more headers), or None to hand the request on."""
        # The media type and the length as werkzeug reads them: a header Flask would not take as a
        # JSON body of that length (odd whitespace, "+25") is not the plain case.
        if environ.get("QUERY_STRING") or parse_options_header(environ.get("CONTENT_TYPE", ""))[0].lower() \
                != "application/json":
            return None
        declared = environ.get("CONTENT_LENGTH", "")
        if not (declared.isascii() and declared.isdigit() and 0 < int(declared) <= _MAX_BODY):
            return None
        body = environ["wsgi.input"].read(int(declared))
        environ["wsgi.input"] = io.BytesIO(body)  # put back for Flask, should the request be handed on
        amount = _plain_amount(body) if len(body) == int(declared) else None
        auth_scheme, _, token = environ.get("HTTP_AUTHORIZATION", "").partition(" ")
        key = environ.get("HTTP_IDEMPOTENCY_KEY", "").strip()
        token = token.strip()
        if amount is None or auth_scheme.lower() != "bearer" or not token or not valid_key(key):
            return None
        started = time.perf_counter()
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        path = environ["PATH_INFO"]
        with self.app.app_context():
            g.request_id = request_id  # problem documents carry it
            extra: tuple[tuple[str, str], ...] = ()
            caller: dict[str, str] = {}
            try:
                with get_db(self.app).core_transaction() as (conn, tx):
                    answer = self._bid(conn, tx, token, key, ref, amount, request_digest("POST", path, body), caller)
            except sa.exc.OperationalError:
                # Rolled back whole, as Flask's route would be: the bidder retries with the same key.
                log.exception("database unavailable during a bid", extra={"request_id": request_id})
                answer = 503, problem_json(unavailable_problem()), PROBLEM_CONTENT_TYPE, caller.get("ref")
                extra = UNAVAILABLE_HEADERS
            except Exception:  # noqa: BLE001 - rolled back and handed on; Flask answers, and logs, as usual
                log.warning("bid lane: handed %s on after an error", path, exc_info=True,
                            extra={"request_id": request_id})
                environ["HTTP_X_REQUEST_ID"] = request_id  # so Flask's answer and this log line match
                return None
        if answer is None:
            return None
        status, payload, content_type, user_ref = answer
        log_access("POST", path, status, request_id=request_id, user_ref=user_ref, started=started,
                   remote_addr=environ.get("REMOTE_ADDR"))
        return status, payload, content_type, request_id, extra

    def _bid(self, conn: sa.Connection, tx: sa.Transaction, token: str, key: str, ref: str, amount: int,
             digest: str, caller: dict[str, str]) -> tuple[int, bytes, str, str] | None:
        clock = self.app.extensions["exchange.clock"]
        row = conn.execute(_caller_query(), {"digest": token_digest(token), "idem_key": key, "ref": ref}).first()
        # No row: an unknown token, or an unknown auction; Flask tells which. A descending auction's
        # acceptance closes it, which takes the ORM: Flask's route does that.
        if (row is None or row.revoked_at is not None or not row.is_active or row.key_used
                or role_refusal(row.role, self.policy, "POST") is not None
                or row.format == AuctionFormat.DESCENDING):
            return None
        caller["ref"] = row.user_ref
        lookup, insert = statements()
        if (stamp_token_use(conn, row.token_id, row.last_used_at, clock.now())
                and conn.execute(lookup, {"user_row": row.user_id, "idem_key": key}).first() is not None):
            # The stamp waited for the token's row: a retry with this key may have committed meanwhile
            # (Flask looks the key up after the stamp, so it would replay; so does the hand-on).
            return None
        actor = Actor(row.user_id, row.party_id, row.role, f"{row.user_ref} {row.email}")
        try:
            placed = svc.bid_on(conn, actor, ref, amount, clock=clock, peeked=row)
        except DomainError as err:
            tx.rollback()  # frees the auction's row lock before the refusal is written out
            return err.status, problem_json(refusal_problem(err)), PROBLEM_CONTENT_TYPE, row.user_ref
        if placed.closes_auction:
            return None  # not reached (descending auctions were handed on above); rolled back if it were
        receipt = placed.receipt_json()
        conn.execute(insert, {
            "user_id": row.user_id, "key": key, "endpoint": ENDPOINT, "request_hash": digest, "status_code": 201,
            "response_body": receipt, "created_at": clock.now()})
        tx.commit()
        return 201, receipt.encode("utf-8"), "application/json", row.user_ref

    @staticmethod
    def _respond(start_response: StartResponse, status: int, payload: bytes, content_type: str,
                 request_id: str, extra: tuple[tuple[str, str], ...]) -> list[bytes]:
        headers = [("Content-Type", content_type), ("Content-Length", str(len(payload))), *extra,
                   ("X-Request-ID", request_id), *security_headers("").items()]
        start_response(_STATUS_LINES[status], headers)
        return [payload]


@functools.cache
def _caller_query() -> sa.Select:
    """One round trip for what the Flask route asks in three (``user_for_token``, ``@idempotent``'s
    lookup, the service's unlocked read of the auction): who holds the token, whether they used
    this Idempotency-Key before, and the auction with the caller's seat among its bidders."""
    records = IdempotencyRecord.__table__
    key_used = sa.exists().where(records.c.user_id == User.id, records.c.key == sa.bindparam("idem_key"))
    return token_principal_query(key_used.label("key_used"), *svc.peek_columns(),
                                 join=lambda holders: svc.peek_join(holders, User.party_id))


def _plain_amount(body: bytes) -> int | None:
    """The amount of a body that is exactly ``{"amount_fen": <integer>}``, else None."""
    if b"\\u0000" in body or b"\x00" in body:
        return None  # the NUL guard's refusal is Flask's to give
    try:
        data = json.loads(body.decode("utf-8"))  # strict UTF-8 text, as Flask parses it: a BOM is refused
    except ValueError:
        return None
    if type(data) is not dict or len(data) != 1:
        return None
    amount = data.get("amount_fen")
    if type(amount) is not int or not -_MAX_AMOUNT < amount < _MAX_AMOUNT:
        return None
    return amount


def install(app: Flask) -> None:
    """Put the lane in front of the app, unless the settings turn it off."""
    if app.config.get("BID_LANE", True):
        lane = BidLane(app, app.wsgi_app)
        app.wsgi_app = lane  # type: ignore[method-assign]
        app.extensions["exchange.bid_lane"] = lane

