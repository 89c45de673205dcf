"""Concurrency on PostgreSQL with real commits: many bidders on one auction, several sweeps at once.

These tests cannot use the per-test rolled-back connection (one connection cannot be shared
between threads), so each builds its scenario through the services on its own engine, commits
for real, and deletes every row it added afterwards (see ``committed_scenario``).
"""
from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from exchange.actors import Actor
from exchange.clock import FakeClock
from exchange.db import Database
from exchange.errors import DomainError
from tests.auction_builders import INCREMENT, PRICE, PUBLISH_AT, end_publicity, listing_with_buyers, people

pytestmark = pytest.mark.postgres

THREADS = 16
ATTEMPTS = 200
# Tables the run must never empty or touch: the schema's own bookkeeping and the seeded calendar.
KEEP = {"alembic_version", "calendar_years", "calendar_days"}


# -- committing scenarios and cleaning up after them ------------------------------------------------
@contextmanager
def committed_scenario(db_url: str) -> Iterator[Database]:
    """An engine of our own for a scenario that commits; afterwards every row added is deleted
    (children first) and the reference counters are put back, so the shared test database is as
    the migrations and the session fixtures left it."""
    from exchange.model_registry import load_all_models

    metadata = load_all_models()
    database = Database(db_url, pool_size=THREADS + 4, max_overflow=4)
    present = set(sa.inspect(database.engine).get_table_names())
    tables = [t for t in metadata.sorted_tables if t.name in present and t.name not in KEEP]
    by_id = [t for t in tables if "id" in t.c and isinstance(t.c.id.type, sa.Integer)]
    with database.engine.connect() as c:
        high = {t.name: c.scalar(sa.select(sa.func.max(t.c.id))) for t in by_id}
        # Tables without a serial id (the reference counters, say) are small: keep a copy to put back.
        saved = {t.name: [dict(r._mapping) for r in c.execute(sa.select(t))] for t in tables if t not in by_id}
    try:
        yield database
    finally:
        with database.engine.begin() as c:
            # The ledger's tables refuse DELETE by trigger (entries are immutable). Cleaning up a
            # test's own committed rows is the one exception: replica mode skips user triggers for
            # this transaction only (the suite connects as the PostgreSQL superuser).
            c.exec_driver_sql("SET LOCAL session_replication_role = replica")
            for t in reversed(tables):
                if t.name in saved:
                    c.execute(t.delete())
                    if saved[t.name]:
                        c.execute(t.insert(), saved[t.name])
                else:
                    top = high[t.name]
                    c.execute(t.delete().where(t.c.id > top) if top is not None else t.delete())
        database.engine.dispose()


def _auction_of(session, listing_ref: str):  # type: ignore[no-untyped-def]
    from auctions.service import listing_auction

    return listing_auction(session, listing_ref)


def _started_auction(database: Database, clock: FakeClock, folder: str, buyers: int, **listing_over):  # type: ignore[no-untyped-def]
    """Committed: ``buyers`` qualified buyers, publicity over, the clock a minute into the auction.
    Returns the people, the auction's ref and its id."""
    with database.session_scope() as s:
        p = people(s, clock, buyers)
        listing_ref = listing_with_buyers(s, clock, p, folder, **listing_over)
    with database.session_scope() as s:
        assert end_publicity(s, clock, listing_ref) == "in_auction"
    with database.session_scope() as s:
        a = _auction_of(s, listing_ref)
        clock.set(a.starts_at + timedelta(minutes=1))
        return p, a.ref, a.id


