"""The double-entry ledger in the database: accounts, posting, reversal, balances, verification.

Entries are built by the pure builders of ``settlement.domain.ledger`` and checked
to balance before they are flushed; on PostgreSQL the database checks again at
commit (``settlement.models.LEDGER_TRIGGER_SQL``). Every entry carries a unique
``source_key`` naming the business event it records, so posting the same event
twice returns the first entry and changes nothing.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.clock import Clock
from exchange.errors import ConflictError, NotFoundError, ValidationError
from exchange.models import Party
from exchange.money import Money
from exchange.refs import next_reference
from settlement.domain import AccountKind, Posting, account_key, check_balanced, kind_of_key, reverse
from settlement.models import EntryKind, JournalEntry, LedgerAccount, LedgerPosting
from settlement.service.common import lock, log_event, serialise_writes

K = AccountKind
BANK = account_key(K.BANK_CLEARING)
POOL = account_key(K.DEPOSIT_POOL)
SUSPENSE = account_key(K.SUSPENSE)
FEE_INCOME = account_key(K.FEE_INCOME)
FORFEITURE_INCOME = account_key(K.FORFEITURE_INCOME)


def cash_key(party: Party) -> str:
    return account_key(K.PARTY_CASH, party.ref)


def deposit_key(party: Party) -> str:
    return account_key(K.PARTY_DEPOSIT, party.ref)


def receivable_key(party: Party) -> str:
    return account_key(K.PARTY_RECEIVABLE, party.ref)


def escrow_key(deal_ref: str) -> str:
    return account_key(K.ESCROW, deal_ref)


_ACCOUNT_CACHE = "settlement.account_ids"


def _cache(session: Session) -> dict[tuple[str, str], int]:
    """Account ids known in this transaction (a rolled-back one may have created rows that are gone)."""
    tx = session.get_transaction()
    found = session.info.get(_ACCOUNT_CACHE)
    if found is None or found[0] is not tx:
        found = (tx, {})
        session.info[_ACCOUNT_CACHE] = found
    return found[1]


def account_ids(session: Session, pairs: Iterable[tuple[str, str]], *, now: datetime) -> dict[tuple[str, str], int]:
    """The ids of the accounts with these (key, currency), each opened on first use (at ``now``)."""
    cache = _cache(session)
    wanted = set(pairs)
    missing = wanted - set(cache)
    if missing:
        rows = session.execute(sa.select(LedgerAccount.key, LedgerAccount.currency, LedgerAccount.id)
                               .where(LedgerAccount.key.in_(sorted({k for k, _ in missing}))))
        for key, currency, aid in rows:
            cache[(key, currency)] = aid
        for key, currency in sorted(missing - set(cache)):
            cache[(key, currency)] = _open(session, key, currency, now)
    return {pair: cache[pair] for pair in wanted}


def _open(session: Session, key: str, currency: str, now: datetime) -> int:
    kind = kind_of_key(key)
    party_id = None
    if kind.is_party:
        owner = key.split(":", 1)[1]
        party_id = session.scalar(sa.select(Party.id).where(Party.ref == owner))
        if party_id is None:
            raise ValidationError(f"No party {owner} for account {key}.", code="invalid_account")
    try:
        # A concurrent first use inserts the same key: the savepoint lets us read theirs instead.
        with session.begin_nested():
            acc = LedgerAccount(key=key, kind=kind, party_id=party_id, currency=currency, balance_fen=0,
                                created_at=now)
            session.add(acc)
        return acc.id
    except sa.exc.IntegrityError:
        return session.scalar(sa.select(LedgerAccount.id).where(LedgerAccount.key == key,
                                                                LedgerAccount.currency == currency))


def post(session: Session, *, kind: EntryKind, postings: Iterable[Posting], source_key: str, actor: Actor,
         clock: Clock, memo: str = "", deal_id: int | None = None, party_id: int | None = None,
         reverses: JournalEntry | None = None) -> JournalEntry:
    """Record one balanced entry, once per ``source_key``; a replay returns the entry already posted.

    Raises ``ValidationError`` ``unbalanced_entry`` / ``zero_posting`` before anything is written.
    The entry and its postings are flushed together (one transaction writes the whole entry, as the
    PostgreSQL trigger demands), then the cached balances move by the entry's deltas.
    """
    existing = session.scalar(sa.select(JournalEntry).where(JournalEntry.source_key == source_key))
    if existing is not None:
        return existing
    lines = check_balanced(postings)
    serialise_writes(session)
    now = clock.now()
    ids = account_ids(session, ((p.account_key, p.amount.currency) for p in lines), now=now)
    entry = JournalEntry(ref=next_reference(session, "J", now.year, width=8), kind=kind, source_key=source_key,
                         memo=memo, deal_id=deal_id, party_id=party_id,
                         reverses_entry_id=reverses.id if reverses is not None else None,
                         created_at=now, created_by=actor.label)
    entry.postings = [LedgerPosting(account_id=ids[(p.account_key, p.amount.currency)], amount_fen=p.amount.fen,
                                    currency=p.amount.currency) for p in lines]
    session.add(entry)
    session.flush()
    deltas: dict[int, int] = defaultdict(int)
    for p in lines:
        deltas[ids[(p.account_key, p.amount.currency)]] += p.amount.fen
    moved = {aid: d for aid, d in deltas.items() if d}
    if moved:
        # One statement; an SQL expression, so the cache moves by the delta whatever was there before.
        session.execute(sa.update(LedgerAccount).where(LedgerAccount.id.in_(sorted(moved)))
                        .values(balance_fen=LedgerAccount.balance_fen + sa.case(moved, value=LedgerAccount.id))
                        .execution_options(synchronize_session=False))
        for aid in moved:
            loaded = session.identity_map.get(session.identity_key(LedgerAccount, aid))
            if loaded is not None:
                session.expire(loaded, ["balance_fen"])
    return entry


def entry_postings(entry: JournalEntry) -> list[Posting]:
    """An entry's lines as domain postings (account keys and Money)."""
    return [Posting(p.account.key, Money(p.amount_fen, p.currency)) for p in entry.postings]


