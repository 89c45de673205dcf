"""The models and the Alembic history agree (`alembic check`), and a fresh database migrated to head
has exactly the models' tables, columns and constraints."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from alembic import command

from exchange.db import create_db_engine
from exchange.migrate import alembic_config, check, upgrade
from exchange.model_registry import load_all_models

SCRATCH_DB = "exchange_migcheck"


@pytest.fixture()
def fresh_url(db_url: str, is_pg: bool, tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of the same kind as the test database, dropped afterwards."""
    if not is_pg:
        yield f"sqlite:///{tmp_path}/fresh.db"
        return
    url = sa.engine.make_url(db_url)
    admin = sa.create_engine(url.set(database="postgres"), poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCRATCH_DB}")  # left over by an interrupted run
        c.exec_driver_sql(f"CREATE DATABASE {SCRATCH_DB}")
    try:
        yield url.set(database=SCRATCH_DB).render_as_string(hide_password=False)
    finally:
        with admin.connect() as c:
            c.exec_driver_sql(f"DROP DATABASE IF EXISTS {SCRATCH_DB} WITH (FORCE)")
        admin.dispose()


def _inspect(url: str) -> dict[str, dict[str, set[str]]]:
    eng = create_db_engine(url, poolclass=sa.pool.NullPool)
    try:
        insp = sa.inspect(eng)
        return {
            t: {"columns": {c["name"] for c in insp.get_columns(t)},
                "checks": {c["name"] for c in insp.get_check_constraints(t) if c.get("name")},
                "uniques": {u["name"] for u in insp.get_unique_constraints(t)},
                "foreign_keys": {f["name"] for f in insp.get_foreign_keys(t) if f.get("name")}}
            for t in insp.get_table_names()
        }
    finally:
        eng.dispose()


def _expected(metadata: sa.MetaData, dialect: sa.Dialect) -> dict[str, dict[str, set[str]]]:
    """What the models declare, with constraint names as the naming convention renders them."""
    from sqlalchemy.schema import CreateTable

    def named(constraints) -> set[str]:  # type: ignore[no-untyped-def]
        # As the database spells it: PostgreSQL cuts names at 63 characters, SQLAlchemy adds a hash.
        return {dialect.identifier_preparer.format_constraint(c).strip('"') for c in constraints}

    out = {}
    for name, table in metadata.tables.items():
        CreateTable(table).compile(dialect=dialect)  # resolves conventional names of the enum CHECKs
        out[name] = {"columns": {c.name for c in table.columns},
                     "checks": named(c for c in table.constraints if isinstance(c, sa.CheckConstraint)),
                     "uniques": named(c for c in table.constraints if isinstance(c, sa.UniqueConstraint)),
                     "foreign_keys": named(table.foreign_key_constraints)}
    return out


def test_models_and_migrations_agree(db_url: str) -> None:
    """`alembic check` on the test database: a model change without its migration fails here."""
    check(db_url)


def test_fresh_database_has_exactly_the_models_tables(fresh_url: str) -> None:
    upgrade(fresh_url)
    check(fresh_url)
    metadata = load_all_models()
    found = _inspect(fresh_url)
    assert set(found) == set(metadata.tables) | {"alembic_version"}
    eng = create_db_engine(fresh_url, poolclass=sa.pool.NullPool)
    expected = _expected(metadata, eng.dialect)
    eng.dispose()
    for table, parts in expected.items():
        assert found[table]["columns"] == parts["columns"], table
        # alembic check does not compare CHECK constraints; the rules they hold must exist all the same.
        assert found[table]["checks"] == parts["checks"], table
        assert found[table]["uniques"] == parts["uniques"], table
        assert found[table]["foreign_keys"] == parts["foreign_keys"], table
        # Names follow the naming convention, so later migrations can address them on both backends.
        assert all(n.startswith(f"ck_{table}_") for n in found[table]["checks"]), table
        assert all(n.startswith(f"uq_{table}_") for n in found[table]["uniques"]), table
        assert all(n.startswith(f"fk_{table}_") for n in found[table]["foreign_keys"]), table


def test_downgrade_to_base_and_back(fresh_url: str) -> None:
    upgrade(fresh_url)
    command.downgrade(alembic_config(fresh_url), "base")
    assert set(_inspect(fresh_url)) == {"alembic_version"}
    upgrade(fresh_url)
    check(fresh_url)



def test_a_populated_database_goes_down_to_0006_and_back(fresh_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The demo data, migrated down to 0006 and up again: on SQLite, batch mode rebuilds tables that
    other rows refer to (their foreign keys are checked once, at the end), and 0007 fills in what
    registrations made before it lack: declared when registered, qualified when the audit trail
    says, and a past withdrawal after qualifying forfeited the deposit, as the rule then said."""
    from exchange.actors import Actor
    from exchange.app import create_app
    from exchange.db import get_db
    from exchange.demo import seed_demo
    from exchange.models import User
    from listings import service as ls
    from listings.models import BuyerRegistration

    upgrade(fresh_url)
    app = create_app("development", overrides={"DATABASE_URL": fresh_url, "INSTANCE_PATH": str(tmp_path / "i"),
                                               "UPLOAD_FOLDER": str(tmp_path / "u")})
    with app.app_context():
        seed_demo(app, with_completed_deal=True)
        with get_db(app).session_scope() as s:
            reg = s.scalars(sa.select(BuyerRegistration).where(BuyerRegistration.state == "qualified")
                            .order_by(BuyerRegistration.id)).first()
            clock = app.extensions["exchange.clock"]
            ls.withdraw_registration(s, Actor.of(s.get(User, reg.user_id)), reg.ref, "退出", clock=clock)
            quitter = reg.ref
        get_db(app).engine.dispose()
    command.downgrade(alembic_config(fresh_url), "0006")
    upgrade(fresh_url)
    check(fresh_url)
    eng = create_db_engine(fresh_url, poolclass=sa.pool.NullPool)
    try:
        with eng.connect() as c:
            rows = {r.ref: r for r in c.execute(sa.text(
                "SELECT ref, state, registered_at, declared_at, qualified_at, forfeit_on_withdrawal"
                " FROM buyer_registrations"))}
            qualified = dict(c.execute(sa.text(
                "SELECT subject_ref, MAX(occurred_at) FROM audit_events WHERE action = 'registration.qualified'"
                " GROUP BY subject_ref")).all())
    finally:
        eng.dispose()
    assert len(rows) >= 3 and all(r.declared_at == r.registered_at for r in rows.values())
    for ref, r in rows.items():
        if r.state in ("qualified", "withdrawn"):
            assert r.qualified_at == qualified.get(ref), ref
        else:
            assert r.qualified_at is None, ref
        assert r.forfeit_on_withdrawal == (True if ref == quitter else None), ref