# -- many bidders, one auction ----------------------------------------------------------------------
def test_concurrent_bidders_lose_and_double_nothing(require_pg, app, db_url, tmp_path):  # type: ignore[no-untyped-def]
    from auctions.jobs import close_due_auctions
    from auctions.models import Auction, AuctionBidder, Bid, Deal
    from auctions.service import close_if_due, place_bid
    from exchange.models import AuditEvent

    clock = FakeClock(PUBLISH_AT)
    with committed_scenario(db_url) as database:
        with database.session_scope() as s:
            p = people(s, clock, THREADS)
            listing_ref = listing_with_buyers(s, clock, p, str(tmp_path))
        with database.session_scope() as s:
            assert end_publicity(s, clock, listing_ref) == "in_auction"
        with database.session_scope() as s:
            a = _auction_of(s, listing_ref)
            ref, free_end, countdown = a.ref, a.free_period_ends_at, a.countdown_seconds
            assert a.hard_end_at is None and a.leader_may_raise is False
            numbers = {b.party_id: b.bidder_no for b in a.bidders}
            party_of = {v: k for k, v in numbers.items()}
        assert sorted(numbers.values()) == [f"J{i:03d}" for i in range(1, THREADS + 1)]
        actors = [Actor.of(u) for u in p.buyers]

        # Start a second before the free period ends, so the run crosses into the countdown.
        clock.set(free_end - timedelta(seconds=1))
        barrier = threading.Barrier(THREADS)
        accepted: list[tuple[int, int, str]] = []
        refused: Counter[str] = Counter()
        unexpected: list[str] = []
        lock = threading.Lock()

        def bidder(i: int) -> None:
            rng = random.Random(i)
            actor = actors[i]
            barrier.wait()
            for _ in range(ATTEMPTS):
                clock.advance(milliseconds=1)
                s = database.sessionmaker()
                try:
                    # Read the price as a browser would, then bid one to three increments over it:
                    # by the time the lock is ours, someone else may have moved it.
                    current = s.scalar(sa.select(Auction.current_price_fen).where(Auction.ref == ref))
                    base = PRICE if current is None else current + INCREMENT
                    amount = base + INCREMENT * rng.randint(0, 2)
                    b = place_bid(s, actor, ref, amount, clock=clock)
                    got = (b.seq, b.amount_fen, b.bidder_no)
                    s.commit()
                    with lock:
                        accepted.append(got)
                except DomainError as exc:
                    s.rollback()
                    with lock:
                        refused[exc.code] += 1
                except sa.exc.IntegrityError:
                    s.rollback()
                    with lock:
                        refused["integrity_error"] += 1
                except Exception as exc:  # noqa: BLE001
                    s.rollback()
                    with lock:
                        unexpected.append(repr(exc))
                finally:
                    s.close()

        threads = [threading.Thread(target=bidder, args=(i,)) for i in range(THREADS)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        print(f"\n{THREADS}x{ATTEMPTS} bid attempts in {elapsed:.1f} s: {len(accepted)} accepted, "
              f"refused {dict(refused)}")

        assert unexpected == []
        assert len(accepted) + sum(refused.values()) == THREADS * ATTEMPTS
        # Only the refusals contention explains; a lock that works never lets the database refuse.
        assert set(refused) <= {"bid_too_low", "already_leading"}, refused
        assert len(accepted) >= 100 and refused["bid_too_low"] > 0  # there was real contention

        with database.session_scope() as s:
            a = s.scalar(sa.select(Auction).where(Auction.ref == ref))
            rows = s.execute(sa.select(Bid.seq, Bid.amount_fen, Bid.bidder_no, Bid.placed_at, Bid.sealed)
                             .where(Bid.auction_id == a.id).order_by(Bid.seq)).all()
            n = len(rows)
            # No bid lost, none doubled: the record is exactly what the bidders were told was accepted.
            assert n == len(accepted)
            assert sorted(accepted) == [(r.seq, r.amount_fen, r.bidder_no) for r in rows]
            assert [r.seq for r in rows] == list(range(1, n + 1))
            amounts = [r.amount_fen for r in rows]
            assert all(x < y for x, y in zip(amounts, amounts[1:]))
            assert amounts[0] >= PRICE and all((x - PRICE) % INCREMENT == 0 for x in amounts)
            assert all(x.placed_at <= y.placed_at for x, y in zip(rows, rows[1:]))
            # The leader may not raise its own bid here: no bidder follows itself.
            assert all(x.bidder_no != y.bidder_no for x, y in zip(rows, rows[1:]))
            assert not any(r.sealed for r in rows)
            # The snapshot agrees with the record.
            last = rows[-1]
            assert a.bid_count == n
            assert a.current_price_fen == max(amounts) == last.amount_fen
            assert a.leader_bidder_no == last.bidder_no and a.last_bid_at == last.placed_at
            assert a.effective_end_at == max(free_end, last.placed_at) + timedelta(seconds=countdown)
            end, top, leader = a.effective_end_at, last.amount_fen, last.bidder_no

        # Close when the countdown runs out: exactly one deal, at the highest bid, to the leader.
        clock.set(end)
        with database.session_scope() as s:
            close_if_due(s, ref, clock=clock)

        def outcome() -> tuple:
            with database.session_scope() as s:
                a = s.scalar(sa.select(Auction).where(Auction.ref == ref))
                deals = s.execute(sa.select(Deal.price_fen, Deal.buyer_party_id, Deal.method, Deal.state)
                                  .where(Deal.auction_id == a.id)).all()
                closed_events = s.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
                    AuditEvent.action == "auction.closed", AuditEvent.subject_ref == ref))
                return (a.state.value, a.hammer_price_fen, a.winner_bidder_no, a.bid_count,
                        [tuple(d) for d in deals], closed_events)

        first = outcome()
        assert first[:4] == ("closed", top, leader, n)
        assert len(first[4]) == 1
        price, buyer, method, deal_state = first[4][0]
        assert (price, method.value, deal_state.value) == (top, "auction", "struck")
        assert buyer == party_of[leader]
        assert first[5] == 1
        # Closing again, by request or by the sweep, changes nothing; late bids are refused.
        clock.advance(seconds=10)
        with database.session_scope() as s:
            close_if_due(s, ref, clock=clock)
        with database.session_scope() as s:
            assert close_due_auctions(s, clock) == 0
        s = database.sessionmaker()
        try:
            with pytest.raises(DomainError) as late:
                place_bid(s, actors[0], ref, top + INCREMENT, clock=clock)
            assert late.value.code == "auction_closed"
        finally:
            s.rollback()
            s.close()
        assert outcome() == first
        with database.session_scope() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(AuctionBidder)
                            .where(AuctionBidder.auction_id == a.id)) == THREADS


