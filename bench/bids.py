#!/usr/bin/env python
"""Bid throughput and latency over HTTP, side by side with the same SQL transaction and no web stack.

What it does, in one run:

1. **Setup.** Drops and creates the database ``exchange_bench`` on the local PostgreSQL,
   migrates it (``exchange.migrate.upgrade``), seeds the business calendar, and builds
   through the real services, with a ``FakeClock`` in the past (as ``auctions/demo.py``
   does): a seller, an operator, N bidder members (16, or more if more clients are
   asked for) with API tokens, one **hot auction** open now with every bidder
   qualified, and one **template auction** like it. Both listings allow the leader to
   raise (``leader_may_raise``), so every bidder may always bid, and have a 600-minute
   free-bidding period, so they stay open. The template is then cloned with
   ``INSERT ... SELECT`` (asset, listing, registrations, auction, bidders) to make the
   **1,000 auctions** scenario; a bid on a clone is placed through the service (and
   rolled back) to prove the clones are real auctions.
2. **The statements of one bid.** With the Flask test client and a
   ``before_cursor_execute`` listener, it places bids on one clone and records every
   statement the HTTP path sends for an accepted bid and for a refused one (printed).
   The raw baseline replays exactly these statement texts.
3. **HTTP.** Starts ``gunicorn 'exchange.app:create_app()'`` (production settings) on a
   free port, waits for ``/healthz``, and drives C client threads, each with its own
   keep-alive ``http.client.HTTPConnection``, bidding for ``--seconds`` after a short
   warm-up: each bid is the last known price plus 1-3 increments, with a fresh
   ``Idempotency-Key``. Prices are learnt from receipts (201) and refusals
   (``bid_too_low`` carries ``details.min_bid``).
4. **Raw.** The same scenario, same client logic and thread count, but each bid is
   the captured transaction run by a bare psycopg2 connection per thread, with the
   parameters the code names: one query for the token's holder, whether the
   idempotency key was used before and the auction read without a lock (the bid lane's;
   a bid already at or under the committed price is refused there and rolled back, as
   the service does), the locked ``SELECT ... FOR UPDATE OF auctions``, (the bid rules
   in a few lines of Python,) ``UPDATE`` auction, ``INSERT`` bid, ``INSERT``
   idempotency record, ``COMMIT``; a refusal under the lock rolls back.
5. **Integrity**, after every run: the bids stored equal the accepted bids reported,
   every auction's ``seq`` runs 1..bid_count without a gap, its price is the highest
   amount and its leader that bid's bidder, and there is one idempotency record per
   accepted bid.

Scenarios: ``hot`` (every client on one auction: the row lock serialises them) and
``1000`` (each bid on a random one of 1,000 auctions: almost no lock waits, CPU bound).
The table gives accepted bids/s, HTTP/raw ratio, and p50/p99 latency of accepted
bids (all attempts, refusals included, on the line below). Latency is measured by
the client: request sent to response read.

``--growth`` (separate, slower) measures the hot auction again with 10,000, 100,000
and 1,000,000 bids stored: historic bids are bulk-inserted (``INSERT ... SELECT
generate_series``) into the other auctions, with their counters updated so the
integrity checks still hold; after each step ``VACUUM (ANALYZE) bids`` and a
``CHECKPOINT`` run so the measurement does not pay for the load. 1,000,000 takes
about a minute to insert on a 2-core machine.

Usage (from the repository root)::

    .venv/bin/python bench/bids.py                      # 16 clients, 10 s per run
    .venv/bin/python bench/bids.py --clients 1,4,16 --seconds 20
    .venv/bin/python bench/bids.py --growth
    .venv/bin/python bench/bids.py --gunicorn "-w 2 -k gthread --threads 4"

Options: ``--db-url`` (server URL without database, default
``postgresql://postgres@127.0.0.1:5432``), ``--db-name`` (default ``exchange_bench``),
``--keep-db`` (do not drop it at the end). The benchmark reports; it never asserts a
target. It exits 1 only if a request failed (5xx, connection error) or the integrity
checks found a lost or doubled bid.

The load generator runs on the same machine as the server and the database, and
takes its share of the CPU in both the HTTP and the raw runs.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import http.client
import json
import math
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg2  # noqa: E402
import psycopg2.extensions  # noqa: E402

UTC = timezone.utc
PASSWORD = "Bench-pass-2026"
SECRET_KEY = "bench-secret-key-0123456789abcdef-not-for-production"
# As the README recommends for production on two cores: four processes of four threads, each with
# its own listening socket (SO_REUSEPORT) so that keep-alive connections spread over the workers
# instead of piling onto whichever accepted first.
DEFAULT_GUNICORN = "-w 4 -k gthread --threads 2 --reuse-port"
PRICE_YUAN = 1_000_000          # start price 100,000,000 fen
FREE_MINUTES = 600              # the auctions stay in their free period for the whole run
GROWTH_SIZES = (10_000, 100_000, 1_000_000)


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------- database
@dataclass
class Target:
    server_url: str   # postgresql://user@host:port
    name: str

    @property
    def dsn(self) -> str:
        return f"{self.server_url.rstrip('/')}/{self.name}"

    @property
    def sa_url(self) -> str:
        return self.dsn.replace("postgresql://", "postgresql+psycopg2://", 1)


def admin_exec(server_url: str, sql: str) -> None:
    conn = psycopg2.connect(f"{server_url.rstrip('/')}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def recreate_database(t: Target) -> None:
    admin_exec(t.server_url, f'DROP DATABASE IF EXISTS "{t.name}" WITH (FORCE)')
    admin_exec(t.server_url, f'CREATE DATABASE "{t.name}"')


def drop_database(t: Target) -> None:
    admin_exec(t.server_url, f'DROP DATABASE IF EXISTS "{t.name}" WITH (FORCE)')


def query(dsn: str, sql: str, params: Any = None) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


def execute(dsn: str, sql: str, params: Any = None, *, autocommit: bool = False) -> None:
    conn = psycopg2.connect(dsn)
    conn.autocommit = autocommit
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
        if not autocommit:
            conn.commit()
    finally:
        conn.close()


def machine() -> str:
    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPUs ({cpu or platform.machine()}), Python {platform.python_version()}, load average {load}"


# ----------------------------------------------------------------------------- setup
@dataclass
class World:
    hot_ref: str
    refs: list[str]                    # the 1,000 auctions (template + clones)
    tokens: list[str]                  # one per bidder, in bidder order
    start_price: int
    increment: int
    bidders: int


def make_app(t: Target):  # type: ignore[no-untyped-def]
    from exchange.app import create_app

    from config import EXAMPLE_ACCOUNTS

    return create_app("production", overrides={**EXAMPLE_ACCOUNTS, "DATABASE_URL": t.sa_url, "SECRET_KEY": SECRET_KEY,
                                               "LOG_LEVEL": "WARNING"})


def build_world(app, t: Target, n_bidders: int, n_auctions: int, upload_dir: str) -> World:  # type: ignore[no-untyped-def]
    """Members, tokens, the hot auction and the template auction, through the services; then the clones."""
    import sqlalchemy as sa

    from auctions import service as asvc
    from auctions.models import Auction
    from exchange.accounts import RegisterMember, create_staff_user, create_token, register_member
    from exchange.actors import Actor
    from exchange.auth import use_fast_hashing_for_tests
    from exchange.calendar_store import seed_bundled_years
    from exchange.clock import FakeClock
    from exchange.db import get_db
    from exchange.models import EntityType, PartyKind, Role
    from exchange.parties import complete_credit_code
    from listings import service as lsvc
    from listings.demo import make_confirmed_asset, publish

    use_fast_hashing_for_tests()  # 17+ argon2 hashes at full cost would only slow the setup down
    now = datetime.now(UTC)
    past = FakeClock(now - timedelta(days=40))
    db = get_db(app)
    rng = random.Random(2026)
    with app.app_context(), db.session_scope() as s:
        seed_bundled_years(s, clock=past)

        def member(n: int, name: str):  # type: ignore[no-untyped-def]
            return register_member(s, RegisterMember(
                email=f"{name}{n}@bench.example", password=PASSWORD, display_name=f"{name} {n}",
                party_kind=PartyKind.organisation, party_name=f"上海基准测试科技有限公司{n}",
                entity_type=EntityType.enterprise, id_code=complete_credit_code(f"91310104MA{9_000_000 + n:07d}")),
                clock=past)

        seller = member(0, "seller")
        op = create_staff_user(s, email="operator@bench.example", password=PASSWORD, display_name="operator",
                               role=Role.operator, actor=Actor.system("bench"), clock=past)
        bidders = [member(i, "bidder") for i in range(1, n_bidders + 1)]
        tokens = [create_token(s, u, "bench", clock=past)[1] for u in bidders]
        listings = []
        for title in ("热点竞价 一种高精度谐波减速器柔轮加工工艺", "模板竞价 一种工业机器人关节减速器"):
            asset = make_confirmed_asset(s, past, seller, op, title=title, field="advanced_manufacturing", rng=rng,
                                         folder=upload_dir)
            listing = publish(s, past, seller, op, asset, title=f"{title}专利转让", price_yuan=PRICE_YUAN,
                              free_minutes=FREE_MINUTES, countdown_seconds=300, leader_may_raise=True)
            for u in bidders:
                reg = lsvc.register_interest(s, Actor.of(u), listing.ref, "本单位符合全部受让条件。", clock=past)
                lsvc.mark_deposit_paid(s, Actor.of(op), reg.ref, clock=past)
                lsvc.decide_registration(s, Actor.of(op), reg.ref, qualify=True, reason="", clock=past)
            listings.append(listing)
        # Publicity has ended; the auctions open eight minutes ago.
        past.set(now - timedelta(minutes=10))
        auctions = []
        for listing in listings:
            lsvc.apply_due(s, lsvc.load_listing(s, listing.ref, for_update=True), past)
            a = s.scalar(sa.select(Auction).where(Auction.listing_id == listing.id))
            asvc.reschedule_auction(s, Actor.of(op), a.ref, asvc.Schedule(starts_at=now - timedelta(minutes=8)),
                                    clock=past)
            auctions.append(a)
        hot, template = auctions
        world = World(hot_ref=hot.ref, refs=[template.ref], tokens=tokens, start_price=hot.start_price_fen,
                      increment=hot.increment_fen, bidders=len(hot.bidders))
        assert world.bidders == n_bidders, "every bidder is qualified in the hot auction"
    world.refs += clone_auction(t, world.refs[0], n_auctions - 1)
    check_clone_accepts_a_bid(app, world)
    return world


def _columns(cur, table: str) -> list[str]:  # type: ignore[no-untyped-def]
    cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s AND column_name <> 'id' ORDER BY ordinal_position", (table,))
    return [r[0] for r in cur.fetchall()]


def _insert_select(cur, table: str, overrides: dict[str, str], source: str) -> None:  # type: ignore[no-untyped-def]
    """INSERT INTO table (every column but id) SELECT t.<col> or its override FROM <source>."""
    cols = _columns(cur, table)
    unknown = set(overrides) - set(cols)
    assert not unknown, f"{table} has no columns {unknown}"
    exprs = [overrides.get(c, f"t.{c}") for c in cols]
    cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(exprs)} FROM {source}")


def clone_auction(t: Target, template_ref: str, n: int) -> list[str]:
    """n copies of an auction that has no bid yet, with their assets, listings, registrations and bidders.

    Plain SQL (INSERT ... SELECT over generate_series), with reference numbers taken
    from the counters so the services keep numbering after them. Audit events are not
    copied: the clones are scenery for the benchmark, not history.
    """
    from listings.domain import patent_check_character

    if n <= 0:
        return []
    conn = psycopg2.connect(t.dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SELECT a.id, a.listing_id, l.asset_id, a.bid_count FROM auctions a "
                        "JOIN listings l ON l.id = a.listing_id WHERE a.ref = %s", (template_ref,))
            aid, lid, asset_id, bids = cur.fetchone()
            assert bids == 0, "clone an auction before anyone bids"
            cur.execute("SELECT count(*) FROM buyer_registrations WHERE listing_id = %s", (lid,))
            n_regs = cur.fetchone()[0]
            year = datetime.now(UTC).year
            base = {}
            for prefix, used in (("A", n), ("L", n), ("R", n * n_regs), ("AU", n)):
                # Take a block of numbers from the counter, as next_reference would one by one.
                cur.execute("UPDATE reference_counters SET last_value = last_value + %s WHERE prefix = %s AND year = %s "
                            "RETURNING last_value - %s", (used, prefix, year, used))
                base[prefix] = cur.fetchone()[0]
            serials = random.Random(7).sample(range(10**6, 10**7), n)
            numbers = []
            for s in serials:
                body = f"2018{1}{s:07d}"
                numbers.append(f"{body}.{patent_check_character(body)}")
            cur.execute("CREATE TEMP TABLE clone_map (i int PRIMARY KEY, asset_ref text, number text, "
                        "listing_ref text, auction_ref text) ON COMMIT DROP")
            cur.execute(
                "INSERT INTO clone_map SELECT g, "
                "  format('A%%s-%%s', %(y)s, lpad((%(a)s + g)::text, 6, '0')), (%(numbers)s::text[])[g], "
                "  format('L%%s-%%s', %(y)s, lpad((%(l)s + g)::text, 6, '0')), "
                "  format('AU%%s-%%s', %(y)s, lpad((%(au)s + g)::text, 6, '0')) "
                "FROM generate_series(1, %(n)s) AS g",
                {"y": year, "a": base["A"], "l": base["L"], "au": base["AU"], "numbers": numbers, "n": n})
            _insert_select(cur, "assets", {"ref": "m.asset_ref", "number": "m.number"},
                           f"assets t CROSS JOIN clone_map m WHERE t.id = {int(asset_id)}")
            _insert_select(cur, "listings", {"ref": "m.listing_ref", "asset_id": "x.id"},
                           f"listings t CROSS JOIN clone_map m JOIN assets x ON x.ref = m.asset_ref "
                           f"WHERE t.id = {int(lid)}")
            _insert_select(cur, "buyer_registrations",
                           {"ref": f"format('R%s-%s', {year}, lpad(({base['R']} + (m.i - 1) * {n_regs} + t.k)::text, 6, '0'))",
                            "listing_id": "x.id"},
                           f"(SELECT *, row_number() OVER (ORDER BY id) AS k FROM buyer_registrations "
                           f" WHERE listing_id = {int(lid)}) t CROSS JOIN clone_map m "
                           f"JOIN listings x ON x.ref = m.listing_ref")
            _insert_select(cur, "auctions", {"ref": "m.auction_ref", "listing_id": "x.id"},
                           f"auctions t CROSS JOIN clone_map m JOIN listings x ON x.ref = m.listing_ref "
                           f"WHERE t.id = {int(aid)}")
            _insert_select(cur, "auction_bidders", {"auction_id": "x.id", "registration_id": "r.id"},
                           f"auction_bidders t CROSS JOIN clone_map m JOIN auctions x ON x.ref = m.auction_ref "
                           f"JOIN listings l ON l.ref = m.listing_ref "
                           f"JOIN buyer_registrations r ON r.listing_id = l.id AND r.buyer_party_id = t.party_id "
                           f"WHERE t.auction_id = {int(aid)}")
            cur.execute("SELECT auction_ref FROM clone_map ORDER BY i")
            refs = [r[0] for r in cur.fetchall()]
            cur.execute("SELECT count(*) FROM auction_bidders b JOIN clone_map m ON true JOIN auctions a "
                        "ON a.ref = m.auction_ref AND b.auction_id = a.id")
            assert cur.fetchone()[0] == n * n_regs
        execute(t.dsn, "ANALYZE", autocommit=True)
        return refs
    finally:
        conn.close()


def check_clone_accepts_a_bid(app, world: World) -> None:  # type: ignore[no-untyped-def]
    """A bid on the last clone through the service, rolled back: the clones are real auctions."""
    import sqlalchemy as sa

    from auctions import service as asvc
    from exchange.actors import Actor
    from exchange.auth import user_for_token
    from exchange.clock import SystemClock
    from exchange.db import get_db

    db = get_db(app)
    s = db.sessionmaker()
    try:
        user = user_for_token(s, world.tokens[0], SystemClock())
        bid = asvc.place_bid(s, Actor.of(user), world.refs[-1], world.start_price, clock=SystemClock())
        assert bid.seq == 1 and bid.amount_fen == world.start_price
        n = s.scalar(sa.text("SELECT count(*) FROM bids"))
        assert n == 1
    finally:
        s.rollback()
        s.close()


# ----------------------------------------------------------------------------- capture
@dataclass
class Captured:
    accepted: list[tuple[str, dict]]     # statement text and the parameters of one accepted bid
    refused: list[tuple[str, dict]]
    ping: bool                           # the pool checked the connection first (pool_pre_ping)


def capture_statements(app, world: World) -> Captured:  # type: ignore[no-untyped-def]
    """Place bids with the Flask test client and record every statement the HTTP path sends."""
    from sqlalchemy import event

    from exchange.db import get_db

    engine = get_db(app).engine
    rec: list[tuple[str, Any]] = []
    pings = []

    def on_exec(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        rec.append((statement, dict(parameters) if isinstance(parameters, dict) else parameters))

    def on_commit(conn):  # type: ignore[no-untyped-def]
        rec.append(("COMMIT", {}))

    def on_rollback(conn):  # type: ignore[no-untyped-def]
        rec.append(("ROLLBACK", {}))

    orig_ping = engine.dialect.do_ping

    def do_ping(dbapi_conn):  # type: ignore[no-untyped-def]
        pings.append(1)
        return orig_ping(dbapi_conn)

    client = app.test_client()
    ref = world.refs[-1]
    headers = {"Authorization": f"Bearer {world.tokens[0]}"}

    def bid(amount: int) -> tuple[int, dict]:
        r = client.post(f"/api/v1/auctions/{ref}/bids", json={"amount_fen": amount},
                        headers={**headers, "Idempotency-Key": uuid.uuid4().hex})
        return r.status_code, r.get_json()

    # Warm up: the first call of a token writes last_used_at (once a minute at most), the
    # first bid on an auction moves it from scheduled to open. Neither is the steady state.
    st, body = bid(world.start_price)
    assert st == 201, body
    st, body = bid(world.start_price + world.increment)
    assert st == 201, body
    event.listen(engine, "before_cursor_execute", on_exec)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    engine.dialect.do_ping = do_ping
    try:
        st, body = bid(body["auction"]["current_price_fen"] + world.increment)
        assert st == 201, body
        accepted, rec[:] = list(rec), []
        st, body = bid(world.start_price)
        assert st == 422 and body["code"] == "bid_too_low", (st, body)
        refused = list(rec)
    finally:
        event.remove(engine, "before_cursor_execute", on_exec)
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)
        engine.dialect.do_ping = orig_ping
    return Captured(accepted=accepted, refused=refused, ping=bool(pings))


def show_statements(cap: Captured) -> None:
    def short(sql: str) -> str:
        sql = " ".join(sql.split())
        return sql if len(sql) <= 220 else sql[:150] + " ... " + sql[-60:]

    log("Statements of one accepted bid on the HTTP path (captured with a before_cursor_execute listener):")
    if cap.ping:
        log("   0. SELECT 1 -- pool_pre_ping on checkout, before the transaction; not replayed by the raw loop")
    for i, (sql, params) in enumerate(cap.accepted, 1):
        log(f"  {i:2}. {short(sql)}")
        if params:
            log(f"      params: {sorted(params)}")
    log("Statements of one refused bid (bid_too_low):")
    for i, (sql, _params) in enumerate(cap.refused, 1):
        log(f"  {i:2}. {short(sql)}")


# ----------------------------------------------------------------------------- raw replay
#: The parameters each statement of the bid path takes, by the names the code gives them
#: (auctions.service.bidding, exchange.auth, exchange.idempotency). The raw loop fills them in.
EXPECTED_PARAMS = {
    "caller": {"digest", "idem_key", "ref"},
    "peek": {"party_id", "ref"},
    "lock": {"party_id", "ref"},
    "update_auction": {"auction_row", "new_state", "new_price", "new_leader", "new_count", "new_last_bid_at",
                       "new_end"},
    "insert_bid": {"auction_id", "bidder_id", "bidder_no", "amount_fen", "placed_at", "seq", "sealed"},
    "insert_idem": {"user_id", "key", "endpoint", "request_hash", "status_code", "response_body", "created_at"},
}


def statement_kind(sql: str) -> str:
    flat = " ".join(sql.split())
    if sql in ("COMMIT", "ROLLBACK"):
        return sql.lower()
    if flat.startswith("SELECT") and "api_tokens.token_hash =" in flat:
        # The bid lane asks who holds the token, whether the key was used before, and reads the auction
        # with the caller's seat, in one query.
        return "caller" if "FROM idempotency_records" in flat and "JOIN auctions" in flat else "token"
    if flat.startswith("SELECT") and "FROM idempotency_records" in flat:
        return "idem_lookup"
    if flat.startswith("SELECT auctions.id") and "FOR UPDATE" in flat:
        return "lock"
    if flat.startswith("SELECT auctions.id"):
        return "peek"
    if flat.startswith("UPDATE auctions SET"):
        return "update_auction"
    if flat.startswith("INSERT INTO bids"):
        return "insert_bid"
    if flat.startswith("INSERT INTO idempotency_records"):
        return "insert_idem"
    return "other"


class Replay:
    """The captured statements of one bid, checked to be replayable by parameter name."""

    def __init__(self, cap: Captured) -> None:
        self.accepted = [(statement_kind(sql), sql) for sql, _ in cap.accepted]
        kinds = [k for k, _ in self.accepted]
        want = ["caller", "lock", "update_auction", "insert_bid", "insert_idem", "commit"]
        if kinds != want:
            raise SystemExit(f"the bid path changed: its statements are {kinds}, the raw loop replays {want}; "
                             f"update bench/bids.py")
        refused = [statement_kind(sql) for sql, _ in cap.refused]
        if refused != ["caller", "rollback"]:
            raise SystemExit(f"unexpected statements for a refused bid: {refused}")
        for (kind, _), (_, params) in zip(self.accepted, cap.accepted):
            if kind in EXPECTED_PARAMS and set(params or {}) != EXPECTED_PARAMS[kind]:
                raise SystemExit(f"the {kind} statement takes {sorted(params or {})}; the raw loop fills in "
                                 f"{sorted(EXPECTED_PARAMS[kind])}: update bench/bids.py")
        self.sql = dict(self.accepted)


class RawBidder:
    """One client thread's psycopg2 connection, running the captured transaction of a bid."""

    def __init__(self, dsn: str, token: str, replay: Replay) -> None:
        self.conn = psycopg2.connect(dsn)
        self.cur = self.conn.cursor()
        self.sql = replay.sql
        self.digest = hashlib.sha256(token.encode()).hexdigest()
        self.cols: dict[str, dict[str, int]] = {}

    def _run(self, kind: str, values: dict) -> tuple | None:
        self.cur.execute(self.sql[kind], values)
        if self.cur.description is None:
            return None
        if kind not in self.cols:  # first column of a name wins, as with SQLAlchemy's row keys
            self.cols[kind] = {d.name: i for i, d in reversed(list(enumerate(self.cur.description)))}
        return self.cur.fetchone()

    @staticmethod
    def _rules(c: dict[str, int], row: tuple, amount: int, now: datetime) -> str | None:
        """The ascending rules, in the order auctions.domain.validate_ascending_bid applies them."""
        current, inc, start = row[c["current_price_fen"]], row[c["increment_fen"]], row[c["start_price_fen"]]
        if row[c["bidder_id"]] is None or row[c["bidder_defaulted"]]:
            return "not_qualified"
        if row[c["state"]] not in ("scheduled", "open") or now >= row[c["effective_end_at"]]:
            return "auction_closed"
        if now < row[c["starts_at"]]:
            return "auction_not_open"
        if current is not None and row[c["bidder_bidder_no"]] == row[c["leader_bidder_no"]] \
                and not row[c["leader_may_raise"]]:
            return "already_leading"
        if (amount < start) if current is None else (amount <= current):
            return "bid_too_low"
        if (amount - (start if current is None else current)) % inc:
            return "not_increment_multiple"
        return None

    def bid(self, ref: str, amount: int) -> tuple[str, int | None, str | None]:
        key = uuid.uuid4().hex
        path = f"/api/v1/auctions/{ref}/bids"
        body = json.dumps({"amount_fen": amount}).encode()
        try:
            row = self._run("caller", {"digest": self.digest, "idem_key": key, "ref": ref})
            c = self.cols["caller"]
            assert row is not None and row[c["revoked_at"]] is None and row[c["is_active"]]
            assert not row[c["key_used"]], "keys are unique"
            user_id, party_id = row[c["user_id"]], row[c["party_id"]]
            # A bid already too low against the committed row is refused before the lock, as the
            # service does; anything else is decided on the locked row.
            refusal = self._rules(c, row, amount, datetime.now(UTC))
            if refusal == "bid_too_low":
                self.conn.rollback()
                return "refused", row[c["current_price_fen"]], refusal
            row = self._run("lock", {"party_id": party_id or -1, "ref": ref})
            c = self.cols["lock"]
            now = datetime.now(UTC)
            refusal = self._rules(c, row, amount, now)
            if refusal:
                self.conn.rollback()
                return "refused", row[c["current_price_fen"]], refusal
            inc, end = row[c["increment_fen"]], row[c["effective_end_at"]]
            bidder_id, bidder_no = row[c["bidder_id"]], row[c["bidder_bidder_no"]]
            seq = row[c["bid_count"]] + 1
            receipt = {"seq": seq, "bidder_no": bidder_no, "amount_fen": amount, "placed_at": now.isoformat(),
                       "auction": {"ref": ref, "state": "open", "bid_count": seq, "server_time": now.isoformat(),
                                   "current_price_fen": amount, "leader_bidder_no": bidder_no, "you_lead": True,
                                   "effective_end_at": end.isoformat(), "min_next_bid_fen": amount + inc,
                                   "version": f"{seq}:open:{end.isoformat()}"}}
            self._run("update_auction", {"auction_row": row[c["id"]], "new_state": "open", "new_price": amount,
                                         "new_leader": bidder_no, "new_count": seq, "new_last_bid_at": now,
                                         "new_end": end})
            self._run("insert_bid", {"auction_id": row[c["id"]], "bidder_id": bidder_id, "bidder_no": bidder_no,
                                     "amount_fen": amount, "placed_at": now, "seq": seq, "sealed": False})
            self._run("insert_idem", {
                "user_id": user_id, "key": key, "endpoint": "auctions_api.place_bid",
                "request_hash": hashlib.sha256(b"POST" + path.encode() + b"\0" + body).hexdigest(),
                "status_code": 201, "response_body": json.dumps(receipt, ensure_ascii=False, separators=(",", ":")),
                "created_at": now})
            self.conn.commit()
            return "ok", amount, None
        except psycopg2.Error as exc:
            with contextlib.suppress(psycopg2.Error):
                self.conn.rollback()
            return "error", None, f"{type(exc).__name__}: {str(exc).strip()[:200]}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


