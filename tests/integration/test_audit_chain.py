"""The audit trail is a hash chain: editing, deleting or re-hashing any stored event is detected,
by the service, the CLI (`exchange audit verify`) and the API."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import sqlalchemy as sa

from exchange.actors import Actor
from exchange.audit import GENESIS_HASH, record_event, verify_chain
from exchange.models import AuditEvent, Role
from exchange.money import Money
from tests.factories import auth, make_member, make_staff, token_for

PROBLEM = "application/problem+json"


def _record(session, clock, n: int = 4) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    events = []
    for i in range(n):
        clock.advance(minutes=1)
        events.append(record_event(
            session, actor=Actor.system("test"), action=f"test.step_{i}", subject_type="test",
            subject_ref=f"X2026-{i:06d}", clock=clock,
            before=None if i == 0 else {"state": f"s{i - 1}"},
            after={"state": f"s{i}", "price": Money(100_000 * (i + 1)), "rate": Decimal("0.030"),
                   "day": date(2026, 10, 8), "tags": {"b", "a"}, "name": "上海技术交易所"},
            reason=f"step {i}"))
    session.commit()  # visible to the other sessions of the test connection (requests, CLI)
    return events


def _tamper(session, sql: str, **params) -> None:  # type: ignore[no-untyped-def]
    session.execute(sa.text(sql), params)
    session.commit()
    session.expire_all()  # read the rows back as stored, not as remembered


def test_events_are_chained(session, clock):
    last = session.execute(sa.select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)).first()
    events = _record(session, clock)
    seqs = [e.seq for e in events]
    assert seqs == list(range((last.seq if last else 0) + 1, (last.seq if last else 0) + 5))  # dense
    assert events[0].prev_hash == (last.hash if last else GENESIS_HASH)
    for prev, ev in zip(events, events[1:]):
        assert ev.prev_hash == prev.hash
    assert len({e.hash for e in events}) == 4


def test_empty_chain_and_genesis():
    from exchange.audit import verify_events

    assert verify_events([]).ok and verify_events([]).checked == 0
    first = AuditEvent(seq=2, prev_hash=GENESIS_HASH, hash="0" * 64)
    report = verify_events([first])
    assert (report.ok, report.first_broken_seq) == (False, 1)  # a chain starts at 1


def test_intact_chain_verifies(session, clock):
    events = _record(session, clock)
    session.expire_all()  # hashes must survive the round trip through the database (JSON, timestamps)
    report = verify_chain(session)
    assert report.ok, report
    assert report.checked >= len(events) and report.first_broken_seq is None and report.problem is None
    assert report.as_dict() == {"ok": True, "checked": report.checked, "first_broken_seq": None, "problem": None}


def test_verify_in_small_batches(session, clock):
    _record(session, clock, n=5)
    session.expire_all()
    full = verify_chain(session)
    assert verify_chain(session, batch=2) == full and full.ok


def test_edited_row_is_named(session, clock):
    events = _record(session, clock)
    target = events[1].seq
    _tamper(session, "UPDATE audit_events SET reason = 'x' WHERE seq = :seq", seq=target)
    report = verify_chain(session)
    assert not report.ok
    assert report.first_broken_seq == target
    assert "hash" in report.problem


def test_edited_json_payload_is_named(session, clock):
    events = _record(session, clock)
    target = events[2].seq
    # An edited amount: the stored document differs, whatever its key order in the database.
    row = session.get(AuditEvent, events[2].id)
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == target)
                    .values(after={**row.after, "price": {"fen": 1, "currency": "CNY"}}))
    session.commit()
    session.expire_all()
    report = verify_chain(session)
    assert (report.ok, report.first_broken_seq) == (False, target)


def test_edited_timestamp_and_actor_are_named(session, clock):
    events = _record(session, clock)
    _tamper(session, "UPDATE audit_events SET actor = 'system:someone-else' WHERE seq = :seq", seq=events[3].seq)
    assert verify_chain(session).first_broken_seq == events[3].seq
    # Written with the column's own type, as the app stores times on each backend (no driver-default adapter).
    session.execute(sa.update(AuditEvent).where(AuditEvent.seq == events[0].seq)
                    .values(occurred_at=events[0].occurred_at.replace(year=2025)))
    _tamper(session, "SELECT 1")
    assert verify_chain(session).first_broken_seq == events[0].seq


def test_deleted_row_is_named(session, clock):
    events = _record(session, clock)
    target = events[1].seq
    _tamper(session, "DELETE FROM audit_events WHERE seq = :seq", seq=target)
    report = verify_chain(session)
    assert not report.ok
    assert report.first_broken_seq == target
    assert "missing" in report.problem


def test_changed_hash_is_named(session, clock):
    events = _record(session, clock)
    target = events[1].seq
    _tamper(session, "UPDATE audit_events SET hash = :h WHERE seq = :seq", h="f" * 64, seq=target)
    report = verify_chain(session)
    assert (report.ok, report.first_broken_seq) == (False, target)


def test_rewritten_row_with_a_fresh_hash_breaks_the_next_link(session, clock):
    """A forger who edits a row and recomputes its hash still breaks the following event's link."""
    from exchange.audit import _fields, event_hash

    events = _record(session, clock)
    target = events[1]
    _tamper(session, "UPDATE audit_events SET reason = 'forged' WHERE seq = :seq", seq=target.seq)
    forged = session.get(AuditEvent, target.id)
    _tamper(session, "UPDATE audit_events SET hash = :h WHERE seq = :seq",
            h=event_hash(_fields(forged), forged.prev_hash), seq=target.seq)
    report = verify_chain(session)
    assert (report.ok, report.first_broken_seq) == (False, events[2].seq)
    assert "link" in report.problem


