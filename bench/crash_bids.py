#!/usr/bin/env python
"""The server process killed under load: after the restart every acknowledged bid is there, and
nothing else is, except bids whose answer was lost in flight.

What it does, in one run (PostgreSQL only):

1. **Setup.** Drops and creates a scratch database (``exchange_crash``) on the local PostgreSQL,
   migrates it (``exchange.migrate.upgrade``; tables of models with no migration yet are created
   from the models), seeds the business calendar and builds through the real services, with a
   ``FakeClock`` in the past (as ``auctions/demo.py`` does): a seller, an operator, N bidders with
   API tokens, and one auction open now with every bidder qualified (the leader may raise, and the
   free-bidding period lasts hours, so every bidder may always bid).
2. **Load.** Starts ``gunicorn 'exchange.app:create_app()'`` (production settings) and drives C
   client threads, each with its own keep-alive connection, bidding as fast as they can with a fresh
   ``Idempotency-Key`` per bid. Every 201 receipt (seq, amount, bidder number, key) is recorded.
   A request that was sent but got no answer is recorded as *in flight* (its outcome is unknown);
   a refused connection is not (nothing was sent).
3. **Crash.** After ``--seconds`` it sends SIGKILL to gunicorn's whole process group (master and
   workers, no chance to finish anything), lets the clients notice, and starts a new gunicorn.
4. **Check, before anything else touches the auction:** every acknowledged bid is in the database
   with its seq, amount and bidder; every other bid in the database belongs to a request that was
   in flight at the kill (its idempotency record names one of their keys and the same seq), so there
   are at most as many such bids as requests in flight; the seqs run 1..bid_count without a gap; the
   price is the highest bid, the leader its bidder, each bid above the one before; one idempotency
   record per bid.
5. **Retry.** Each in-flight request is sent again with the same key and body: a bid that was
   committed is answered with its first receipt (``Idempotent-Replayed``), one that was not is
   placed now or refused. (``--kills 2`` kills it once more, and so on.)
6. **Lost answers on a healthy server.** Three bids are sent in full and the client hangs up
   without reading: the server commits them, the client never learns; the checks of step 4 must
   explain them as in flight, and their retries must replay the first receipts. Then the load
   resumes for a while and the checks run once more at the end.

Usage (from the repository root)::

    .venv/bin/python bench/crash_bids.py                 # 12 clients, kill after 4 s
    .venv/bin/python bench/crash_bids.py --quick         # what the slow test runs
    .venv/bin/python bench/crash_bids.py --clients 24 --seconds 10 --kills 3

Options: ``--db-url`` (server URL without database, default
``postgresql://postgres@127.0.0.1:5432``), ``--db-name``, ``--keep-db``, ``--gunicorn``. It prints
its findings and ends with ``VERDICT: ok``, or ``VERDICT: FAILED`` and exit status 1.
"""
from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg2  # noqa: E402

UTC = timezone.utc
PASSWORD = "Crash-pass-2026"
SECRET_KEY = "crash-test-secret-key-0123456789abcdef-not-for-production"
PRICE_YUAN = 1_000_000
DEFAULT_GUNICORN = "-w 2 -k gthread --threads 4"


def log(msg: str) -> None:
    print(msg, flush=True)