# ----------------------------------------------------------------------------- HTTP client
class HttpBidder:
    """One client thread's keep-alive connection to gunicorn."""

    def __init__(self, port: int, token: str, increment: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                        "Accept": "application/json"}
        self.increment = increment

    def _reset(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()
        self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)

    def _call(self, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, bytes]:
        self.conn.request(method, path, body, headers)
        r = self.conn.getresponse()
        return r.status, r.read()

    def current_price(self, ref: str) -> int | None:
        with contextlib.suppress(Exception):
            st, data = self._call("GET", f"/api/v1/auctions/{ref}", None, {"Accept": "application/json"})
            if st == 200:
                return json.loads(data)["current_price_fen"]
        return None

    def bid(self, ref: str, amount: int) -> tuple[str, int | None, str | None]:
        body = json.dumps({"amount_fen": amount}).encode()
        try:
            st, data = self._call("POST", f"/api/v1/auctions/{ref}/bids", body,
                                  {**self.headers, "Idempotency-Key": uuid.uuid4().hex})
        except (http.client.HTTPException, OSError) as exc:
            self._reset()
            return "error", None, f"{type(exc).__name__}: {exc}"
        if st == 201:
            return "ok", json.loads(data)["auction"]["current_price_fen"], None
        if 400 <= st < 500:
            try:
                p = json.loads(data)
            except ValueError:
                return "refused", None, f"http_{st}"
            code, det = p.get("code") or f"http_{st}", p.get("details") or {}
            if "current_price" in det:
                price = det["current_price"]
            elif code == "bid_too_low" and "min_bid" in det:
                price = det["min_bid"] - self.increment
            elif code == "not_increment_multiple" and "base" in det:
                price = det["base"]
            else:
                price = self.current_price(ref)
            return "refused", price, code
        return "error", None, f"HTTP {st}: {data[:200]!r}"

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close()