def load_entry(session: Session, ref: str) -> JournalEntry:
    """A journal entry by its reference, or ``entry_not_found``."""
    entry = session.scalar(sa.select(JournalEntry).where(JournalEntry.ref == ref))
    if entry is None:
        raise NotFoundError(f"No journal entry {ref}.", code="entry_not_found")
    return entry


def reverse_entry(session: Session, actor: Actor, entry: JournalEntry, reason: str, *, clock: Clock,
                  source_key: str | None = None) -> JournalEntry:
    """Post the reversal of ``entry`` (each line negated). An entry is reversed at most once;
    a reversal is never itself reversed (post the original business event again instead)."""
    if entry.kind == EntryKind.REVERSAL:
        raise ConflictError("A reversal is not reversed; record the event again.", code="entry_is_reversal")
    key = source_key or f"reverse:{entry.ref}"
    done = session.scalar(sa.select(JournalEntry).where(JournalEntry.reverses_entry_id == entry.id))
    if done is not None:
        if done.source_key == key:
            return done
        raise ConflictError("Entry %(ref)s is already reversed by %(by)s.", params={"ref": entry.ref, "by": done.ref},
                            code="entry_already_reversed")
    rev = post(session, kind=EntryKind.REVERSAL, postings=reverse(entry_postings(entry)), source_key=key,
               actor=actor, clock=clock, memo=f"reversal of {entry.ref}: {reason}", deal_id=entry.deal_id,
               party_id=entry.party_id, reverses=entry)
    log_event(session, actor, "ledger.entry_reversed", "journal_entry", entry.ref, clock,
              after={"reversal": rev.ref}, reason=reason)
    return rev


