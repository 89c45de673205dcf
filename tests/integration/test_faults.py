"""Faults: the database connection lost in the middle of a bid, a payment and a settlement.

A SQLAlchemy ``before_cursor_execute`` listener raises ``OperationalError`` (what the driver
raises when the server goes away) at a chosen statement of one request: the first write, a write
in the middle, the last write, or the commit itself. Whatever the point:

* the answer is a 503 problem (``database_unavailable``): the client is told to retry;
* nothing of the request is left: no bid, auction snapshot unchanged, no payment, no journal entry
  or posting, no idempotency record (so the key is still free);
* once the fault is gone, the same request with the same Idempotency-Key succeeds, exactly once,
  and a further retry replays the answer.

(The server process killed under load, with real connections, is ``bench/crash_bids.py`` and the
``slow`` test at the end of this file.)
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from exchange.models import AuditEvent, IdempotencyRecord
from tests.factories import auth, token_for
from tests.helpers import assert_problem, count_rows, listing_in_auction, ok

REPO = Path(__file__).resolve().parents[2]
HAS_SETTLEMENT = (REPO / "settlement" / "api.py").exists()
needs_settlement = pytest.mark.skipif(not HAS_SETTLEMENT, reason="the settlement package (settlement/api.py) is absent")


class ConnectionLost(Exception):
    """Stands for the driver's 'server closed the connection unexpectedly'."""


class Fault:
    """Raise OperationalError at the ``nth`` statement matching ``pattern`` (counted only once a
    statement matching ``after`` has run), while armed."""

    def __init__(self, engine: sa.Engine, pattern: str, nth: int = 1, after: str | None = None) -> None:
        self.engine, self.pattern, self.nth, self.after = engine, re.compile(pattern, re.I), nth, after
        self.armed, self.seen, self.fired, self.started = False, 0, 0, after is None
        self.statements: list[str] = []

    def _hook(self, conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if not self.armed:
            return
        self.statements.append(statement.split("(")[0][:50])
        if not self.started:
            self.started = bool(re.search(self.after, statement, re.I))  # type: ignore[arg-type]
            return
        if self.pattern.search(statement):
            self.seen += 1
            if self.seen == self.nth:
                self.fired += 1
                if statement.upper().startswith("RELEASE SAVEPOINT"):
                    # The request's commit (a savepoint release inside the test's transaction). A
                    # server whose connection is lost at COMMIT discards the transaction; so does
                    # this one, or the simulation would keep what the real server would not.
                    cursor.execute("ROLLBACK TO SAVEPOINT" + statement[len("RELEASE SAVEPOINT"):])
                raise sa.exc.OperationalError(statement, parameters, ConnectionLost("server closed the connection"))

    def __enter__(self) -> Fault:
        event.listen(self.engine, "before_cursor_execute", self._hook)
        self.armed = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.armed = False
        event.remove(self.engine, "before_cursor_execute", self._hook)


def _engine(app) -> sa.Engine:  # type: ignore[no-untyped-def]
    return app.extensions["exchange.db"].engine


def _unavailable(resp) -> None:  # type: ignore[no-untyped-def]
    body = assert_problem(resp, 503, "database_unavailable")
    assert "Traceback" not in resp.get_data(as_text=True) and "ConnectionLost" not in resp.get_data(as_text=True)
    assert resp.headers.get("Retry-After") and body["request_id"]
    assert resp.headers.get("X-Content-Type-Options") == "nosniff" and resp.headers.get("Content-Security-Policy")


# The bid path's writes, in order (bench/bids.py prints them): the bid, the auction snapshot, the
# idempotency record; then the commit.
BID_FAULTS = {
    "first write (INSERT bid)": ("INSERT INTO bids", 1, None),
    "middle write (UPDATE auction)": ("UPDATE auctions", 1, None),
    "last write (idempotency record)": ("INSERT INTO idempotency_records", 1, None),
    "the commit": ("RELEASE SAVEPOINT", 1, "INSERT INTO idempotency_records"),
}


@pytest.fixture()
def auction(client, session, clock):  # type: ignore[no-untyped-def]
    w = listing_in_auction(client, session, clock)
    clock.set(datetime.fromisoformat(w["auction"]["starts_at"]) + timedelta(minutes=1))
    ref = w["auction"]["ref"]
    ok(client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": 100_000_000},
                   headers=auth(w["t2"], **{"Idempotency-Key": "fault-first-bid"})), 201)
    return w