# ----------------------------------------------------------------------------- load
@dataclass
class Result:
    scenario: str
    mode: str            # "http" or "raw"
    clients: int
    seconds: float = 0.0
    accepted: int = 0    # in the measured window
    refused: int = 0
    errors: int = 0
    accepted_total: int = 0   # warm-up included: what the integrity check compares with
    lat_ok: list[float] = field(default_factory=list)
    lat_all: list[float] = field(default_factory=list)
    codes: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)   # CPU seconds per second in the window, by process group

    @property
    def accepted_per_s(self) -> float:
        return self.accepted / self.seconds if self.seconds else 0.0

    @property
    def attempts_per_s(self) -> float:
        return (self.accepted + self.refused + self.errors) / self.seconds if self.seconds else 0.0


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile, in milliseconds."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))] * 1000


def cpu_seconds(web_pgid: int | None) -> dict[str, float]:
    """CPU time (user + system) used so far by the database server, the web server and this process.

    Read from /proc (Linux): PostgreSQL's processes by name, the web server by its process group
    (gunicorn runs in a session of its own), the load generator as this process. Elsewhere: empty.
    """
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    out = {"db": 0.0, "web": 0.0, "client": 0.0}
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        used = (int(fields[11]) + int(fields[12])) / tick     # utime + stime
        if int(pid) == os.getpid():
            out["client"] += used
        elif web_pgid is not None and int(fields[2]) == web_pgid:
            out["web"] += used
        elif name.startswith("postgres"):
            out["db"] += used
    return out