# -- several sweeps at once --------------------------------------------------------------------------
def test_concurrent_sweeps_close_each_due_auction_once(require_pg, app, db_url, tmp_path):  # type: ignore[no-untyped-def]
    from auctions.jobs import close_due_auctions
    from auctions.models import Auction, Deal
    from auctions.service import place_bid
    from exchange.models import AuditEvent

    auctions_n, sweeps = 8, 4
    clock = FakeClock(PUBLISH_AT)
    with committed_scenario(db_url) as database:
        with database.session_scope() as s:
            p = people(s, clock, 2)
            listing_refs = [listing_with_buyers(s, clock, p, str(tmp_path)) for _ in range(auctions_n)]
        with database.session_scope() as s:
            for lref in listing_refs:
                assert end_publicity(s, clock, lref) == "in_auction"
        with database.session_scope() as s:
            auctions = [_auction_of(s, lref) for lref in listing_refs]
            refs = [a.ref for a in auctions]
            starts = max(a.starts_at for a in auctions)
            ends = max(a.effective_end_at for a in auctions)
        # Half the auctions get bids (a deal each), half none (unsold).
        clock.set(starts + timedelta(minutes=1))
        b1, b2 = (Actor.of(u) for u in p.buyers)
        with database.session_scope() as s:
            for ref in refs[: auctions_n // 2]:
                place_bid(s, b1, ref, PRICE, clock=clock)
                place_bid(s, b2, ref, PRICE + INCREMENT, clock=clock)
        clock.set(ends + timedelta(seconds=1))

        barrier = threading.Barrier(sweeps)
        closed: list[int] = []
        errors: list[str] = []
        lock = threading.Lock()

        def sweep() -> None:
            barrier.wait()
            for _ in range(2):
                try:
                    with database.session_scope() as s:
                        n = close_due_auctions(s, clock)
                    with lock:
                        closed.append(n)
                except Exception as exc:  # noqa: BLE001
                    with lock:
                        errors.append(repr(exc))

        threads = [threading.Thread(target=sweep) for _ in range(sweeps)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert errors == []
        assert sum(closed) == auctions_n, closed
        with database.session_scope() as s:
            assert close_due_auctions(s, clock) == 0
            rows = s.execute(sa.select(Auction.ref, Auction.state, Auction.unsold, Auction.hammer_price_fen)
                             .where(Auction.ref.in_(refs))).all()
            assert {r.ref for r in rows} == set(refs)
            by_ref = {r.ref: r for r in rows}
            for i, ref in enumerate(refs):
                r = by_ref[ref]
                assert r.state.value == "closed"
                assert r.unsold is (i >= auctions_n // 2)
                assert r.hammer_price_fen == (PRICE + INCREMENT if i < auctions_n // 2 else None)
            ids = s.scalars(sa.select(Auction.id).where(Auction.ref.in_(refs))).all()
            deals = s.execute(sa.select(Deal.auction_id, Deal.buyer_party_id, Deal.price_fen)
                              .where(Deal.auction_id.in_(ids))).all()
            assert len(deals) == auctions_n // 2
            assert len({d.auction_id for d in deals}) == auctions_n // 2
            assert {(d.buyer_party_id, d.price_fen) for d in deals} == {(p.buyers[1].party_id, PRICE + INCREMENT)}
            events = Counter(s.scalars(sa.select(AuditEvent.subject_ref).where(
                AuditEvent.action == "auction.closed", AuditEvent.subject_ref.in_(refs))))
            assert events == Counter({ref: 1 for ref in refs})


# -- first acceptance wins; one sealed bid each -------------------------------------------------------
def _race(n: int, fn) -> tuple[list, Counter[str], list[str]]:  # type: ignore[no-untyped-def]
    """Run ``fn(i)`` in ``n`` threads released together; collect results, refusal codes, surprises."""
    barrier = threading.Barrier(n)
    results: list = []
    refused: Counter[str] = Counter()
    unexpected: list[str] = []
    lock = threading.Lock()

    def run(i: int) -> None:
        barrier.wait()
        try:
            got = fn(i)
            with lock:
                results.append(got)
        except DomainError as exc:
            with lock:
                refused[exc.code] += 1
        except Exception as exc:  # noqa: BLE001
            with lock:
                unexpected.append(repr(exc))

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, refused, unexpected


def test_concurrent_descending_acceptances_one_wins(require_pg, app, db_url, tmp_path):  # type: ignore[no-untyped-def]
    from auctions.models import Auction, Bid, Deal
    from auctions.service import place_bid

    n = 8
    clock = FakeClock(PUBLISH_AT)
    with committed_scenario(db_url) as database:
        with database.session_scope() as s:
            p = people(s, clock, n)
            listing_ref = listing_with_buyers(s, clock, p, str(tmp_path), auction_format="descending")
        with database.session_scope() as s:
            assert end_publicity(s, clock, listing_ref) == "in_auction"
        with database.session_scope() as s:
            a = _auction_of(s, listing_ref)
            ref, auction_id = a.ref, a.id
            clock.set(a.starts_at + timedelta(seconds=a.step_interval_seconds * 2 + 1))
            expected_price = a.start_price_fen - 2 * a.step_down_fen
            party_of = {b.bidder_no: b.party_id for b in a.bidders}
        actors = [Actor.of(u) for u in p.buyers]

        def accept(i: int) -> str:
            with database.session_scope() as s:
                return place_bid(s, actors[i], ref, 1, clock=clock).bidder_no

        winners, refused, unexpected = _race(n, accept)
        assert unexpected == []
        assert len(winners) == 1 and refused == Counter({"auction_closed": n - 1})
        with database.session_scope() as s:
            a = s.get(Auction, auction_id)
            assert (a.state.value, a.hammer_price_fen, a.winner_bidder_no, a.bid_count) == (
                "closed", expected_price, winners[0], 1)
            assert s.scalar(sa.select(sa.func.count()).select_from(Bid).where(Bid.auction_id == auction_id)) == 1
            deals = s.execute(sa.select(Deal.buyer_party_id, Deal.price_fen).where(Deal.auction_id == auction_id)).all()
            assert [tuple(d) for d in deals] == [(party_of[winners[0]], expected_price)]


def test_concurrent_sealed_bids_one_per_bidder(require_pg, app, db_url, tmp_path):  # type: ignore[no-untyped-def]
    from auctions.models import Auction, Bid
    from auctions.service import place_bid

    tries = 6
    clock = FakeClock(PUBLISH_AT)
    with committed_scenario(db_url) as database:
        p, ref, auction_id = _started_auction(database, clock, str(tmp_path), 2, auction_format="sealed")
        # The same bidder sends its sealed bid from several windows at once, with different amounts.
        actor = Actor.of(p.buyers[0])

        def send(i: int) -> int:
            with database.session_scope() as s:
                return place_bid(s, actor, ref, PRICE + i * 10_000, clock=clock).amount_fen

        kept, refused, unexpected = _race(tries, send)
        assert unexpected == []
        assert len(kept) == 1 and refused == Counter({"sealed_bid_exists": tries - 1})
        with database.session_scope() as s:
            rows = s.execute(sa.select(Bid.seq, Bid.amount_fen, Bid.sealed).where(Bid.auction_id == auction_id)).all()
            assert [tuple(r) for r in rows] == [(1, kept[0], True)]
            assert s.get(Auction, auction_id).bid_count == 1


# -- who queues for the lock ----------------------------------------------------------------------------
def test_a_bid_already_too_low_does_not_queue_for_the_lock(require_pg, app, db_url, tmp_path):  # type: ignore[no-untyped-def]
    """While another transaction holds the auction's row lock (a bid being written), a bid at or
    under the committed price is refused at once; a bid that could win waits for the lock."""
    from auctions.models import Auction, Bid
    from auctions.service import place_bid

    clock = FakeClock(PUBLISH_AT)
    with committed_scenario(db_url) as database:
        p, ref, auction_id = _started_auction(database, clock, str(tmp_path), 2)
        first, second = (Actor.of(u) for u in p.buyers)
        with database.session_scope() as s:
            place_bid(s, first, ref, PRICE, clock=clock)

        holder = database.engine.connect()
        holder.begin()
        holder.execute(sa.select(Auction.id).where(Auction.ref == ref).with_for_update())
        try:
            def attempt(amount: int) -> str:
                s = database.sessionmaker()
                try:
                    s.execute(sa.text("SET LOCAL lock_timeout = '300ms'"))
                    started = time.monotonic()
                    try:
                        place_bid(s, second, ref, amount, clock=clock)
                        return "accepted"
                    except DomainError as exc:
                        assert time.monotonic() - started < 0.25, "a refusal before the lock must not wait"
                        return exc.code
                    except sa.exc.OperationalError as exc:
                        assert "lock timeout" in str(exc).lower(), exc
                        return "waited for the lock"
                finally:
                    s.rollback()
                    s.close()

            assert attempt(PRICE) == "bid_too_low"                    # equal to the committed price
            assert attempt(PRICE - INCREMENT) == "bid_too_low"        # under it
            assert attempt(PRICE + INCREMENT) == "waited for the lock"  # could win: decided under the lock
            assert attempt(PRICE + INCREMENT // 2) == "waited for the lock"  # off the grid: the lock decides too
        finally:
            holder.rollback()
            holder.close()
        with database.session_scope() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Bid).where(Bid.auction_id == auction_id)) == 1
            place_bid(s, second, ref, PRICE + INCREMENT, clock=clock)  # lock free again: accepted


# -- the same race over HTTP, through the bid lane ----------------------------------------------------
def test_concurrent_bids_through_the_bid_lane(require_pg, app, db_url, tmp_path):  # type: ignore[no-untyped-def]
    """16 clients post bids at once through a WSGI entry of its own (the bid lane, which production's API
    bids take), with real commits: every receipt is a stored bid and every stored bid had a receipt,
    the record is gapless and rising, and a retry of any accepted bid replays its receipt."""
    import json
    import uuid

    from auctions.models import Auction, AuctionBidder, Bid
    from exchange.app import create_app
    from exchange.auth import issue_token
    from exchange.models import IdempotencyRecord

    clock = FakeClock(PUBLISH_AT)
    attempts = 60
    with committed_scenario(db_url) as database:
        p, ref, auction_id = _started_auction(database, clock, str(tmp_path), THREADS)
        with database.session_scope() as s:
            tokens = [issue_token(s, s.merge(u), "race", clock)[1] for u in p.buyers]
        # An app of its own, on the scenario's engine (not the per-test rolled-back connection).
        web = create_app("testing", overrides={"DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "inst")},
                         clock=clock)
        web.extensions["exchange.db"].engine.dispose()
        web.extensions["exchange.db"] = database
        lane = web.extensions["exchange.bid_lane"]
        with database.session_scope() as s:
            seat = dict(s.execute(sa.select(AuctionBidder.party_id, AuctionBidder.bidder_no)
                                  .where(AuctionBidder.auction_id == auction_id)).all())
        token_of = {seat[u.party_id]: tokens[n] for n, u in enumerate(p.buyers)}
        barrier = threading.Barrier(THREADS)
        answers: list[tuple[int, dict, str, bytes]] = []
        lock = threading.Lock()

        def bidder(i: int) -> None:
            client = web.test_client()
            rng = random.Random(i)
            known = PRICE - INCREMENT
            barrier.wait()
            for _ in range(attempts):
                amount = known + INCREMENT * rng.randint(1, 3)
                key = uuid.uuid4().hex
                body = json.dumps({"amount_fen": amount}).encode()
                r = client.post(f"/api/v1/auctions/{ref}/bids", data=body, content_type="application/json",
                                headers={"Authorization": f"Bearer {tokens[i]}", "Idempotency-Key": key})
                got = r.get_json()
                if r.status_code == 201:
                    known = got["auction"]["current_price_fen"]
                elif got.get("code") == "bid_too_low":
                    known = got["details"]["min_bid"] - INCREMENT
                with lock:
                    answers.append((r.status_code, got, key, body))
                clock.advance(milliseconds=1)

        served_before = lane.served
        threads = [threading.Thread(target=bidder, args=(i,)) for i in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

        assert len(answers) == THREADS * attempts
        print(f"\nthrough the lane: {Counter(a[0] for a in answers)}")
        codes = Counter(a[0] if a[0] == 201 else a[1]["code"] for a in answers)
        assert set(codes) <= {201, "bid_too_low", "already_leading"}, codes  # a lock that works leaves only these
        assert codes[201] >= 50 and codes["bid_too_low"] > 0, codes
        assert lane.served - served_before == THREADS * attempts, "every plain bid was the lane's"
        receipts = sorted((a[1]["seq"], a[1]["amount_fen"], a[1]["bidder_no"]) for a in answers if a[0] == 201)
        with database.session_scope() as s:
            rows = s.execute(sa.select(Bid.seq, Bid.amount_fen, Bid.bidder_no).where(Bid.auction_id == auction_id)
                             .order_by(Bid.seq)).all()
            a = s.get(Auction, auction_id)
            assert receipts == [tuple(r) for r in rows]
            assert [r.seq for r in rows] == list(range(1, len(rows) + 1)) == list(range(1, a.bid_count + 1))
            assert all(x.amount_fen < y.amount_fen for x, y in zip(rows, rows[1:]))
            assert a.current_price_fen == rows[-1].amount_fen and a.leader_bidder_no == rows[-1].bidder_no
            assert s.scalar(sa.select(sa.func.count()).select_from(IdempotencyRecord)
                            .where(IdempotencyRecord.endpoint == "auctions_api.place_bid")) >= len(rows)
        # A retry of an accepted bid replays its receipt and places nothing.
        _, first, key, body = next(x for x in answers if x[0] == 201)
        again = web.test_client().post(f"/api/v1/auctions/{ref}/bids", data=body, content_type="application/json",
                                       headers={"Authorization": f"Bearer {token_of[first['bidder_no']]}",
                                                "Idempotency-Key": key})
        assert again.status_code == 201 and again.get_json() == first
        assert again.headers.get("Idempotent-Replayed") == "true"
        with database.session_scope() as s:
            assert s.scalar(sa.select(sa.func.count()).select_from(Bid).where(Bid.auction_id == auction_id)) == len(rows)

