"""The audit trail: an append-only, hash-chained record of every state change.

Each event's ``hash`` is the SHA-256 of its own fields together with the hash
of the event before it, so editing, inserting or deleting any stored event
breaks the chain from that point on and ``verify_chain`` names the first
broken link. Appends are serialised (a transaction-scoped advisory lock on
PostgreSQL; SQLite's write lock is already exclusive), which also makes ``seq``
follow commit order, so an incremental reader that asks for ``seq > last``
never misses an event that committed late.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.clock import Clock
from exchange.db import is_postgres
from exchange.jsonable import canonical_json, jsonable
from exchange.models import AuditEvent

GENESIS_HASH = "0" * 64
_AUDIT_LOCK_KEY = 0x7EC4A0D1  # arbitrary constant naming the audit append lock


def event_hash(fields: dict[str, Any], prev_hash: str) -> str:
    payload = canonical_json({**fields, "prev_hash": prev_hash})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _fields(ev: AuditEvent) -> dict[str, Any]:
    return {
        "seq": ev.seq,
        "occurred_at": ev.occurred_at.isoformat(),
        "actor_user_id": ev.actor_user_id,
        "actor": ev.actor,
        "action": ev.action,
        "subject_type": ev.subject_type,
        "subject_ref": ev.subject_ref,
        "before": ev.before,
        "after": ev.after,
        "reason": ev.reason,
    }


def record_event(
    session: Session,
    *,
    actor: Actor,
    action: str,
    subject_type: str,
    subject_ref: str,
    clock: Clock,
    before: Any = None,
    after: Any = None,
    reason: str | None = None,
) -> AuditEvent:
    """Append one event to the chain (flushes; the caller's transaction commits)."""
    if is_postgres(session):
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(_AUDIT_LOCK_KEY)))
    last = session.execute(
        sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    ev = AuditEvent(
        seq=seq,
        occurred_at=clock.now(),
        actor_user_id=actor.user_id,
        actor=actor.label,
        action=action,
        subject_type=subject_type,
        subject_ref=subject_ref,
        before=jsonable(before),
        after=jsonable(after),
        reason=reason,
        prev_hash=prev,
    )
    ev.hash = event_hash(_fields(ev), prev)
    session.add(ev)
    session.flush()
    return ev


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    first_broken_seq: int | None = None
    problem: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "first_broken_seq": self.first_broken_seq, "problem": self.problem}


def verify_events(events: Iterable[AuditEvent]) -> ChainReport:
    """Check a sequence of events ordered by seq from the start of the chain."""
    prev, expected_seq, n = GENESIS_HASH, 1, 0
    for ev in events:
        n += 1
        if ev.seq != expected_seq:
            return ChainReport(False, n, expected_seq, f"event {expected_seq} is missing")
        if ev.prev_hash != prev:
            return ChainReport(False, n, ev.seq, "does not link to the previous event")
        if event_hash(_fields(ev), prev) != ev.hash:
            return ChainReport(False, n, ev.seq, "contents do not match the recorded hash")
        prev, expected_seq = ev.hash, expected_seq + 1
    return ChainReport(True, n)


def verify_chain(session: Session, batch: int = 2000) -> ChainReport:
    """Walk the whole chain in seq order, in batches so memory stays flat."""
    def stream() -> Iterable[AuditEvent]:
        last = 0
        while True:
            rows = session.scalars(
                sa.select(AuditEvent).where(AuditEvent.seq > last).order_by(AuditEvent.seq).limit(batch)
            ).all()
            if not rows:
                return
            yield from rows
            last = rows[-1].seq

    return verify_events(stream())