def drive(scenario: str, mode: str, make_bidder: Callable[[int], Any], clients: int, refs: list[str],
          seconds: float, warmup: float, world: World, knowledge: dict[str, int | None],
          web_pgid: int | None = None) -> Result:
    """C threads bid as fast as they can: warm-up first (not measured), then ``seconds`` measured.
    The CPU each side uses is read at the start and the end of the measured window."""
    res = Result(scenario, mode, clients)
    lock = threading.Lock()
    inc, start = world.increment, world.start_price
    bidders = [make_bidder(i) for i in range(clients)]
    barrier = threading.Barrier(clients + 1)
    times: dict[str, float] = {}

    def run(i: int) -> None:
        b = bidders[i]
        rng = random.Random(1000 + i)
        ok_lat: list[float] = []
        all_lat: list[float] = []
        codes: Counter = Counter()
        errs: list[str] = []
        acc = ref_n = err_n = acc_total = 0
        barrier.wait()
        warm_end, end = times["warm_end"], times["end"]
        while True:
            t0 = time.perf_counter()
            if t0 >= end:
                break
            ref = refs[0] if len(refs) == 1 else rng.choice(refs)
            known = knowledge.get(ref)
            amount = (start - inc if known is None else known) + inc * rng.randint(1, 3)
            outcome, price, code = b.bid(ref, amount)
            dt = time.perf_counter() - t0
            if price is not None and (knowledge.get(ref) is None or price > knowledge[ref]):
                with lock:
                    if knowledge.get(ref) is None or price > knowledge[ref]:
                        knowledge[ref] = price
            if outcome == "ok":
                acc_total += 1
            measured = t0 >= warm_end
            if outcome == "error":
                err_n += 1
                if len(errs) < 5:
                    errs.append(code or "?")
                time.sleep(0.01)
            if not measured:
                continue
            all_lat.append(dt)
            if outcome == "ok":
                acc += 1
                ok_lat.append(dt)
            elif outcome == "refused":
                ref_n += 1
                codes[code] += 1
        with lock:
            res.accepted += acc
            res.refused += ref_n
            res.errors += err_n
            res.accepted_total += acc_total
            res.lat_ok += ok_lat
            res.lat_all += all_lat
            res.codes.update(codes)
            res.error_samples += errs

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    now = time.perf_counter()
    times["warm_end"] = now + warmup
    times["end"] = now + warmup + seconds
    barrier.wait()
    time.sleep(max(0.0, times["warm_end"] - time.perf_counter()))
    cpu0 = cpu_seconds(web_pgid)
    time.sleep(max(0.0, times["end"] - time.perf_counter()))
    cpu1 = cpu_seconds(web_pgid)
    for t in threads:
        t.join()
    res.seconds = seconds
    res.cpu = {k: (cpu1[k] - cpu0[k]) / seconds for k in cpu1}
    for b in bidders:
        b.close()
    return res


