"""Concurrent writers on PostgreSQL: the same bank notification, the same payout and competing
refunds of the same cash, each from 8 threads in their own committed transactions. Nothing is
recorded twice and no cash is spent twice.

These need committed data, and ledger rows cannot be deleted afterwards (the database refuses it),
so they run in a scratch database of their own, created and dropped here.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from exchange.errors import DomainError
from settlement import service as svc
from settlement.models import BankNotification, DealSettlement, Disbursement, JournalEntry, PaymentPurpose
from settlement.service import ledger
from tests import settlement_world as sw
from tests.conftest import START

SCRATCH = "exchange_settlement_race"
THREADS = 8


@pytest.fixture(scope="module")
def race_app(db_url: str, is_pg: bool) -> Iterator:  # type: ignore[no-untyped-def]
    if not is_pg:
        pytest.skip("needs PostgreSQL (concurrent committed transactions); this run is on SQLite")
    import tempfile

    from exchange.app import create_app
    from exchange.calendar_store import seed_bundled_years
    from exchange.clock import FakeClock
    from exchange.db import create_db_engine
    from exchange.migrate import upgrade
    from exchange.model_registry import load_all_models

    url = sa.engine.make_url(db_url)
    admin = sa.create_engine(url.set(database="postgres"), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        c.exec_driver_sql(f"CREATE DATABASE {SCRATCH}")
    scratch = url.set(database=SCRATCH).render_as_string(hide_password=False)
    try:
        upgrade(scratch)
        eng = create_db_engine(scratch, poolclass=sa.pool.NullPool)
        load_all_models().create_all(eng)
        eng.dispose()
        clock = FakeClock(START)
        with tempfile.TemporaryDirectory() as inst:
            app = create_app("testing", overrides={"DATABASE_URL": scratch, "INSTANCE_PATH": inst}, clock=clock)
            with app.extensions["exchange.db"].session_scope() as s:
                seed_bundled_years(s, clock=clock)
            yield app, clock
            app.extensions["exchange.db"].engine.dispose()
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        admin.dispose()


def _race(fn, n: int = THREADS) -> list:  # type: ignore[no-untyped-def]
    """Run ``fn(i)`` in n threads released together; return what each returned or raised."""
    barrier = threading.Barrier(n)
    out: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            out[i] = fn(i)
        except Exception as exc:  # noqa: BLE001 - collected for the assertions
            out[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


@pytest.fixture(scope="module")
def ready_deal(race_app):  # type: ignore[no-untyped-def]
    """A committed deal whose price is in escrow and whose transfer is confirmed."""
    app, clock = race_app
    db = app.extensions["exchange.db"]
    with db.session_scope() as s:
        w = sw.build(s, clock, buyers=2)
        deal = sw.auction_deal(s, w)
        sw.in_force(s, w, deal)
        st = s.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))
        sw.pay(s, w, svc.obligations.outstanding_fen(st), PaymentPurpose.PRICE, deal.ref)
        svc.confirm_transfer(s, w.op_actor, deal.ref, evidence="登记完成", clock=clock)
        refs = (deal.ref, w.op.id, w.buyers[1].party.ref)
    return refs


@pytest.mark.postgres
def test_the_same_notification_from_eight_threads_is_recorded_once(race_app, ready_deal):
    app, clock = race_app
    db = app.extensions["exchange.db"]
    from exchange.actors import Actor
    from exchange.models import User

    _, op_id, buyer_ref = ready_deal
    cmd = svc.NotificationInput(bank_reference="RACE-0001", amount_fen=777, payer_name="买方",
                                purpose=PaymentPurpose.OTHER, payer_party_ref=buyer_ref)

    def notify(_i: int) -> tuple[str, bool]:
        with db.session_scope() as s:
            n, created = svc.receive_notification(s, Actor.of(s.get(User, op_id)), cmd, clock=clock)
            return n.ref, created

    results = _race(notify)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert len({ref for ref, _ in results}) == 1 and sum(created for _, created in results) == 1
    with db.session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(BankNotification)
                        .where(BankNotification.bank_reference == "RACE-0001")) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(JournalEntry)
                        .where(JournalEntry.source_key.like("bank:RACE-0001:%"))) == 1
        assert svc.verify_ledger(s).ok


@pytest.mark.postgres
def test_eight_concurrent_payouts_pay_once_and_refunds_never_overdraw(race_app, ready_deal):
    app, clock = race_app
    db = app.extensions["exchange.db"]
    from exchange.actors import Actor
    from exchange.models import User

    deal_ref, op_id, buyer_ref = ready_deal

    def payout(_i: int) -> str:
        with db.session_scope() as s:
            return svc.pay_out(s, Actor.of(s.get(User, op_id)), deal_ref, clock=clock).state.value

    results = _race(payout)
    assert results == ["paid_out"] * THREADS, results
    with db.session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Disbursement)
                        .where(Disbursement.kind == "payout")) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(JournalEntry)
                        .where(JournalEntry.source_key == f"deal:{deal_ref}:payout")) == 1
        # Some free cash for the buyer: a receipt matched to it by the operator.
        op = Actor.of(s.get(User, op_id))
        n, _ = svc.receive_notification(s, op, svc.NotificationInput(
            bank_reference="RACE-CASH", amount_fen=5_000, payer_name="买方", purpose=PaymentPurpose.OTHER),
            clock=clock)
        svc.match_notification(s, op, n.ref, "party", buyer_ref, clock=clock)
        cash = ledger.available_cash_fen(s, svc.common.load_party(s, buyer_ref))
    assert cash >= 5_000

    def refund(i: int) -> int:
        with db.session_scope() as s:
            d, _ = svc.refund(s, Actor.of(s.get(User, op_id)), buyer_ref, cash, "退回", key=f"race-{i}", clock=clock)
            return d.amount_fen

    results = _race(refund)
    paid = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, DomainError)]
    assert paid == [cash] and len(refused) == THREADS - 1, results
    assert {e.code for e in refused} == {"insufficient_cash"}
    with db.session_scope() as s:
        assert ledger.available_cash_fen(s, svc.common.load_party(s, buyer_ref)) == 0
        assert svc.verify_ledger(s).ok