# -- balances ----------------------------------------------------------------------------------
def balance_fen(session: Session, key: str, currency: str = "CNY") -> int:
    """An account's balance derived from its postings (positive = debit)."""
    # SUM of a bigint is numeric on PostgreSQL: back to int fen.
    return int(session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LedgerPosting.amount_fen), 0))
        .join(LedgerAccount, LedgerAccount.id == LedgerPosting.account_id)
        .where(LedgerAccount.key == key, LedgerAccount.currency == currency)) or 0)


def available_cash_fen(session: Session, party: Party, currency: str = "CNY", *, for_update: bool = False) -> int:
    """The free cash the exchange holds for ``party`` (its party_cash account's credit balance).

    With ``for_update`` the account row is locked and its cached balance read: every posting moves
    the cache in its own transaction and the lock keeps it still, so it is the sum of the postings
    (``verify_ledger`` proves it) and two spends of the same cash queue up. Without it, the balance
    is derived from the postings.
    """
    key = cash_key(party)
    if for_update:
        cached = session.scalar(lock(sa.select(LedgerAccount.balance_fen).where(LedgerAccount.key == key,
                                                                                 LedgerAccount.currency == currency)))
        return -int(cached or 0)
    return -balance_fen(session, key, currency)


def derived_balances(session: Session) -> dict[int, int]:
    """Every account's balance as the sum of its postings, by account id."""
    rows = session.execute(sa.select(LedgerPosting.account_id, sa.func.sum(LedgerPosting.amount_fen))
                           .group_by(LedgerPosting.account_id))
    return {aid: int(total) for aid, total in rows}


@dataclass(frozen=True)
class LedgerCheck:
    ok: bool
    entries: int
    postings: int
    unbalanced_entries: list[str]
    short_entries: list[str]
    cache_mismatches: list[dict]
    totals_fen: dict[str, int]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "entries": self.entries, "postings": self.postings,
                "unbalanced_entries": self.unbalanced_entries, "short_entries": self.short_entries,
                "cache_mismatches": self.cache_mismatches, "totals_fen": self.totals_fen}


def verify_ledger(session: Session) -> LedgerCheck:
    """Recompute everything from the postings: every entry balances per currency and has two or
    more lines, the whole ledger sums to zero per currency, and each cached balance matches."""
    unbalanced = list(session.scalars(
        sa.select(JournalEntry.ref).join(LedgerPosting, LedgerPosting.entry_id == JournalEntry.id)
        .group_by(JournalEntry.ref, LedgerPosting.currency).having(sa.func.sum(LedgerPosting.amount_fen) != 0)))
    counts = sa.select(LedgerPosting.entry_id, sa.func.count().label("n")).group_by(LedgerPosting.entry_id).subquery()
    short = list(session.scalars(
        sa.select(JournalEntry.ref).outerjoin(counts, counts.c.entry_id == JournalEntry.id)
        .where(sa.func.coalesce(counts.c.n, 0) < 2)))
    derived = derived_balances(session)
    mismatches = []
    for acc in session.scalars(sa.select(LedgerAccount).order_by(LedgerAccount.id)):
        if acc.balance_fen != derived.get(acc.id, 0):
            mismatches.append({"account": acc.key, "currency": acc.currency, "cached_fen": acc.balance_fen,
                               "derived_fen": derived.get(acc.id, 0)})
    totals = {cur: int(total) for cur, total in session.execute(
        sa.select(LedgerPosting.currency, sa.func.sum(LedgerPosting.amount_fen)).group_by(LedgerPosting.currency))}
    n_entries = session.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) or 0
    n_postings = session.scalar(sa.select(sa.func.count()).select_from(LedgerPosting)) or 0
    ok = not unbalanced and not short and not mismatches and all(v == 0 for v in totals.values())
    return LedgerCheck(ok, n_entries, n_postings, sorted(set(unbalanced)), short, mismatches, totals)