# ----------------------------------------------------------------------------- gunicorn
FLOOR_PATHS = (("404 problem, no database", "/api/v1/no-such-route"), ("/healthz, one SELECT 1", "/healthz"))


def web_floor(port: int, web_pgid: int, clients: int, seconds: float) -> list[tuple[str, float, dict[str, float]]]:
    """What the web tier costs before any bid logic: the same gunicorn, the same clients, asking
    for a 404 answer (routing, hooks, error rendering) and for /healthz (one statement through
    the session). Returns (label, requests/s, CPU ms per request by side)."""
    out = []
    for label, path in FLOOR_PATHS:
        stop = threading.Event()
        done = [0] * clients
        failed = [0] * clients

        def run(i: int, path: str = path) -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            while not stop.is_set():
                try:
                    conn.request("GET", path, headers={"Accept": "application/json"})
                    conn.getresponse().read()
                    done[i] += 1
                except (http.client.HTTPException, OSError):
                    failed[i] += 1
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.close()

        threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
        for th in threads:
            th.start()
        time.sleep(1.0)  # warm-up
        c0, n0, t0 = cpu_seconds(web_pgid), sum(done), time.perf_counter()
        time.sleep(seconds)
        c1, n1, t1 = cpu_seconds(web_pgid), sum(done), time.perf_counter()
        stop.set()
        for th in threads:
            th.join()
        n = max(1, n1 - n0)
        if sum(failed):
            log(f"  WARNING: {sum(failed)} failed requests during the floor run of {path}")
        out.append((label, n / (t1 - t0), {k: (c1[k] - c0[k]) / n * 1000 for k in c1}))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, t: Target, spec: str, logfile: Path) -> None:
        self.port = free_port()
        self.spec = spec
        self.logfile = logfile
        from config import EXAMPLE_ACCOUNTS

        env = {**os.environ, **{f"EXCHANGE_{k}": json.dumps(v) for k, v in EXAMPLE_ACCOUNTS.items()},
               "EXCHANGE_ENV": "production", "DATABASE_URL": t.sa_url, "SECRET_KEY": SECRET_KEY,
               "EXCHANGE_LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO)}
        import shlex

        self.cmd = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", *shlex.split(spec),
                    "--log-level", "warning", "exchange.app:create_app()"]
        self.log = logfile.open("wb")
        self.proc = subprocess.Popen(self.cmd, cwd=str(REPO), env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                     start_new_session=True)

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.tail()}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                c.request("GET", "/healthz")
                r = c.getresponse()
                r.read()
                c.close()
                if r.status == 200:
                    return
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz in {timeout}s:\n{self.tail()}")

    def tail(self, n: int = 30) -> str:
        if not self.log.closed:
            self.log.flush()
        with contextlib.suppress(OSError):
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        self.log.close()