def _snapshot(client, session, ref: str) -> dict:  # type: ignore[no-untyped-def]
    from auctions.models import Bid

    session.expire_all()
    s = ok(client.get(f"/api/v1/auctions/{ref}"))
    return {"bids": count_rows(session, Bid), "bid_count": s["bid_count"], "price": s["current_price_fen"],
            "leader": s["leader_bidder_no"], "version": s["version"], "end": s["effective_end_at"],
            "idem": count_rows(session, IdempotencyRecord), "events": count_rows(session, AuditEvent)}


@pytest.mark.parametrize("where", list(BID_FAULTS))
def test_connection_lost_during_a_bid(app, client, session, auction, where):
    from auctions.models import Bid

    ref, token = auction["auction"]["ref"], auction["t1"]
    before = _snapshot(client, session, ref)
    key = f"fault-bid-{where[:20]}".replace(" ", "-")
    pattern, nth, after = BID_FAULTS[where]

    def bid():  # type: ignore[no-untyped-def]
        return client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": 101_000_000},
                           headers=auth(token, **{"Idempotency-Key": key}))

    with Fault(_engine(app), pattern, nth, after) as fault:
        r = bid()
    assert fault.fired == 1, f"the fault never fired; statements were {fault.statements}"
    _unavailable(r)
    assert _snapshot(client, session, ref) == before, "a lost connection left part of the bid behind"
    assert session.scalar(sa.select(IdempotencyRecord).where(IdempotencyRecord.key == key)) is None

    # The connection is back: the client retries with the same key, and the bid is placed once.
    receipt = ok(bid(), 201)
    assert receipt["amount_fen"] == 101_000_000 and receipt["seq"] == before["bid_count"] + 1
    again = bid()
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["seq"] == receipt["seq"]
    after = _snapshot(client, session, ref)
    assert after["bids"] == before["bids"] + 1 and after["bid_count"] == before["bid_count"] + 1
    assert after["price"] == 101_000_000 and after["idem"] == before["idem"] + 1
    from auctions.models import Auction

    auction_id = session.scalar(sa.select(Auction.id).where(Auction.ref == ref))
    assert session.scalar(sa.select(sa.func.count()).select_from(Bid).where(
        Bid.auction_id == auction_id, Bid.amount_fen == 101_000_000)) == 1


def test_a_lost_answer_is_recovered_by_the_retry(app, client, session, auction):
    """The bid was committed but the answer never reached the client: the retry with the same key
    answers the same receipt and places nothing."""
    ref, token = auction["auction"]["ref"], auction["t1"]
    headers = auth(token, **{"Idempotency-Key": "fault-lost-answer"})
    first = ok(client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": 101_000_000}, headers=headers), 201)
    before = _snapshot(client, session, ref)
    retry = client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": 101_000_000}, headers=headers)
    assert retry.status_code == 201 and retry.get_json() == first
    assert _snapshot(client, session, ref) == before


def test_connection_lost_while_reading_the_token(app, client, session, auction):
    """Even before the view: the sign-in lookup fails cleanly, and nothing is half-done."""
    ref = auction["auction"]["ref"]
    before = _snapshot(client, session, ref)
    with Fault(_engine(app), r"api_tokens\.token_hash =") as fault:
        r = client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": 101_000_000},
                        headers=auth(auction["t1"], **{"Idempotency-Key": "fault-token-lookup"}))
    assert fault.fired == 1
    _unavailable(r)
    assert _snapshot(client, session, ref) == before


# -- payments and settlement ---------------------------------------------------------------------------------
@pytest.fixture()
def deal(client, session, clock):  # type: ignore[no-untyped-def]
    """A deal in force whose price is still to be paid, and the operator keying in bank notifications."""
    from tests import settlement_world as sw

    w = sw.build(session, clock, buyers=2)
    d = sw.auction_deal(session, w)
    sw.in_force(session, w, d)
    session.commit()
    to = token_for(client, w.op)
    st = ok(client.get(f"/api/v1/settlement/deals/{d.ref}", headers=auth(to)))
    return {"w": w, "deal": d, "to": to, "outstanding": st["outstanding_fen"]}


