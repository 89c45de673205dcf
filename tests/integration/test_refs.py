"""Reference numbers people read (`L2026-000001`): one counter per prefix and year, never a duplicate."""
from __future__ import annotations

import re
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.db import create_db_engine
from exchange.models import ReferenceCounter
from exchange.refs import PREFIXES, next_reference

# Years no other test uses, so the counters start from nothing inside the rolled-back transaction.
Y = 2091


def test_format_and_sequence(session):
    assert next_reference(session, "L", Y) == f"L{Y}-000001"
    assert next_reference(session, "L", Y) == f"L{Y}-000002"
    assert next_reference(session, "L", Y) == f"L{Y}-000003"
    assert next_reference(session, "AU", Y) == f"AU{Y}-000001"
    assert next_reference(session, "PAY", Y, width=8) == f"PAY{Y}-00000001"
    assert re.fullmatch(r"L\d{4}-\d{6}", next_reference(session, "L", Y))


def test_separate_counters_per_prefix_and_year(session):
    assert next_reference(session, "D", Y) == f"D{Y}-000001"
    assert next_reference(session, "D", Y + 1) == f"D{Y + 1}-000001"
    assert next_reference(session, "C", Y) == f"C{Y}-000001"
    assert next_reference(session, "D", Y) == f"D{Y}-000002"
    assert next_reference(session, "D", Y + 1) == f"D{Y + 1}-000002"
    rows = session.execute(sa.select(ReferenceCounter.prefix, ReferenceCounter.year, ReferenceCounter.last_value)
                           .where(ReferenceCounter.year.in_([Y, Y + 1])).order_by(ReferenceCounter.prefix,
                                                                                  ReferenceCounter.year)).all()
    assert [tuple(r) for r in rows] == [("C", Y, 1), ("D", Y, 2), ("D", Y + 1, 2)]


def test_counter_continues_after_commit_and_survives_a_rolled_back_caller(session):
    assert next_reference(session, "T", Y) == f"T{Y}-000001"
    session.commit()
    # A caller that fails rolls back its number with everything else; the number is then reused,
    # which is fine: it was never seen outside the failed transaction.
    nested = session.begin_nested()
    assert next_reference(session, "T", Y) == f"T{Y}-000002"
    nested.rollback()
    assert next_reference(session, "T", Y) == f"T{Y}-000002"


def test_number_wider_than_the_padding_is_not_cut(session):
    session.add(ReferenceCounter(prefix="V", year=Y, last_value=999_999))
    session.flush()
    assert next_reference(session, "V", Y) == f"V{Y}-1000000"


@pytest.mark.parametrize("prefix", ["X", "", "l", "LL", "PAYMENT", None])
def test_unknown_prefix_refused(session, prefix):
    with pytest.raises(ValueError):
        next_reference(session, prefix, Y)
    assert session.scalar(sa.select(sa.func.count()).select_from(ReferenceCounter)
                          .where(ReferenceCounter.year == Y)) == 0


def test_every_prefix_fits_the_counter_and_ref_columns():
    width = ReferenceCounter.__table__.c.prefix.type.length
    for prefix in PREFIXES:
        assert prefix.isupper() and len(prefix) <= width
        # prefix + year + "-" + 6 digits must fit the String(20) ref columns of the models.
        assert len(f"{prefix}2026-000000") <= 20


@pytest.mark.postgres
def test_concurrent_references_are_unique(require_pg, db_url):
    """8 threads × 25 references, each in its own committed transaction, racing on a fresh counter."""
    prefix, year, threads, per_thread = "PAY", 2099, 8, 25
    engine = create_db_engine(db_url, pool_size=threads, max_overflow=0)
    cleanup = sa.delete(ReferenceCounter).where(ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)
    with engine.begin() as c:
        c.execute(cleanup)
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)

    def work() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                with Session(engine) as s, s.begin():
                    ref = next_reference(s, prefix, year)
                with lock:
                    results.append(ref)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(threads)]
    try:
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=60)
        assert not errors, errors
        assert len(results) == threads * per_thread
        assert len(set(results)) == len(results)
        # Dense as well as unique: every number from 1 up was handed out exactly once.
        assert sorted(int(r.split("-")[1]) for r in results) == list(range(1, threads * per_thread + 1))
        with engine.connect() as c:
            assert c.scalar(sa.select(ReferenceCounter.last_value).where(
                ReferenceCounter.prefix == prefix, ReferenceCounter.year == year)) == threads * per_thread
    finally:
        with engine.begin() as c:
            c.execute(cleanup)
        engine.dispose()