# ----------------------------------------------------------------------------- integrity
def counts(dsn: str) -> tuple[int, int]:
    (row,) = query(dsn, "SELECT (SELECT count(*) FROM bids), (SELECT count(*) FROM idempotency_records)")
    return row[0], row[1]


def check_integrity(dsn: str, before: tuple[int, int], reported: int) -> list[str]:
    """Problems found: lost or doubled bids, gaps in seq, a price that is not the highest bid."""
    problems = []
    bids, idem = counts(dsn)
    if bids - before[0] != reported:
        problems.append(f"{bids - before[0]} bids stored but {reported} accepted answers "
                        f"({'lost' if bids - before[0] < reported else 'doubled'} bids)")
    if idem - before[1] != reported:
        problems.append(f"{idem - before[1]} idempotency records for {reported} accepted bids")
    bad = query(dsn, """
        WITH b AS (SELECT auction_id, count(*) AS n, count(DISTINCT seq) AS ds, min(seq) AS lo, max(seq) AS hi,
                          max(amount_fen) AS top FROM bids GROUP BY auction_id),
             lead AS (SELECT DISTINCT ON (auction_id) auction_id, bidder_no FROM bids
                      ORDER BY auction_id, amount_fen DESC, seq DESC)
        SELECT a.ref, a.bid_count, a.current_price_fen, a.leader_bidder_no, b.n, b.ds, b.lo, b.hi, b.top,
               lead.bidder_no
        FROM auctions a LEFT JOIN b ON b.auction_id = a.id LEFT JOIN lead ON lead.auction_id = a.id
        WHERE coalesce(b.n, 0) <> a.bid_count
           OR (b.n > 0 AND (b.ds <> b.n OR b.lo <> 1 OR b.hi <> b.n OR b.top <> a.current_price_fen
                            OR lead.bidder_no <> a.leader_bidder_no))
        LIMIT 5""")
    for r in bad:
        problems.append(f"auction {r[0]}: bid_count={r[1]} price={r[2]} leader={r[3]} | bids={r[4]} distinct seq={r[5]} "
                        f"seq {r[6]}..{r[7]} highest={r[8]} by {r[9]}")
    (desc,) = query(dsn, """
        SELECT count(*) FROM (SELECT amount_fen, lag(amount_fen) OVER (PARTITION BY auction_id ORDER BY seq) AS prev
                              FROM bids WHERE NOT sealed) x WHERE prev IS NOT NULL AND amount_fen <= prev""")
    if desc[0]:
        problems.append(f"{desc[0]} bids are not above the bid before them")
    return problems


