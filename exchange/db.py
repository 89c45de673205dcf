"""Database plumbing: one declarative base, engines, the per-request session.

House rule: one transaction per request or job. Services ``flush()``; the
request wrapper (``init_app``) or the job runner commits once, and rolls back
on any error or any 4xx/5xx answer so a refused request leaves nothing behind.
"""
from __future__ import annotations

import contextlib
import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.dialects import postgresql
from sqlalchemy.types import TypeDecorator

from exchange.clock import UTC

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC in, timezone-aware UTC out, on SQLite as on PostgreSQL.

    SQLite has no timezone type, so values are stored as naive UTC there and
    given their tzinfo back when read. Naive input is refused outright.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: store timezone-aware UTC")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_cls: type[enum.Enum], length: int = 32) -> sa.Enum:
    """Store a StrEnum by value in a VARCHAR with a CHECK constraint (portable, migration-friendly)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
        name=enum_cls.__name__.lower(),
    )


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, decide when transactions begin (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    # The WAL journal lets readers go on while a writer holds the lock.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()


def _sqlite_begin(conn: sa.Connection) -> None:
    # BEGIN IMMEDIATE takes SQLite's write lock at the start of every transaction:
    # the embedded database's equivalent of PostgreSQL's row locks. Writers queue
    # instead of failing half-way with "database is locked".
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_db_engine(url: str, **kwargs: Any) -> Engine:
    """An engine configured for the exchange's rules on either backend."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        if ":memory:" in url or url in ("sqlite://", "sqlite:///"):
            kwargs.setdefault("poolclass", sa.pool.StaticPool)
        engine = sa.create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    idle_ping = kwargs.pop("ping_after_idle_seconds", PING_AFTER_IDLE_SECONDS)
    if "poolclass" not in kwargs:
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 20)
    engine = sa.create_engine(url, **kwargs)
    # NullPool (migrations, scripts) hands out a fresh connection every time: nothing to test.
    if not kwargs.get("pool_pre_ping") and kwargs.get("poolclass") is not sa.pool.NullPool:
        _ping_idle_connections(engine, idle_ping)
    return engine


#: A pooled connection that sat unused for longer than this is tested before use.
PING_AFTER_IDLE_SECONDS = 10.0