# ----------------------------------------------------------------------------- database
def admin_exec(server_url: str, sql: str) -> None:
    conn = psycopg2.connect(f"{server_url.rstrip('/')}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def query(dsn: str, sql: str, params: Any = None) -> list[tuple]:
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall() if cur.description else []
    finally:
        conn.close()


@dataclass
class World:
    dsn: str
    sa_url: str
    ref: str
    tokens: list[str]
    start_price: int
    increment: int


def build_world(server_url: str, name: str, bidders: int, upload_dir: str) -> World:
    """The scratch database, migrated, with one auction open now and ``bidders`` qualified bidders."""
    import sqlalchemy as sa

    from auctions import service as asvc
    from auctions.models import Auction
    from exchange.accounts import RegisterMember, create_staff_user, create_token, register_member
    from exchange.actors import Actor
    from exchange.app import create_app
    from exchange.auth import use_fast_hashing_for_tests
    from exchange.calendar_store import seed_bundled_years
    from exchange.clock import FakeClock
    from exchange.db import create_db_engine, get_db
    from exchange.migrate import upgrade
    from exchange.model_registry import load_all_models
    from exchange.models import EntityType, PartyKind, Role
    from exchange.parties import complete_credit_code
    from listings import service as lsvc
    from listings.demo import make_confirmed_asset, publish

    admin_exec(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_exec(server_url, f'CREATE DATABASE "{name}"')
    dsn = f"{server_url.rstrip('/')}/{name}"
    sa_url = dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
    upgrade(sa_url)
    eng = create_db_engine(sa_url, poolclass=sa.pool.NullPool)
    load_all_models().create_all(eng)  # models whose migration is not written yet
    eng.dispose()

    use_fast_hashing_for_tests()  # the setup's own hashes; the server hashes nothing during the run
    from config import EXAMPLE_ACCOUNTS

    app = create_app("production", overrides={**EXAMPLE_ACCOUNTS, "DATABASE_URL": sa_url, "SECRET_KEY": SECRET_KEY,
                                              "LOG_LEVEL": "WARNING", "UPLOAD_FOLDER": upload_dir})
    now = datetime.now(UTC)
    past = FakeClock(now - timedelta(days=40))
    rng = random.Random(2026)
    db = get_db(app)
    with app.app_context(), db.session_scope() as s:
        seed_bundled_years(s, clock=past)

        def member(n: int, who: str):  # type: ignore[no-untyped-def]
            return register_member(s, RegisterMember(
                email=f"{who}{n}@crash.example", password=PASSWORD, display_name=f"{who} {n}",
                party_kind=PartyKind.organisation, party_name=f"上海崩溃测试科技有限公司{n}",
                entity_type=EntityType.enterprise, id_code=complete_credit_code(f"91310104MA{8_000_000 + n:07d}")),
                clock=past)

        seller = member(0, "seller")
        op = create_staff_user(s, email="operator@crash.example", password=PASSWORD, display_name="operator",
                               role=Role.operator, actor=Actor.system("crash"), clock=past)
        users = [member(i, "bidder") for i in range(1, bidders + 1)]
        tokens = [create_token(s, u, "crash", clock=past)[1] for u in users]
        title = "崩溃测试 一种高精度谐波减速器柔轮加工工艺"
        asset = make_confirmed_asset(s, past, seller, op, title=title, field="advanced_manufacturing", rng=rng,
                                     folder=upload_dir)
        listing = publish(s, past, seller, op, asset, title=f"{title}专利转让", price_yuan=PRICE_YUAN,
                          free_minutes=600, countdown_seconds=300, leader_may_raise=True)
        for u in users:
            reg = lsvc.register_interest(s, Actor.of(u), listing.ref, "本单位符合全部受让条件。", clock=past)
            lsvc.mark_deposit_paid(s, Actor.of(op), reg.ref, clock=past)
            lsvc.decide_registration(s, Actor.of(op), reg.ref, qualify=True, reason="", clock=past)
        past.set(now - timedelta(minutes=10))  # publicity has ended; the auction opened eight minutes ago
        lsvc.apply_due(s, lsvc.load_listing(s, listing.ref, for_update=True), past)
        a = s.scalar(sa.select(Auction).where(Auction.listing_id == listing.id))
        asvc.reschedule_auction(s, Actor.of(op), a.ref, asvc.Schedule(starts_at=now - timedelta(minutes=8)),
                                clock=past)
        world = World(dsn, sa_url, a.ref, tokens, a.start_price_fen, a.increment_fen)
    db.engine.dispose()
    return world


# ----------------------------------------------------------------------------- gunicorn
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, sa_url: str, spec: str, port: int, logfile: Path) -> None:
        self.port, self.logfile = port, logfile
        from config import EXAMPLE_ACCOUNTS

        env = {**os.environ, **{f"EXCHANGE_{k}": json.dumps(v) for k, v in EXAMPLE_ACCOUNTS.items()},
               "EXCHANGE_ENV": "production", "DATABASE_URL": sa_url, "SECRET_KEY": SECRET_KEY,
               "EXCHANGE_LOG_LEVEL": "WARNING", "PYTHONPATH": str(REPO)}
        self.cmd = [sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", *shlex.split(spec),
                    "--log-level", "warning", "exchange.app:create_app()"]
        self.log = logfile.open("ab")
        # Its own session (process group): SIGKILL reaches the master and every worker at once.
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

    def kill(self) -> None:
        """SIGKILL to the whole group: no worker finishes its request, no connection is closed cleanly."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()
        if not self.log.closed:
            self.log.close()

    def tail(self, n: int = 20) -> str:
        if not self.log.closed:
            self.log.flush()
        with contextlib.suppress(OSError):
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        return ""


# ----------------------------------------------------------------------------- load
@dataclass
class Attempt:
    token: int
    key: str
    amount: int


@dataclass
class Ledger:
    """What the clients know: receipts (acknowledged bids) and requests whose answer never came."""

    acked: dict[str, dict] = field(default_factory=dict)        # key -> receipt
    in_flight: dict[str, Attempt] = field(default_factory=dict)  # key -> attempt (outcome unknown)
    refused: int = 0
    not_sent: int = 0
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class Client:
    def __init__(self, port: int, world: World, token: int, ledger: Ledger, knowledge: dict) -> None:
        self.port, self.world, self.token, self.ledger, self.knowledge = port, world, token, ledger, knowledge
        self.conn: http.client.HTTPConnection | None = None
        self.rng = random.Random(7919 * (token + 1))

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=20)
            self.conn.connect()  # refused here = nothing sent
        return self.conn

    def reset(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        self.conn = None

    def send(self, attempt: Attempt, with_headers: bool = False) -> Any:
        """(status, body[, headers]), or None when the outcome is unknown; ConnectionRefusedError if not sent."""
        body = json.dumps({"amount_fen": attempt.amount}).encode()
        headers = {"Authorization": f"Bearer {self.world.tokens[attempt.token]}", "Content-Type": "application/json",
                   "Accept": "application/json", "Idempotency-Key": attempt.key}
        try:
            conn = self._connection()
        except OSError:
            self.reset()
            raise ConnectionRefusedError from None
        try:
            conn.request("POST", f"/api/v1/auctions/{self.world.ref}/bids", body, headers)
            r = conn.getresponse()
            data = r.read()
        except (http.client.HTTPException, OSError):
            self.reset()
            return None
        try:
            parsed = json.loads(data or b"{}")
        except ValueError:
            parsed = {"raw": data[:200].decode(errors="replace")}
        if with_headers:
            return r.status, parsed, {k.lower(): v for k, v in r.getheaders()}
        return r.status, parsed

    def bid_once(self) -> None:
        known = self.knowledge.get("price")
        base = self.world.start_price - self.world.increment if known is None else known
        attempt = Attempt(self.token, uuid.uuid4().hex, base + self.world.increment * self.rng.randint(1, 3))
        with self.ledger.lock:
            self.ledger.in_flight[attempt.key] = attempt  # until an answer says otherwise
        try:
            answer = self.send(attempt)
        except ConnectionRefusedError:
            with self.ledger.lock:
                del self.ledger.in_flight[attempt.key]
                self.ledger.not_sent += 1
            time.sleep(0.05)
            return
        if answer is None:
            time.sleep(0.05)
            return  # stays in flight: the server may or may not have committed it
        status, body = answer
        with self.ledger.lock:
            del self.ledger.in_flight[attempt.key]
            if status == 201:
                self.ledger.acked[attempt.key] = body
                price = body["auction"]["current_price_fen"]
            elif 400 <= status < 500:
                self.ledger.refused += 1
                det = body.get("details") or {}
                price = (det.get("current_price") or
                         (det["min_bid"] - self.world.increment if "min_bid" in det else None))
            else:
                self.ledger.server_errors.append(f"HTTP {status}: {str(body)[:200]}")
                price = None
            if price is not None and (self.knowledge.get("price") is None or price > self.knowledge["price"]):
                self.knowledge["price"] = price


def load(port: int, world: World, ledger: Ledger, knowledge: dict, clients: int, stop: threading.Event,
         ) -> list[threading.Thread]:
    def run(i: int) -> None:
        c = Client(port, world, i % len(world.tokens), ledger, knowledge)
        while not stop.is_set():
            c.bid_once()
        c.reset()

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    return threads


# ----------------------------------------------------------------------------- checks
def check(world: World, ledger: Ledger, label: str) -> list[str]:
    """Compare the database with what the clients were told."""
    problems: list[str] = []
    rows = query(world.dsn, """
        SELECT b.seq, b.amount_fen, b.bidder_no FROM bids b JOIN auctions a ON a.id = b.auction_id
        WHERE a.ref = %s ORDER BY b.seq""", (world.ref,))
    stored = {seq: (amount, bidder) for seq, amount, bidder in rows}
    acked = {r["seq"]: (r["amount_fen"], r["bidder_no"]) for r in ledger.acked.values()}
    missing = {s: v for s, v in acked.items() if stored.get(s) != v}
    if missing:
        problems.append(f"{len(missing)} acknowledged bids are not in the database as acknowledged, "
                        f"e.g. {sorted(missing.items())[:3]}")
    extra = sorted(set(stored) - set(acked))
    in_flight_keys = set(ledger.in_flight)
    records = query(world.dsn, "SELECT key, response_body FROM idempotency_records WHERE endpoint = %s",
                    ("auctions_api.place_bid",))
    seq_of_key = {k: json.loads(body).get("seq") for k, body in records}
    explained = {seq_of_key[k] for k in in_flight_keys if k in seq_of_key}
    unexplained = [s for s in extra if s not in explained]
    if unexplained:
        problems.append(f"{len(unexplained)} bids in the database were never acknowledged nor in flight: "
                        f"seqs {unexplained[:5]}")
    if len(extra) > len(in_flight_keys):
        problems.append(f"{len(extra)} unacknowledged bids but only {len(in_flight_keys)} requests in flight")
    (a,) = query(world.dsn, "SELECT bid_count, current_price_fen, leader_bidder_no FROM auctions WHERE ref = %s",
                 (world.ref,))
    seqs = [r[0] for r in rows]
    if seqs != list(range(1, len(seqs) + 1)) or a[0] != len(seqs):
        problems.append(f"seqs are not 1..{a[0]} without a gap: {len(seqs)} bids, first/last {seqs[:1]}/{seqs[-1:]}")
    if rows:
        top = max(rows, key=lambda r: (r[1], r[0]))
        if a[1] != top[1] or a[2] != top[2]:
            problems.append(f"price {a[1]} / leader {a[2]} but the highest bid is {top[1]} by {top[2]}")
        rising = all(rows[i][1] > rows[i - 1][1] for i in range(1, len(rows)))
        if not rising:
            problems.append("a bid is not above the bid before it")
    if len(records) != len(rows):
        problems.append(f"{len(records)} idempotency records for {len(rows)} bids")
    log(f"  [{label}] stored {len(rows)} bids; acknowledged {len(acked)}; answers lost in flight "
        f"{len(in_flight_keys)}; stored but unacknowledged {len(extra)} (all in flight: "
        f"{'yes' if not unexplained else 'NO'}); price {a[1]} by {a[2]}")
    return problems


def retry_in_flight(port: int, world: World, ledger: Ledger, knowledge: dict) -> list[str]:
    """Send every request whose answer was lost again, with its key: a committed one must replay its
    first receipt; one that was not committed is placed now or refused, as any new bid."""
    problems: list[str] = []
    replayed = placed = refused = 0
    for key, attempt in list(ledger.in_flight.items()):
        recorded = query(world.dsn, "SELECT response_body FROM idempotency_records WHERE key = %s", (key,))
        c = Client(port, world, attempt.token, ledger, knowledge)
        answer = c.send(attempt, with_headers=True)
        c.reset()
        if answer is None:
            problems.append(f"retry of {key} got no answer from the restarted server")
            continue
        status, body, headers = answer
        if recorded:
            first = json.loads(recorded[0][0])
            if status != 201 or headers.get("idempotent-replayed") != "true" or body.get("seq") != first.get("seq"):
                problems.append(f"retry of committed {key}: HTTP {status}, "
                                f"replayed={headers.get('idempotent-replayed')}, seq {body.get('seq')} "
                                f"(first answer seq {first.get('seq')})")
            replayed += 1
        elif status == 201:
            placed += 1
        elif 400 <= status < 500:
            refused += 1
        else:
            problems.append(f"retry of {key}: HTTP {status}")
        if status == 201:
            ledger.acked[key] = body
        del ledger.in_flight[key]
    log(f"  retried the lost requests with their keys: {replayed} had been committed and replayed their "
        f"receipt, {placed} placed now, {refused} refused now (the price had moved on)")
    return problems


def abandon(port: int, world: World, ledger: Ledger, knowledge: dict, n: int) -> list[str]:
    """Answers lost in flight on a healthy server: send a bid in full, then hang up without reading.
    The server commits it; the client never learns; the retry with its key must replay the receipt."""
    price = knowledge.get("price") or world.start_price
    keys = []
    for i in range(n):
        attempt = Attempt(i % len(world.tokens), uuid.uuid4().hex, price + world.increment * 10 * (i + 1))
        body = json.dumps({"amount_fen": attempt.amount})
        raw = (f"POST /api/v1/auctions/{world.ref}/bids HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: Bearer {world.tokens[attempt.token]}\r\nContent-Type: application/json\r\n"
               f"Idempotency-Key: {attempt.key}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n{body}")
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(raw.encode())
        ledger.in_flight[attempt.key] = attempt
        keys.append(attempt.key)
        time.sleep(0.4)  # in order, so that each is above the one before
    time.sleep(1.0)
    stored = query(world.dsn, "SELECT count(*) FROM idempotency_records WHERE key = ANY(%s)", (keys,))[0][0]
    log(f"hung up on {n} bids without reading the answer; the server committed {stored} of them")
    return [] if stored else ["no abandoned bid was committed: the lost-answer path was not exercised"]


# ----------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=12)
    p.add_argument("--bidders", type=int, default=12)
    p.add_argument("--seconds", type=float, default=4.0, help="load before each kill")
    p.add_argument("--after", type=float, default=3.0, help="load after the last restart")
    p.add_argument("--kills", type=int, default=2)
    p.add_argument("--gunicorn", default=DEFAULT_GUNICORN)
    p.add_argument("--db-url", default=os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432"))
    p.add_argument("--db-name", default="exchange_crash")
    p.add_argument("--keep-db", action="store_true")
    p.add_argument("--quick", action="store_true", help="6 clients, 1.5 s before one kill, 1 s after")
    args = p.parse_args(argv)
    if args.quick:
        args.clients, args.bidders, args.seconds, args.after, args.kills = 6, 6, 1.5, 1.0, 1
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problems: list[str] = []
    workdir = Path(tempfile.mkdtemp(prefix="crash-bids-"))
    t0 = time.perf_counter()
    world = build_world(args.db_url, args.db_name, args.bidders, str(workdir / "uploads"))
    log(f"Setup in {time.perf_counter() - t0:.1f}s: auction {world.ref} open, {args.bidders} bidders, "
        f"database {args.db_name}")
    ledger, knowledge = Ledger(), {}
    port = free_port()
    server: Gunicorn | None = Gunicorn(world.sa_url, args.gunicorn, port, workdir / "gunicorn.log")
    try:
        server.wait_ready()
        log(f"gunicorn {args.gunicorn} on port {port}; {args.clients} clients bidding")
        for k in range(1, args.kills + 1):
            stop = threading.Event()
            threads = load(port, world, ledger, knowledge, args.clients, stop)
            time.sleep(args.seconds)
            before = len(ledger.acked)
            server.kill()
            log(f"kill {k}: SIGKILL to gunicorn after {args.seconds:g}s of load ({before} bids acknowledged so far)")
            time.sleep(0.5)  # the clients meet the dead server: answers lost, connections refused
            stop.set()
            for t in threads:
                t.join(timeout=30)
            server = Gunicorn(world.sa_url, args.gunicorn, port, workdir / "gunicorn.log")
            server.wait_ready()
            log(f"  restarted; {len(ledger.in_flight)} requests were in flight, {ledger.not_sent} found the door shut")
            problems += [f"after kill {k}: {p}" for p in check(world, ledger, f"after kill {k}")]
            problems += [f"after kill {k}: {p}" for p in retry_in_flight(port, world, ledger, knowledge)]
        problems += abandon(port, world, ledger, knowledge, 3)
        problems += [f"lost answers: {p}" for p in check(world, ledger, "answers lost")]
        problems += [f"lost answers: {p}" for p in retry_in_flight(port, world, ledger, knowledge)]
        stop = threading.Event()
        threads = load(port, world, ledger, knowledge, args.clients, stop)
        time.sleep(args.after)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        if ledger.in_flight:
            problems.append(f"{len(ledger.in_flight)} requests got no answer from a healthy server")
        problems += [f"at the end: {p}" for p in check(world, ledger, "at the end")]
        if ledger.server_errors:
            problems.append(f"{len(ledger.server_errors)} 5xx answers, e.g. {ledger.server_errors[:3]}")
        if not ledger.acked:
            problems.append("no bid was acknowledged at all: the load never ran")
        log(f"Totals: {len(ledger.acked)} acknowledged, {ledger.refused} refused (too low: others were faster), "
            f"{ledger.not_sent} not sent while the server was down")
    finally:
        if server is not None:
            server.stop()
        if "Traceback" in (server.tail(50) if server else ""):
            log("gunicorn log has tracebacks (expected only around the kill):\n" + server.tail(10))
        if not args.keep_db:
            with contextlib.suppress(Exception):
                admin_exec(args.db_url, f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')
    for p in problems:
        log(f"VIOLATION: {p}")
    log("VERDICT: " + ("ok" if not problems else f"FAILED ({len(problems)} problems)"))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
