"""Alembic environment: one linear history for every package's tables."""
from __future__ import annotations

import os

from alembic import context

from exchange.db import create_db_engine
from exchange.model_registry import load_all_models

config = context.config
target_metadata = load_all_models()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    from config import load_config

    cfg = load_config()
    if cfg.get("DATABASE_URL"):
        return cfg["DATABASE_URL"]
    from pathlib import Path

    return "sqlite:///" + str(Path(__file__).resolve().parent.parent / "instance" / "exchange.db")


def run_migrations_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True,
                      render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = create_db_engine(_url(), poolclass=__import__("sqlalchemy").pool.NullPool)
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        before: set[tuple] = set()
        if sqlite:
            # Batch mode changes a table by copying it, dropping the old one and renaming the copy. With
            # foreign keys enforced, SQLite refuses to drop a table that other rows refer to, so they
            # are checked once, at the end, instead. The pragma works only outside a transaction, hence
            # on the driver's connection before SQLAlchemy begins one.
            driver = connection.connection.driver_connection
            driver.execute("PRAGMA foreign_keys=OFF")
            before = set(map(tuple, driver.execute("PRAGMA foreign_key_check").fetchall()))
        # SQLite's DDL is transactional: one transaction for the whole upgrade, so a failed check below
        # leaves the database at the revision it started from (Alembic would commit per revision).
        context.configure(connection=connection, target_metadata=target_metadata,
                          render_as_batch=sqlite, compare_type=True, transactional_ddl=True if sqlite else None)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = set(map(tuple, connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall())) - before
                if broken:
                    raise RuntimeError("the migration left rows whose foreign keys point nowhere: "
                                       f"{sorted(broken)[:5]}")
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