def _ledger(client, session, token: str) -> dict:  # type: ignore[no-untyped-def]
    from settlement.models import BankNotification, Disbursement

    session.expire_all()
    names = {t for t in sa.inspect(session.get_bind()).get_table_names()}
    counts = {t: session.scalar(sa.text(f"SELECT count(*) FROM {t}")) for t in
              ("journal_entries", "postings", "deal_settlements", "payment_obligations") if t in names}
    counts["notifications"] = count_rows(session, BankNotification)
    counts["disbursements"] = count_rows(session, Disbursement)
    counts["idem"] = count_rows(session, IdempotencyRecord)
    counts["events"] = count_rows(session, AuditEvent)
    check = ok(client.get("/api/v1/settlement/ledger/verify", headers=auth(token)))
    assert check["ok"], check
    return counts


PAYMENT_FAULTS = {
    "first write (the notification)": ("INSERT INTO bank_notifications", 1, None),
    "between two journal entries": ("INSERT INTO journal_entries", 2, None),
    "in the middle of the ledger": ("INSERT INTO postings", 3, None),
    "the last write": ("INSERT INTO idempotency_records", 1, None),
    "the commit": ("RELEASE SAVEPOINT", 1, "INSERT INTO idempotency_records"),
}


@needs_settlement
@pytest.mark.parametrize("where", list(PAYMENT_FAULTS))
def test_connection_lost_during_a_payment(app, client, session, deal, where):
    to, d = deal["to"], deal["deal"]
    body = {"bank_reference": "BOC-FAULT-0001", "amount_fen": deal["outstanding"], "payer_name": "上海受让方科技有限公司",
            "purpose": "price", "purpose_ref": d.ref}
    key = {"Idempotency-Key": "fault-payment-0001"}
    before = _ledger(client, session, to)
    state = ok(client.get(f"/api/v1/settlement/deals/{d.ref}", headers=auth(to)))
    pattern, nth, after = PAYMENT_FAULTS[where]
    with Fault(_engine(app), pattern, nth, after) as fault:
        r = client.post("/api/v1/settlement/bank-notifications", json=body, headers=auth(to, **key))
    assert fault.fired == 1, f"the fault never fired; statements were {fault.statements}"
    _unavailable(r)
    assert _ledger(client, session, to) == before, "a lost connection left part of the payment behind"
    assert ok(client.get(f"/api/v1/settlement/deals/{d.ref}", headers=auth(to))) == state

    paid = ok(client.post("/api/v1/settlement/bank-notifications", json=body, headers=auth(to, **key)), 201)
    assert paid["state"] == "matched"
    again = client.post("/api/v1/settlement/bank-notifications", json=body, headers=auth(to, **key))
    assert again.status_code in (200, 201) and again.get_json()["ref"] == paid["ref"]
    # The bank sends it again without our key: recognised by its reference, still once.
    assert client.post("/api/v1/settlement/bank-notifications", json=body, headers=auth(to)).get_json()["ref"] == \
        paid["ref"]
    after_ = _ledger(client, session, to)
    assert after_["notifications"] == before["notifications"] + 1
    assert after_["journal_entries"] > before["journal_entries"]
    st = ok(client.get(f"/api/v1/settlement/deals/{d.ref}", headers=auth(to)))
    assert st["state"] == "price_in" and st["outstanding_fen"] == 0, st


SETTLEMENT_FAULTS = {
    "between two journal entries": ("INSERT INTO journal_entries", 2, None),
    "the disbursement": ("INSERT INTO disbursements", 1, None),
    "the deal's completion": ("UPDATE deals", 1, None),
    "the commit": ("RELEASE SAVEPOINT", 1, "INSERT INTO idempotency_records"),
}


