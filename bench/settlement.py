#!/usr/bin/env python
"""Settlement throughput on PostgreSQL: deals settled through the services, postings per second,
side by side with the same ledger inserts done in bare SQL in the same run.

What it does, in one run:

1. **Setup.** Drops and creates the database ``exchange_bench_settlement`` on the local
   PostgreSQL, migrates it (``exchange.migrate.upgrade``) and creates any table the migrations do
   not have yet (``create_all``, which also installs the ledger's triggers), seeds the business
   calendar, and builds through the services a seller, 50 buyers and an operator, one asset,
   and N struck auction deals (default 10,000; the deal rows are bulk-inserted: striking deals is
   the auctions package's work, not what is measured).
2. **Services.** Settles every deal, one committed transaction per deal, exactly as the hooks and
   the API do: the settlement opens (fee record), the contract takes effect (the lump-sum
   obligation), the bank notifies the buyer's payment (received into suspense, matched to the deal,
   applied to the buyer fee and escrow: the price is in), the operator confirms the transfer, and
   the seller is paid out (escrow less the seller's fee to the seller, then to its bank) and the
   deal completes. Five journal entries, twelve postings per deal, plus the business rows
   (notification, settlement, obligation, disbursement) and the audit events. The PostgreSQL
   deferred trigger checks every entry at each commit.
3. **Bare SQL.** The same ledger writes for the same number of deals, by a bare psycopg2
   connection, one transaction per deal: one ``INSERT`` of the deal's escrow account, one
   multi-row ``INSERT ... RETURNING`` of its five entries, one multi-row ``INSERT`` of its twelve
   postings, one ``UPDATE ... FROM (VALUES ...)`` of the cached balances, ``COMMIT``; the triggers
   fire as for the services. Then again with the triggers switched off
   (``session_replication_role = replica``), to show what the database's guard costs.
4. **Integrity**, after both: ``verify_ledger`` (every entry balances with two or more postings,
   totals are zero, every cached balance equals the sum of its postings), every deal completed,
   entries and postings as many as expected.

Usage (from the repository root)::

    .venv/bin/python bench/settlement.py                 # 10,000 deals
    .venv/bin/python bench/settlement.py --deals 1000

Options: ``--db-url`` (server URL without database, default ``postgresql://postgres@127.0.0.1:5432``),
``--db-name``, ``--keep-db``. It reports; it never asserts a target. It exits 1 only if the
integrity checks fail.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import psycopg2  # noqa: E402
import psycopg2.extras  # noqa: E402

UTC = timezone.utc
START = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai
PRICE_FEN = 150_000_000                          # 1.5 million yuan per deal
BUYERS = 50
ENTRIES_PER_DEAL = 5
POSTINGS_PER_DEAL = 12


def log(msg: str) -> None:
    print(msg, flush=True)


def admin(server_url: str, sql: str) -> None:
    conn = psycopg2.connect(f"{server_url.rstrip('/')}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


def setup(server_url: str, name: str, n_deals: int):  # type: ignore[no-untyped-def]
    """A fresh database with the schema, a seller, buyers, an operator, an asset and N struck deals."""
    import sqlalchemy as sa

    from exchange import accounts
    from exchange.actors import Actor
    from exchange.app import create_app
    from exchange.calendar_store import seed_bundled_years
    from exchange.clock import FakeClock
    from exchange.db import create_db_engine
    from exchange.migrate import upgrade
    from exchange.model_registry import load_all_models
    from exchange.models import EntityType, PartyKind, Role
    from exchange.parties import complete_credit_code

    admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin(server_url, f'CREATE DATABASE "{name}"')
    url = f"{server_url.rstrip('/')}/{name}".replace("postgresql://", "postgresql+psycopg2://", 1)
    upgrade(url)
    eng = create_db_engine(url, poolclass=sa.pool.NullPool)
    load_all_models().create_all(eng)  # settlement tables until their migration exists; triggers with them
    eng.dispose()
    clock = FakeClock(START)
    from config import EXAMPLE_ACCOUNTS

    app = create_app("production", overrides={**EXAMPLE_ACCOUNTS, "DATABASE_URL": url,
                                              "SECRET_KEY": "bench-" + "x" * 40,
                                              "LOG_LEVEL": "WARNING"}, clock=clock)
    db = app.extensions["exchange.db"]
    with db.session_scope() as s:
        seed_bundled_years(s, clock=clock)

        def member(i: int, kind: str):  # type: ignore[no-untyped-def]
            return accounts.register_member(s, accounts.RegisterMember(
                email=f"{kind}{i}@bench.example", password="Bench-pass-2026", display_name=f"{kind} {i}",
                party_kind=PartyKind.organisation, party_name=f"基准测试{kind}{i}有限公司",
                entity_type=EntityType.enterprise, id_code=complete_credit_code(f"91310115MA{i:07d}"[:17])
                if kind == "buyer" else complete_credit_code(f"91310104MB{i:07d}"[:17])), clock=clock)

        seller = member(1, "seller")
        buyers = [member(i + 1, "buyer") for i in range(BUYERS)]
        op = accounts.create_staff_user(s, email="op@bench.example", password="Bench-pass-2026",
                                        display_name="operator", role=Role.operator, actor=Actor.system("bench"),
                                        clock=clock)
        from listings import domain as ld
        from listings import service as ls

        asset = ls.register_asset(s, Actor.of(seller), ls.AssetInput(
            kind=ld.AssetKind.INVENTION_PATENT, title="基准测试专利", technical_field="advanced_manufacturing",
            number="201710601862.3", filing_date=datetime(2017, 8, 1).date()), clock=clock)
        s.flush()
        seller_party, op_id, asset_id = seller.party_id, op.id, asset.id
        buyer_parties = [b.party_id for b in buyers]
    t0 = time.perf_counter()
    with db.engine.begin() as c:
        rows = [{"ref": f"D2026-{i + 1:06d}", "method": "auction", "state": "struck", "asset_id": asset_id,
                 "seller_party_id": seller_party, "buyer_party_id": buyer_parties[i % BUYERS],
                 "mode": "assignment", "price_fen": PRICE_FEN, "currency": "CNY", "terms": {},
                 "struck_at": START, "sign_by": START + timedelta(days=5)} for i in range(n_deals)]
        from auctions.models import Deal

        c.execute(sa.insert(Deal), rows)
        c.execute(sa.text("INSERT INTO reference_counters (prefix, year, last_value) VALUES ('D', 2026, :n) "
                          "ON CONFLICT (prefix, year) DO UPDATE SET last_value = :n"), {"n": n_deals})
    log(f"setup: {n_deals:,} struck deals inserted in {time.perf_counter() - t0:.1f} s")
    return app, clock, op_id, url


def settle_all(app, clock, op_id: int, n_deals: int) -> float:  # type: ignore[no-untyped-def]
    """Each deal settled in its own committed transaction, through the services; returns seconds."""
    import sqlalchemy as sa

    from auctions.models import Deal
    from auctions.service import deals as deal_service
    from exchange.actors import Actor
    from exchange.models import User
    from settlement import service as svc
    from settlement.models import DealSettlement, PaymentPurpose
    from settlement.service import obligations

    db = app.extensions["exchange.db"]
    with db.session_scope() as s:
        op = Actor.of(s.get(User, op_id))
        ids = list(s.scalars(sa.select(Deal.id).order_by(Deal.id)))
    tables: Counter[str] = Counter()

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        words = statement.split()
        verb = words[0].upper()
        target = next((w for w, prev in zip(words[1:], words) if prev.upper() in ("FROM", "INTO", "UPDATE")), "")
        tables[f"{verb} {target}".strip()] += 1

    sa.event.listen(db.engine, "before_cursor_execute", count)
    t0 = time.perf_counter()
    last = t0
    for n, deal_id in enumerate(ids, 1):
        with db.session_scope() as s:
            deal = s.get(Deal, deal_id)
            obligations.open_settlement(s, deal, clock)            # ON_DEAL_STRUCK
            deal_service.mark_in_force(s, op, deal.ref, clock=clock)  # ON_DEAL_IN_FORCE: the obligation
            st = s.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))
            svc.receive_notification(s, op, svc.NotificationInput(
                bank_reference=f"BENCH-{deal.ref}", amount_fen=obligations.outstanding_fen(st), payer_name="买方",
                purpose=PaymentPurpose.PRICE, purpose_ref=deal.ref), clock=clock)
            svc.confirm_transfer(s, op, deal.ref, evidence="专利权转移登记完成", clock=clock)
            svc.pay_out(s, op, deal.ref, clock=clock)
        if time.perf_counter() - last > 30:
            last = time.perf_counter()
            log(f"  ... {n:,} deals settled, {n * POSTINGS_PER_DEAL / (last - t0):,.0f} postings/s so far")
    elapsed = time.perf_counter() - t0
    sa.event.remove(db.engine, "before_cursor_execute", count)
    per_deal = sum(tables.values()) / max(1, len(ids))
    log(f"services: {per_deal:.0f} statements per deal settled; the most frequent, per deal:")
    for name, k in tables.most_common(12):
        log(f"  {k / len(ids):5.1f}  {name}")
    return elapsed


def bare_sql(dsn: str, n_deals: int, *, triggers: bool, tag: str) -> float:
    """The same ledger writes as the services make per deal, in bare SQL; returns seconds."""
    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:
            if not triggers:
                cur.execute("SET session_replication_role = replica")  # disables ordinary triggers
            cur.execute("SELECT key, id FROM ledger_accounts WHERE key IN ('bank_clearing', 'suspense', 'fee_income')")
            acc = dict(cur.fetchall())
            cur.execute("SELECT id, key FROM ledger_accounts WHERE key LIKE 'party_cash:%%'")
            cash = [i for i, _ in cur.fetchall()]
        bank, suspense, fees = acc["bank_clearing"], acc["suspense"], acc["fee_income"]
        buyers, seller = cash[:-1] or cash, cash[-1]
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        for i in range(n_deals):
            buyer = buyers[i % len(buyers)]
            with conn.cursor() as cur:
                cur.execute("INSERT INTO ledger_accounts (key, kind, currency, balance_fen, created_at) "
                            "VALUES (%s, 'escrow', 'CNY', 0, %s) RETURNING id", (f"escrow:{tag}-{i}", now))
                escrow = cur.fetchone()[0]
                keys = [f"{tag}:{i}:{k}" for k in ("in", "match", "pay", "payout", "out")]
                kinds = ["bank_in", "suspense_matched", "deal_payment", "payout", "disbursement"]
                e = psycopg2.extras.execute_values(
                    cur, "INSERT INTO journal_entries (ref, kind, source_key, memo, created_at, created_by) VALUES %s "
                    "RETURNING id",
                    [(f"{tag}{i}-{k}", kind, key, "", now, "bench") for k, (kind, key) in enumerate(zip(kinds, keys))],
                    fetch=True)
                e_in, e_match, e_pay, e_payout, e_out = (r[0] for r in e)
                total, fee, seller_fee = 154_800_000, 4_800_000, 360_000
                lines = [(e_in, bank, total), (e_in, suspense, -total),
                         (e_match, suspense, total), (e_match, buyer, -total),
                         (e_pay, buyer, total), (e_pay, fees, -fee), (e_pay, escrow, -(total - fee)),
                         (e_payout, escrow, PRICE_FEN), (e_payout, fees, -seller_fee),
                         (e_payout, seller, -(PRICE_FEN - seller_fee)),
                         (e_out, seller, PRICE_FEN - seller_fee), (e_out, bank, -(PRICE_FEN - seller_fee))]
                psycopg2.extras.execute_values(
                    cur, "INSERT INTO postings (entry_id, account_id, amount_fen, currency) VALUES %s",
                    [(a, b, c, "CNY") for a, b, c in lines])
                delta: dict[int, int] = {}
                for _, account, amount in lines:
                    delta[account] = delta.get(account, 0) + amount
                psycopg2.extras.execute_values(
                    cur, "UPDATE ledger_accounts AS a SET balance_fen = a.balance_fen + v.d "
                    "FROM (VALUES %s) AS v(id, d) WHERE a.id = v.id",
                    sorted((k, v) for k, v in delta.items() if v))
            conn.commit()
        return time.perf_counter() - t0
    finally:
        conn.close()


def integrity(app, n_deals: int, bare_deals: int) -> list[str]:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from auctions.models import Deal, DealState
    from settlement.models import JournalEntry, LedgerPosting
    from settlement.service import verify_ledger

    problems = []
    with app.extensions["exchange.db"].session_scope() as s:
        check = verify_ledger(s)
        if not check.ok:
            problems.append(f"ledger does not verify: {check.as_dict()}")
        done = s.scalar(sa.select(sa.func.count()).select_from(Deal).where(Deal.state == DealState.COMPLETED))
        if done != n_deals:
            problems.append(f"{done} of {n_deals} deals completed")
        entries = s.scalar(sa.select(sa.func.count()).select_from(JournalEntry))
        postings = s.scalar(sa.select(sa.func.count()).select_from(LedgerPosting))
        expected = (n_deals + bare_deals) * ENTRIES_PER_DEAL, (n_deals + bare_deals) * POSTINGS_PER_DEAL
        if (entries, postings) != expected:
            problems.append(f"{entries} entries and {postings} postings, expected {expected}")
    return problems


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--deals", type=int, default=10_000)
    ap.add_argument("--db-url", default=os.environ.get("BENCH_DB_URL", "postgresql://postgres@127.0.0.1:5432"))
    ap.add_argument("--db-name", default="exchange_bench_settlement")
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()
    n = args.deals
    log(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load {os.getloadavg()[0]:.2f}")
    app, clock, op_id, url = setup(args.db_url, args.db_name, n)
    dsn = f"{args.db_url.rstrip('/')}/{args.db_name}"
    try:
        log(f"services: settling {n:,} deals, one transaction each ...")
        svc_s = settle_all(app, clock, op_id, n)
        log("bare SQL: the same ledger writes ...")
        raw_s = bare_sql(dsn, n, triggers=True, tag="RAW")
        off_s = bare_sql(dsn, n, triggers=False, tag="OFF")
        problems = integrity(app, n, 2 * n)
        postings = n * POSTINGS_PER_DEAL
        rows = [("services (whole settlement)", svc_s), ("bare SQL, ledger rows, trigger on", raw_s),
                ("bare SQL, ledger rows, trigger off", off_s)]
        log("")
        log(f"{n:,} deals, {n * ENTRIES_PER_DEAL:,} entries, {postings:,} postings per run")
        log(f"{'run':<38}{'seconds':>9}{'deals/s':>10}{'postings/s':>12}{'vs bare':>9}")
        for label, secs in rows:
            log(f"{label:<38}{secs:>9.1f}{n / secs:>10,.0f}{postings / secs:>12,.0f}{raw_s / secs:>8.0%}")
        log("integrity: " + ("ok (every entry balanced, caches = sums of postings, every deal completed)"
                             if not problems else "; ".join(problems)))
        return 1 if problems else 0
    finally:
        app.extensions["exchange.db"].engine.dispose()
        if not args.keep_db:
            admin(args.db_url, f'DROP DATABASE IF EXISTS "{args.db_name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