# ----------------------------------------------------------------------------- growth
def grow_bids(t: Target, world: World, target: int) -> int:
    """Bulk-insert historic bids into the 1,000 auctions (never the hot one) until ``target`` are stored.

    Each auction gets its share as a continuation of its own bidding (seq and price carry on,
    bidders take turns), and its counters are moved on with it, so the integrity checks hold.
    """
    (now_stored,) = query(t.dsn, "SELECT count(*) FROM bids")[0]
    missing = target - now_stored
    if missing <= 0:
        return now_stored
    conn = psycopg2.connect(t.dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("""
                CREATE TEMP TABLE grow ON COMMIT DROP AS
                SELECT a.id, a.bid_count AS seq0,
                       coalesce(a.current_price_fen, a.start_price_fen - a.increment_fen) AS price0, a.increment_fen,
                       (%(missing)s / %(n)s) + CASE WHEN row_number() OVER (ORDER BY a.id) <= %(missing)s %% %(n)s
                                                    THEN 1 ELSE 0 END AS add,
                       (SELECT array_agg(b.id ORDER BY b.id) FROM auction_bidders b WHERE b.auction_id = a.id) AS ids,
                       (SELECT array_agg(b.bidder_no ORDER BY b.id) FROM auction_bidders b
                         WHERE b.auction_id = a.id) AS nos
                FROM auctions a WHERE a.ref = ANY(%(refs)s)""",
                        {"missing": missing, "n": len(world.refs), "refs": world.refs})
            # Historic: placed over the last few minutes, before the run, so no countdown is affected.
            cur.execute("""
                INSERT INTO bids (auction_id, bidder_id, bidder_no, amount_fen, placed_at, seq, sealed)
                SELECT g.id, g.ids[1 + (s % cardinality(g.ids))], g.nos[1 + (s % cardinality(g.ids))],
                       g.price0 + g.increment_fen * s, now() - interval '5 minutes' + s * interval '1 millisecond',
                       g.seq0 + s, false
                FROM grow g CROSS JOIN LATERAL generate_series(1, g.add) AS s
                WHERE g.add > 0""")
            cur.execute("""
                UPDATE auctions a SET bid_count = g.seq0 + g.add, current_price_fen = g.price0 + g.increment_fen * g.add,
                       leader_bidder_no = g.nos[1 + (g.add % cardinality(g.ids))],
                       last_bid_at = now() - interval '5 minutes' + g.add * interval '1 millisecond',
                       state = 'open'
                FROM grow g WHERE a.id = g.id AND g.add > 0""")
    finally:
        conn.close()
    execute(t.dsn, "VACUUM (ANALYZE) bids", autocommit=True)
    execute(t.dsn, "CHECKPOINT", autocommit=True)
    # The checkpoint leaves the kernel writing a few hundred MB back to disk; let that finish too,
    # or the next measurement (HTTP, which comes first) pays for it.
    os.sync()
    time.sleep(3)
    return query(t.dsn, "SELECT count(*) FROM bids")[0][0]


# ----------------------------------------------------------------------------- report
def fmt_row(cells: list[str], widths: list[int]) -> str:
    return " | ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    out = [fmt_row(headers, widths), "-+-".join("-" * w for w in widths)]
    out += [fmt_row(r, widths) for r in rows]
    return "\n".join(out)


def cpu_per_attempt(r: Result) -> str:
    """CPU milliseconds per bid attempt, by side (web server, database, load generator)."""
    if not r.cpu or not r.attempts_per_s:
        return "-"
    return " ".join(f"{k} {v / r.attempts_per_s * 1000:.2f}" for k, v in r.cpu.items() if k != "web" or v)


def describe(r: Result) -> str:
    codes = ", ".join(f"{k} {v}" for k, v in r.codes.most_common()) or "-"
    return (f"  {r.mode:4} {r.scenario:>5} c={r.clients:<3} accepted {r.accepted_per_s:8.1f}/s  attempts "
            f"{r.attempts_per_s:8.1f}/s  accepted p50 {pct(r.lat_ok, .5):6.2f} ms p99 {pct(r.lat_ok, .99):6.2f} ms"
            f" | all p50 {pct(r.lat_all, .5):6.2f} p99 {pct(r.lat_all, .99):6.2f} | refusals: {codes}"
            + f" | CPU ms/attempt: {cpu_per_attempt(r)} (busy {sum(r.cpu.values()):.2f} of {os.cpu_count()} CPUs)"
            + f" | load {os.getloadavg()[0]:.1f}"
            + (f" | ERRORS {r.errors}: {r.error_samples[:3]}" if r.errors else ""))


def pair_rows(pairs: list[tuple[str, Result, Result]]) -> list[list[str]]:
    rows = []
    for label, h, r in pairs:
        ratio = h.accepted_per_s / r.accepted_per_s if r.accepted_per_s else float("nan")
        rows.append([label, str(h.clients), f"{h.accepted_per_s:.0f}", f"{r.accepted_per_s:.0f}", f"{ratio:.2f}",
                     f"{pct(h.lat_ok, .5):.1f}", f"{pct(h.lat_ok, .99):.1f}", f"{pct(r.lat_ok, .5):.1f}",
                     f"{pct(r.lat_ok, .99):.1f}", f"{h.attempts_per_s:.0f}", f"{r.attempts_per_s:.0f}",
                     _cpu_cell(h, ("web", "db", "client")), _cpu_cell(r, ("db", "client"))])
    return rows


def _cpu_cell(r: Result, sides: tuple[str, ...]) -> str:
    if not r.cpu or not r.attempts_per_s:
        return "-"
    return "+".join(f"{r.cpu.get(k, 0.0) / r.attempts_per_s * 1000:.2f}" for k in sides)


PAIR_HEADERS = ["scenario", "clients", "HTTP acc/s", "raw acc/s", "ratio", "HTTP p50", "HTTP p99", "raw p50",
                "raw p99", "HTTP att/s", "raw att/s", "HTTP CPU ms/att web+db+client", "raw CPU ms/att db+client"]


# ----------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clients", default="16", help="client threads; a comma-separated list runs each (default 16)")
    p.add_argument("--seconds", type=float, default=10.0, help="measured seconds per run (default 10)")
    p.add_argument("--warmup", type=float, default=2.0, help="unmeasured seconds before each run (default 2)")
    p.add_argument("--auctions", type=int, default=1000, help="auctions in the spread scenario (default 1000)")
    p.add_argument("--scenarios", default="hot,spread", help="hot, spread or both (default both)")
    p.add_argument("--growth", action="store_true",
                   help="instead of the scenarios: the hot auction with 10k, 100k and 1M bids stored")
    p.add_argument("--growth-sizes", default=",".join(map(str, GROWTH_SIZES)), help=argparse.SUPPRESS)
    p.add_argument("--gunicorn", default=DEFAULT_GUNICORN, help=f'worker settings (default "{DEFAULT_GUNICORN}")')
    p.add_argument("--db-url", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432"),
                   help="PostgreSQL server URL, no database (default postgresql://postgres@127.0.0.1:5432)")
    p.add_argument("--db-name", default="exchange_bench")
    p.add_argument("--keep-db", action="store_true", help="leave the database in place at the end")
    p.add_argument("--no-raw", action="store_true", help="HTTP runs only (to compare gunicorn settings quickly)")
    p.add_argument("--no-floor", action="store_true", help="skip the web tier's floor (a 404 and /healthz)")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clients_list = [int(x) for x in args.clients.split(",") if x.strip()]
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for s in scenarios:
        if s not in ("hot", "spread"):
            raise SystemExit(f"unknown scenario {s!r}")
    t = Target(args.db_url, args.db_name)
    (pg_version,) = query(f"{args.db_url.rstrip('/')}/postgres", "SHOW server_version")[0]
    names = ("shared_buffers", "synchronous_commit", "fsync", "max_connections")
    (settings,) = query(f"{args.db_url.rstrip('/')}/postgres",
                        "SELECT " + ", ".join(f"current_setting('{n}')" for n in names))
    log(f"Machine: {machine()}")
    log(f"PostgreSQL {pg_version} ({', '.join(f'{n}={v}' for n, v in zip(names, settings))})")
    if os.getloadavg()[0] > 0.5 * (os.cpu_count() or 1):
        log("WARNING: the machine is busy before the run starts; the figures will be low and noisy.")
    log(f"Database {t.name}; repository {REPO}")
    failures: list[str] = []
    gunicorn: Gunicorn | None = None
    workdir = Path(tempfile.mkdtemp(prefix="bench-bids-"))
    try:
        t0 = time.perf_counter()
        recreate_database(t)
        from exchange.migrate import upgrade

        upgrade(t.sa_url)
        app = make_app(t)
        n_bidders = max(16, *clients_list)
        world = build_world(app, t, n_bidders, args.auctions, str(workdir / "uploads"))
        log(f"Setup in {time.perf_counter() - t0:.1f}s: {n_bidders} bidders; hot auction {world.hot_ref}; "
            f"{len(world.refs)} auctions {world.refs[0]}..{world.refs[-1]} (1 built by the services, "
            f"{len(world.refs) - 1} cloned in SQL; a clone took a bid through the service); "
            f"start price {world.start_price} fen, increment {world.increment} fen")
        cap = capture_statements(app, world)
        from exchange.db import get_db

        get_db(app).engine.dispose()
        show_statements(cap)
        replay = Replay(cap)
        log("The raw loop runs these statement texts with psycopg2, with the same parameters; the bid rules run "
            "in a few lines of Python between the locked select and the writes.")

        gunicorn = Gunicorn(t, args.gunicorn, workdir / "gunicorn.log")
        gunicorn.wait_ready()
        log(f"gunicorn: {' '.join(gunicorn.cmd[2:])}")
        knowledge: dict[str, int | None] = {}

        def run(mode: str, scenario: str, clients: int) -> Result:
            refs = [world.hot_ref] if scenario == "hot" else world.refs
            before = counts(t.dsn)
            if mode == "http":
                make = lambda i: HttpBidder(gunicorn.port, world.tokens[i % len(world.tokens)], world.increment)  # noqa: E731
            else:
                make = lambda i: RawBidder(t.dsn, world.tokens[i % len(world.tokens)], replay)  # noqa: E731
            r = drive(scenario, mode, make, clients, refs, args.seconds, args.warmup, world, knowledge,
                      web_pgid=gunicorn.proc.pid if mode == "http" else None)
            log(describe(r))
            problems = check_integrity(t.dsn, before, r.accepted_total)
            if r.errors:
                failures.append(f"{mode} {scenario} c={clients}: {r.errors} errors, e.g. {r.error_samples[:3]}")
            for prob in problems:
                failures.append(f"{mode} {scenario} c={clients}: {prob}")
                log(f"    INTEGRITY: {prob}")
            if not problems:
                log(f"    integrity ok: {r.accepted_total} accepted = {r.accepted_total} stored, seq gapless, "
                    f"price = highest bid, leader = its bidder")
            return r

        pairs: list[tuple[str, Result, Result]] = []
        if args.growth:
            sizes = [int(x) for x in args.growth_sizes.split(",")]
            clients = clients_list[-1]
            log(f"\nGrowth: the hot auction at {clients} clients with more and more bids stored elsewhere")
            rows = []
            for size in [0, *sizes]:
                if size:
                    g0 = time.perf_counter()
                    stored = grow_bids(t, world, size)
                    log(f"  stored bids: {stored} (bulk insert, VACUUM ANALYZE and CHECKPOINT in "
                        f"{time.perf_counter() - g0:.1f}s)")
                stored = counts(t.dsn)[0]
                h = run("http", "hot", clients)
                r = run("raw", "hot", clients)
                ratio = h.accepted_per_s / r.accepted_per_s if r.accepted_per_s else float("nan")
                rows.append([f"{stored:,}", f"{h.accepted_per_s:.0f}", f"{pct(h.lat_ok, .5):.1f}",
                             f"{pct(h.lat_ok, .99):.1f}", f"{r.accepted_per_s:.0f}", f"{pct(r.lat_ok, .5):.1f}",
                             f"{pct(r.lat_ok, .99):.1f}", f"{ratio:.2f}"])
            log("\n" + table(["stored bids", "HTTP acc/s", "HTTP p50", "HTTP p99", "raw acc/s", "raw p50", "raw p99",
                              "ratio"], rows))
        else:
            log(f"\nRuns: {args.warmup:g}s warm-up then {args.seconds:g}s measured each; latency in ms, "
                f"accepted bids (all attempts on the line's right)")
            for clients in clients_list:
                for scenario in scenarios:
                    h = run("http", scenario, clients)
                    r = Result(scenario, "raw", clients) if args.no_raw else run("raw", scenario, clients)
                    pairs.append(("hot" if scenario == "hot" else f"{len(world.refs)} auctions", h, r))
            log("\n" + table(PAIR_HEADERS, pair_rows(pairs)))
            log("ratio = HTTP accepted/s / raw accepted/s; p50/p99 of accepted bids, in ms, seen by the client; "
                "CPU ms/att = CPU time per bid attempt spent by the web server, PostgreSQL and the load generator.")
            log("Target (issue): ratio >= 0.5 on the hot auction with HTTP p99 < 50 ms at 16 clients.")
        if not args.no_floor:
            clients = clients_list[-1]
            log(f"\nThe web tier's floor, same gunicorn, {clients} clients, 5s each (CPU ms per request):")
            for label, rate, cpu in web_floor(gunicorn.port, gunicorn.proc.pid, clients, 5.0):
                log(f"  {label:26s} {rate:7.0f} req/s | web {cpu.get('web', 0):.2f} db {cpu.get('db', 0):.2f} "
                    f"client {cpu.get('client', 0):.2f}")
        log(f"gunicorn setting: {args.gunicorn}")
    finally:
        if gunicorn is not None:
            gunicorn.stop()
            tail = gunicorn.tail(10)
            if "Traceback" in tail or "ERROR" in tail:
                log(f"gunicorn log ends with:\n{tail}")
        if not args.keep_db:
            with contextlib.suppress(Exception):
                drop_database(t)
        else:
            log(f"kept database {t.dsn}")
    if failures:
        log("\nFAILED:")
        for f in failures:
            log(f"  {f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