def test_changed_prev_hash_is_named(session, clock):
    events = _record(session, clock)
    _tamper(session, "UPDATE audit_events SET prev_hash = :h WHERE seq = :seq", h="0" * 64, seq=events[2].seq)
    report = verify_chain(session)
    assert (report.ok, report.first_broken_seq) == (False, events[2].seq)


# --- the CLI -----------------------------------------------------------------------

def test_cli_audit_verify_exit_codes(app, session, clock):
    import json

    events = _record(session, clock)
    runner = app.test_cli_runner()
    ok = runner.invoke(args=["audit", "verify"])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.output)["ok"] is True

    _tamper(session, "UPDATE audit_events SET reason = 'x' WHERE seq = :seq", seq=events[1].seq)
    broken = runner.invoke(args=["audit", "verify"])
    assert broken.exit_code == 1, broken.output
    report = json.loads(broken.output)
    assert report["ok"] is False and report["first_broken_seq"] == events[1].seq


# --- the API ---------------------------------------------------------------------------

def _tokens(client, session, clock):  # type: ignore[no-untyped-def]
    member = make_member(session, clock)
    auditor = make_staff(session, clock, Role.auditor)
    operator = make_staff(session, clock, Role.operator)
    session.commit()
    return token_for(client, member), token_for(client, auditor), token_for(client, operator)


def test_api_verify(client, session, clock):
    tm, ta, to = _tokens(client, session, clock)
    events = _record(session, clock)
    for tok in (ta, to):
        r = client.get("/api/v1/audit/verify", headers=auth(tok))
        assert r.status_code == 200
        assert r.get_json()["ok"] is True and r.get_json()["first_broken_seq"] is None
    r = client.get("/api/v1/audit/verify", headers=auth(tm))
    assert (r.status_code, r.mimetype, r.get_json()["code"]) == (403, PROBLEM, "forbidden_role")
    assert client.get("/api/v1/audit/verify").get_json()["code"] == "not_authenticated"

    _tamper(session, "UPDATE audit_events SET reason = 'x' WHERE seq = :seq", seq=events[1].seq)
    body = client.get("/api/v1/audit/verify", headers=auth(ta)).get_json()
    assert body["ok"] is False and body["first_broken_seq"] == events[1].seq and body["problem"]


def test_api_event_feed_after_seq(client, session, clock):
    tm, ta, to = _tokens(client, session, clock)
    last_seen = session.scalar(sa.select(sa.func.max(AuditEvent.seq)))
    events = _record(session, clock, n=5)

    r = client.get(f"/api/v1/audit/events?after_seq={last_seen}", headers=auth(ta))
    assert r.status_code == 200
    feed = r.get_json()
    assert [e["seq"] for e in feed["items"]] == [e.seq for e in events]
    assert feed["next_after_seq"] == events[-1].seq
    first = feed["items"][0]
    assert first["action"] == "test.step_0" and first["hash"] == events[0].hash
    assert first["prev_hash"] and first["actor"] == "system:test"
    assert feed["items"][1]["after"]["price"] == {"fen": 200_000, "currency": "CNY"}
    assert feed["items"][1]["before"] == {"state": "s0"}

    # Page through with a limit, following next_after_seq.
    seen, cursor = [], last_seen
    while True:
        page = client.get(f"/api/v1/audit/events?after_seq={cursor}&limit=2", headers=auth(to)).get_json()
        if not page["items"]:
            assert page["next_after_seq"] == cursor
            break
        assert len(page["items"]) <= 2
        seen += [e["seq"] for e in page["items"]]
        cursor = page["next_after_seq"]
    assert seen == [e.seq for e in events]

    # Filters.
    only = client.get(f"/api/v1/audit/events?after_seq={last_seen}&action=test.step_3", headers=auth(ta)).get_json()
    assert [e["seq"] for e in only["items"]] == [events[3].seq]
    by_ref = client.get("/api/v1/audit/events?subject_ref=X2026-000004", headers=auth(ta)).get_json()
    assert [e["seq"] for e in by_ref["items"]] == [events[4].seq]

    # Members never read the trail; bad arguments are field problems.
    r = client.get("/api/v1/audit/events", headers=auth(tm))
    assert (r.status_code, r.get_json()["code"]) == (403, "forbidden_role")
    for bad in ("after_seq=-1", "limit=0", "limit=1001", "after_seq=abc"):
        r = client.get(f"/api/v1/audit/events?{bad}", headers=auth(ta))
        assert (r.status_code, r.mimetype, r.get_json()["code"]) == (422, PROBLEM, "validation_error"), bad
