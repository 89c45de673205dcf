"""The ledger in the database: balanced entries only, immutable rows, idempotent posting, reversals,
and on PostgreSQL a deferred trigger that refuses what bypasses the service."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from exchange.actors import Actor
from exchange.errors import ConflictError, ValidationError
from exchange.money import Money
from settlement.domain import Posting
from settlement.models import EntryKind, JournalEntry, LedgerAccount, LedgerPosting
from settlement.service import ledger
from tests.settlement_world import check_ledger

SYS = Actor.system("test")


def _count(session, model) -> int:  # type: ignore[no-untyped-def]
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def _post(session, clock, key: str, *amounts: tuple[str, int]):  # type: ignore[no-untyped-def]
    return ledger.post(session, kind=EntryKind.BANK_IN, postings=[Posting(k, Money(a)) for k, a in amounts],
                       source_key=key, actor=SYS, clock=clock)


def test_post_is_balanced_cached_and_idempotent(session, clock):
    e1 = _post(session, clock, "t:1", (ledger.BANK, 500), (ledger.SUSPENSE, -500))
    again = _post(session, clock, "t:1", (ledger.BANK, 500), (ledger.SUSPENSE, -500))
    assert again.id == e1.id and _count(session, JournalEntry) == 1 and _count(session, LedgerPosting) == 2
    _post(session, clock, "t:2", (ledger.BANK, 250), (ledger.SUSPENSE, -250))
    assert ledger.balance_fen(session, ledger.BANK) == 750
    acc = session.scalar(sa.select(LedgerAccount).where(LedgerAccount.key == ledger.BANK))
    session.refresh(acc)
    assert acc.balance_fen == 750
    check_ledger(session)


@pytest.mark.parametrize("amounts, code", [
    ([(ledger.BANK, 500), (ledger.SUSPENSE, -499)], "unbalanced_entry"),
    ([(ledger.BANK, 0), (ledger.SUSPENSE, 0)], "zero_posting"),
    ([(ledger.BANK, 500)], "unbalanced_entry"),
])
def test_unbalanced_entries_are_refused_before_anything_is_written(session, clock, amounts, code):
    with pytest.raises(ValidationError) as e:
        _post(session, clock, "t:bad", *amounts)
    assert e.value.code == code
    assert _count(session, JournalEntry) == 0 and _count(session, LedgerAccount) == 0


def test_currencies_never_net(session, clock):
    with pytest.raises(ValidationError):
        ledger.post(session, kind=EntryKind.BANK_IN, source_key="t:fx", actor=SYS, clock=clock,
                    postings=[Posting(ledger.BANK, Money(100, "CNY")), Posting(ledger.SUSPENSE, Money(-100, "USD"))])
    ledger.post(session, kind=EntryKind.BANK_IN, source_key="t:usd", actor=SYS, clock=clock,
                postings=[Posting(ledger.BANK, Money(100, "USD")), Posting(ledger.SUSPENSE, Money(-100, "USD"))])
    assert ledger.balance_fen(session, ledger.BANK, "USD") == 100 and ledger.balance_fen(session, ledger.BANK) == 0
    check_ledger(session)


def test_rows_are_immutable_in_the_orm(session, clock):
    e = _post(session, clock, "t:imm", (ledger.BANK, 500), (ledger.SUSPENSE, -500))
    e.postings[0].amount_fen = 1
    with pytest.raises(RuntimeError, match="immutable"):
        session.flush()
    session.rollback()
    e = session.scalar(sa.select(JournalEntry))
    assert e is None or e.postings[0].amount_fen in (500, -500)


def test_reversal_cancels_once(session, clock):
    e = _post(session, clock, "t:rev", (ledger.BANK, 500), (ledger.SUSPENSE, -500))
    r = ledger.reverse_entry(session, SYS, e, "keyed twice by mistake", clock=clock)
    assert r.reverses_entry_id == e.id and sorted(p.amount_fen for p in r.postings) == [-500, 500]
    assert ledger.reverse_entry(session, SYS, e, "again", clock=clock).id == r.id
    with pytest.raises(ConflictError) as err:
        ledger.reverse_entry(session, SYS, e, "other", clock=clock, source_key="other")
    assert err.value.code == "entry_already_reversed"
    with pytest.raises(ConflictError):
        ledger.reverse_entry(session, SYS, r, "undo the undo", clock=clock)
    assert ledger.balance_fen(session, ledger.BANK) == 0
    check_ledger(session)


def test_verify_finds_a_tampered_cache(session, clock):
    _post(session, clock, "t:cache", (ledger.BANK, 500), (ledger.SUSPENSE, -500))
    session.execute(sa.update(LedgerAccount).where(LedgerAccount.key == ledger.BANK).values(balance_fen=499))
    check = ledger.verify_ledger(session)
    assert not check.ok and check.cache_mismatches == [{"account": ledger.BANK, "currency": "CNY",
                                                        "cached_fen": 499, "derived_fen": 500}]


# -- PostgreSQL: the database refuses what goes around the service ------------------------------------------
def _raw_entry(conn, ref: str, *amounts: int, accounts: tuple[int, int]) -> int:  # type: ignore[no-untyped-def]
    eid = conn.exec_driver_sql(
        "INSERT INTO journal_entries (ref, kind, source_key, memo, created_at, created_by) "
        "VALUES (%s, 'bank_in', %s, '', now(), 'raw sql') RETURNING id", (ref, f"raw:{ref}")).scalar()
    for i, a in enumerate(amounts):
        conn.exec_driver_sql("INSERT INTO postings (entry_id, account_id, amount_fen, currency) VALUES (%s, %s, %s, 'CNY')",
                             (eid, accounts[i % 2], a))
    return eid


def _accounts(session, clock) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    _post(session, clock, "t:open", (ledger.BANK, 1), (ledger.SUSPENSE, -1))
    ids = dict(session.execute(sa.select(LedgerAccount.key, LedgerAccount.id)).all())
    return ids[ledger.BANK], ids[ledger.SUSPENSE]


def _check_now(conn) -> None:  # type: ignore[no-untyped-def]
    conn.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
    conn.exec_driver_sql("SET CONSTRAINTS ALL DEFERRED")


@pytest.mark.postgres
@pytest.mark.parametrize("amounts", [(100, -99), (100,), ()], ids=["unbalanced", "one_posting", "no_posting"])
def test_pg_trigger_refuses_a_bad_entry_written_in_raw_sql(require_pg, session, clock, amounts):
    accts = _accounts(session, clock)
    conn = session.connection()
    sp = conn.begin_nested()
    _raw_entry(conn, "JRAW-1", *amounts, accounts=accts)
    with pytest.raises(sa.exc.IntegrityError, match="journal entry"):
        _check_now(conn)
    sp.rollback()


@pytest.mark.postgres
def test_pg_trigger_accepts_a_balanced_raw_entry_but_not_lines_added_later(require_pg, session, clock):
    accts = _accounts(session, clock)
    conn = session.connection()
    eid = _raw_entry(conn, "JRAW-2", 300, -300, accounts=accts)
    _check_now(conn)
    # A later writer (here a later savepoint, a distinct transaction id) adds a balanced pair: refused.
    sp = conn.begin_nested()
    for a, acc in ((7, accts[0]), (-7, accts[1])):
        conn.exec_driver_sql("INSERT INTO postings (entry_id, account_id, amount_fen, currency) VALUES (%s, %s, %s, 'CNY')",
                             (eid, acc, a))
    with pytest.raises(sa.exc.IntegrityError, match="immutable"):
        _check_now(conn)
    sp.rollback()


@pytest.mark.postgres
@pytest.mark.parametrize("sql", ["UPDATE postings SET amount_fen = amount_fen + 1",
                                 "DELETE FROM postings", "UPDATE journal_entries SET memo = 'edited'",
                                 "DELETE FROM journal_entries", "TRUNCATE postings CASCADE"])
def test_pg_refuses_update_delete_and_truncate(require_pg, session, clock, sql):
    _accounts(session, clock)
    conn = session.connection()
    _check_now(conn)  # TRUNCATE waits for no pending trigger events
    sp = conn.begin_nested()
    with pytest.raises(sa.exc.DBAPIError, match="immutable"):
        conn.exec_driver_sql(sql)
    sp.rollback()
    assert _count(session, LedgerPosting) == 2
