"""Pooled connections: tested before use after sitting idle, not on every checkout.

The server really drops the connection here (``pg_terminate_backend``), as a restart or a
failover would. A connection idle past the threshold is tested at checkout and silently
replaced; one used moments ago is trusted, costs no extra round trip, and if the server
vanished in that moment the statement fails, the pool is invalidated and the next checkout
connects afresh.
"""
from __future__ import annotations

import time

import pytest
import sqlalchemy as sa
from exchange.db import create_db_engine

pytestmark = pytest.mark.postgres


@pytest.fixture()
def engine_factory(db_url: str, require_pg: None):  # type: ignore[no-untyped-def]
    made: list[sa.Engine] = []

    def make(**kw) -> sa.Engine:  # type: ignore[no-untyped-def]
        eng = create_db_engine(db_url, pool_size=1, max_overflow=0, **kw)
        made.append(eng)
        return eng

    yield make
    for eng in made:
        eng.dispose()


def _backend_pid(conn: sa.Connection) -> int:
    return conn.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()


def _terminate(db_url: str, pid: int) -> None:
    admin = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        assert c.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})").scalar_one()
    admin.dispose()


def test_an_idle_connection_killed_by_the_server_is_replaced_at_checkout(engine_factory, db_url):
    eng = engine_factory(ping_after_idle_seconds=0)  # every checkout counts as "idle": always tested
    with eng.connect() as c:
        first = _backend_pid(c)
    _terminate(db_url, first)
    with eng.connect() as c:  # no error: the dead connection was found and replaced
        second = _backend_pid(c)
        assert c.exec_driver_sql("SELECT 41 + 1").scalar_one() == 42
    assert second != first


def test_the_idle_threshold_is_measured_from_the_last_checkin(engine_factory, db_url):
    eng = engine_factory(ping_after_idle_seconds=0.2)
    with eng.connect() as c:
        first = _backend_pid(c)
    time.sleep(0.3)  # idle past the threshold: the next checkout tests the connection
    _terminate(db_url, first)
    with eng.connect() as c:
        assert _backend_pid(c) != first


def test_a_connection_killed_while_trusted_fails_once_then_the_pool_recovers(engine_factory, db_url):
    eng = engine_factory(ping_after_idle_seconds=3600)
    with eng.connect() as c:
        first = _backend_pid(c)
    _terminate(db_url, first)
    with pytest.raises(sa.exc.OperationalError) as err, eng.connect() as c:
        c.exec_driver_sql("SELECT 1")
    assert err.value.connection_invalidated
    with eng.connect() as c:
        assert _backend_pid(c) != first