def _ping_idle_connections(engine: Engine, after_seconds: float) -> None:
    """Test a pooled connection before use when it has been idle a while, not on every checkout.

    ``pool_pre_ping`` would cost a round trip on every request, bids included. Connections
    go stale while idle (a restarted or failed-over server, a firewall dropping quiet
    connections), so those are the ones tested: under load every checkout finds a connection
    used moments ago and pays nothing. A failed test raises ``DisconnectionError``, on which
    the pool discards the connection and checks out another (SQLAlchemy retries up to three
    times). A server lost while busy is still caught when its next statement fails: the pool
    is invalidated and that request answers 503 with Retry-After.
    """
    from time import monotonic

    @event.listens_for(engine, "checkin")
    def _checked_in(_dbapi_conn: Any, record: Any) -> None:
        if record is not None:
            record.info["checked_in_at"] = monotonic()

    @event.listens_for(engine, "checkout")
    def _checkout(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        last = record.info.get("checked_in_at")
        if last is not None and monotonic() - last < after_seconds:
            return
        try:
            cur = dbapi_conn.cursor()
            try:
                cur.execute("SELECT 1")
            finally:
                cur.close()
        except Exception as exc:  # noqa: BLE001 - any failure means the connection is gone
            raise sa.exc.DisconnectionError(f"stale pooled connection: {exc}") from exc


def is_postgres(session_or_engine: Session | Engine | sa.Connection) -> bool:
    bind = session_or_engine.get_bind() if isinstance(session_or_engine, Session) else session_or_engine
    return bind.dialect.name == "postgresql"


class Database:
    """The app's engine and session factory; tests may re-bind it to one connection."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = create_db_engine(url, **engine_kwargs)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=True)
        self._bound: sa.Connection | None = None

    def bind_to(self, connection: sa.Connection) -> None:
        """Route every session through ``connection`` inside savepoints (rolled-back test transactions)."""
        self.sessionmaker = sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        )
        self._bound = connection

    def unbind(self) -> None:
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False, autoflush=True)
        self._bound = None

    @contextmanager
    def core_transaction(self) -> Iterator[tuple[sa.Connection, sa.Transaction]]:
        """A connection in a transaction of its own, for work that needs no ORM session (the bid lane).
        The caller commits or rolls back; whatever is still open when the block ends is rolled back.
        Bound to a test's connection, the transaction is a savepoint on it, as sessions' are."""
        with contextlib.ExitStack() as stack:
            conn = self._bound if self._bound is not None else stack.enter_context(self.engine.connect())
            tx = conn.begin_nested() if self._bound is not None else conn.begin()
            try:
                yield conn, tx
            finally:
                tx.close()  # rolls back what is still open, a transaction whose commit failed included

    @contextmanager
    def session_scope(self) -> Iterator[Session]:
        """One unit of work outside a request (jobs, CLI): commit on success, roll back on error."""
        session = self.sessionmaker()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def get_db(app: Flask | None = None) -> Database:
    return (app or current_app).extensions["exchange.db"]


def get_session() -> Session:
    """The session of the current request, opened on first use."""
    if "db_session" not in g:
        g.db_session = get_db().sessionmaker()
    return g.db_session


def keep_on_failure(make: Any) -> None:
    """Save a record even though the request fails (e.g. a failed sign-in for the throttle).

    ``make`` builds the object after the request's own changes have been rolled back,
    so only this record survives the failure.
    """
    g.setdefault("kept_on_failure", []).append(make)


_FILES_PENDING = "exchange.files_written_in_transaction"


def remove_unless_committed(session: Session, path: Path) -> None:
    """Delete ``path`` if the session's transaction ends without a commit.

    A file written for a row (an uploaded evidence document) must not outlive the row when the
    transaction fails: nothing would point at it, and nobody would ever clean it up.
    """
    session.connection()  # begins the transaction if none is open yet: the file belongs to it
    session.info.setdefault(_FILES_PENDING, []).append(Path(path))


def keep_files_of_unknown_outcome(session: Session) -> None:
    """The commit failed in a way that leaves its outcome unknown (the connection dropped during
    it): the transaction may have committed, so its files stay. An orphan file is the lesser harm
    than a stored row whose file is gone."""
    session.info.pop(_FILES_PENDING, None)


@event.listens_for(Session, "after_commit")
def _files_committed(session: Session) -> None:
    if not session.in_nested_transaction():  # a savepoint's commit decides nothing yet
        session.info.pop(_FILES_PENDING, None)


@event.listens_for(Session, "after_transaction_end")
def _files_rolled_back(session: Session, transaction: Any) -> None:
    if transaction.parent is None:  # the outermost transaction ended; a commit has already taken its files
        for path in session.info.pop(_FILES_PENDING, []):
            path.unlink(missing_ok=True)


def init_app(app: Flask) -> Database:
    db = Database(app.config["DATABASE_URL"])
    app.extensions["exchange.db"] = db

    @app.after_request
    def _commit_or_rollback(response):  # type: ignore[no-untyped-def]
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return response
        try:
            if response.status_code < 400:
                session.commit()
            else:
                session.rollback()
                kept = g.pop("kept_on_failure", None)
                if kept:
                    session.add_all([make() for make in kept])
                    session.commit()
        except sa.exc.IntegrityError:
            session.rollback()
            current_app.logger.warning("commit refused by a database constraint", exc_info=True)
            from exchange.errors import ConflictError
            from exchange.http import error_response

            return error_response(
                ConflictError("The change clashes with data saved meanwhile; try again.", code="concurrent_change")
            )
        except (sa.exc.DataError, OverflowError) as exc:
            session.rollback()
            from exchange.http import out_of_range_response

            refused = out_of_range_response(exc)
            if refused is None:
                raise
            return refused
        except sa.exc.OperationalError:
            keep_files_of_unknown_outcome(session)
            session.rollback()
            current_app.logger.exception("commit failed")
            from exchange.http import unavailable_response

            return unavailable_response()
        finally:
            session.close()
        return response

    @app.teardown_request
    def _cleanup(exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.rollback()
            session.close()

    return db
