"""The auditor's incremental feed (GET /api/v1/audit/events?after_seq=N) never misses an event
that commits late.

Needs PostgreSQL: real concurrent transactions, committed for real (the events stay in
the chain, which they extend validly). On SQLite every transaction takes the write
lock at BEGIN, so there is nothing concurrent to show.
"""
from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from exchange.actors import Actor
from exchange.audit import record_event, verify_chain
from exchange.db import create_db_engine, get_db
from exchange.models import AuditEvent, Role
from tests.factories import auth, make_staff, token_for


@pytest.mark.postgres
def test_a_late_commit_is_never_skipped_by_the_feed(require_pg, app, db_url, clock):
    with get_db(app).session_scope() as s:
        auditor = make_staff(s, clock, Role.auditor)
    client = app.test_client()
    headers = auth(token_for(client, auditor))
    engine = create_db_engine(db_url, pool_size=3, max_overflow=0)
    with engine.connect() as c:
        start = c.scalar(sa.select(sa.func.max(AuditEvent.seq)))

    def feed(after: int) -> dict:
        r = client.get("/api/v1/audit/events", query_string={"after_seq": after, "limit": 100}, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)
        return r.get_json()

    first_recorded, release_first = threading.Event(), threading.Event()
    second_recorded, second_committed = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def writer(action: str, recorded: threading.Event, hold: threading.Event | None,
               committed: threading.Event | None) -> None:
        try:
            with Session(engine) as s, s.begin():
                record_event(s, actor=Actor.system("feed-test"), action=action, subject_type="test",
                             subject_ref="FEED-1", clock=clock)
                recorded.set()
                if hold is not None:
                    assert hold.wait(20), "never released"
            if committed is not None:
                committed.set()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            recorded.set()

    late = threading.Thread(target=writer, args=("feed.started_first_commits_late", first_recorded, release_first,
                                                 None))
    quick = threading.Thread(target=writer, args=("feed.started_second_commits_at_once", second_recorded, None,
                                                  second_committed))
    try:
        late.start()
        assert first_recorded.wait(10)
        quick.start()
        time.sleep(0.5)
        # The second writer cannot take a number while the first holds the next one uncommitted...
        assert not second_recorded.is_set()
        # ...so a reader polling now sees nothing new, and moves its cursor nowhere.
        seen = feed(start)
        assert seen["items"] == [] and seen["next_after_seq"] == start
        release_first.set()
        assert second_committed.wait(10)
        late.join(10)
        quick.join(10)
        assert not errors, errors
        # From the same cursor the reader now gets both, in commit order, with dense numbers.
        seen = feed(start)
        assert [(e["seq"], e["action"]) for e in seen["items"]] == [
            (start + 1, "feed.started_first_commits_late"), (start + 2, "feed.started_second_commits_at_once")]
        assert seen["next_after_seq"] == start + 2
        assert feed(start + 2)["items"] == []
        with Session(engine) as s:
            assert verify_chain(s).ok
    finally:
        release_first.set()
        late.join(10)
        quick.join(10)
        engine.dispose()