@needs_settlement
@pytest.mark.parametrize("where", list(SETTLEMENT_FAULTS))
def test_connection_lost_during_a_settlement(app, client, session, deal, where):
    to, d = deal["to"], deal["deal"]
    ok(client.post("/api/v1/settlement/bank-notifications", headers=auth(to), json={
        "bank_reference": "BOC-FAULT-0002", "amount_fen": deal["outstanding"], "payer_name": "上海受让方科技有限公司",
        "purpose": "price", "purpose_ref": d.ref}), 201)
    ok(client.post(f"/api/v1/settlement/deals/{d.ref}/transfer-confirmation", headers=auth(to), json={
        "evidence": "国家知识产权局专利权转移登记通知书", "document_sha256": hashlib.sha256(b"notice").hexdigest()}))
    before = _ledger(client, session, to)
    state = ok(client.get(f"/api/v1/settlement/deals/{d.ref}", headers=auth(to)))
    deal_state = ok(client.get(f"/api/v1/deals/{d.ref}", headers=auth(to)))["state"]
    key = {"Idempotency-Key": "fault-payout-0001"}
    pattern, nth, after = SETTLEMENT_FAULTS[where]
    with Fault(_engine(app), pattern, nth, after) as fault:
        r = client.post(f"/api/v1/settlement/deals/{d.ref}/payout", headers=auth(to, **key))
    assert fault.fired == 1, f"the fault never fired; statements were {fault.statements}"
    _unavailable(r)
    assert _ledger(client, session, to) == before, "a lost connection left part of the settlement behind"
    assert ok(client.get(f"/api/v1/settlement/deals/{d.ref}", headers=auth(to))) == state
    assert ok(client.get(f"/api/v1/deals/{d.ref}", headers=auth(to)))["state"] == deal_state

    out = ok(client.post(f"/api/v1/settlement/deals/{d.ref}/payout", headers=auth(to, **key)))
    assert out["state"] == "paid_out" and out["deal_state"] == "completed"
    again = client.post(f"/api/v1/settlement/deals/{d.ref}/payout", headers=auth(to, **key))
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    after_ = _ledger(client, session, to)
    assert after_["disbursements"] == before["disbursements"] + 1


def test_the_settlement_package_is_there():
    """The payment and settlement fault tests above must not be skipped silently."""
    assert HAS_SETTLEMENT, "settlement/api.py is missing: the payment and settlement fault tests were skipped"


# -- the server killed under load (PostgreSQL) -------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.postgres
def test_server_killed_under_load_keeps_every_acknowledged_bid(is_pg):
    """A short run of bench/crash_bids.py: gunicorn is SIGKILLed while bids pour in, restarted, and
    the database holds every acknowledged bid, and nothing else but the answers lost in flight."""
    if not is_pg:
        pytest.skip("needs PostgreSQL (a real server process and its own scratch database)")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cmd = [sys.executable, str(REPO / "bench" / "crash_bids.py"), "--quick",
           "--db-name", f"exchange_crash_{os.getpid()}"]  # its own database: runs side by side do not collide
    if os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"):
        server = os.environ["TEST_DATABASE_URL"].rsplit("/", 1)[0].replace("+psycopg2", "")
        cmd += ["--db-url", server]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    report = done.stdout[-4000:] + done.stderr[-2000:]
    assert done.returncode == 0, report
    assert "VERDICT: ok" in done.stdout, report


def test_a_file_written_in_a_transaction_lives_or_dies_with_its_commit(session, tmp_path):
    from exchange.db import remove_unless_committed

    def written(name: str) -> Path:
        p = tmp_path / name
        p.write_bytes(b"%PDF-1.4 evidence")
        remove_unless_committed(session, p)
        return p

    kept = written("kept.pdf")
    session.commit()
    assert kept.exists()
    dropped = written("dropped.pdf")
    session.rollback()
    assert not dropped.exists() and kept.exists()
    # A savepoint's commit decides nothing: the outer rollback still removes the file.
    session.execute(sa.text("SELECT 1"))
    with session.begin_nested():
        inner = written("inner.pdf")
    assert inner.exists()
    session.rollback()
    assert not inner.exists()
    # Closing a session with its transaction still open is a rollback too.
    left_open = written("left-open.pdf")
    session.execute(sa.text("SELECT 1"))
    session.close()
    assert not left_open.exists()
