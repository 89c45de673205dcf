"""Command line: `exchange <command>` (or `flask --app exchange.app:create_app <command>`)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext


def _app_clock():  # type: ignore[no-untyped-def]
    return current_app.extensions["exchange.clock"]


def register_cli(app: Flask) -> None:
    @app.cli.group("db")
    def db_group() -> None:
        """Database schema."""

    @db_group.command("upgrade")
    @with_appcontext
    def db_upgrade() -> None:
        """Apply migrations up to head, then load the shipped calendar years."""
        from exchange.calendar_store import seed_bundled_years
        from exchange.db import get_db
        from exchange.migrate import upgrade

        upgrade(current_app.config["DATABASE_URL"])
        with get_db().session_scope() as s:
            years = seed_bundled_years(s, clock=_app_clock())
        click.echo(f"database at head; calendar years loaded now: {years or 'none new'}")

    @db_group.command("check")
    @with_appcontext
    def db_check() -> None:
        """Fail if the models and the migrations disagree."""
        from exchange.migrate import check

        check(current_app.config["DATABASE_URL"])
        click.echo("models and migrations agree")

    @app.cli.command("create-user")
    @click.option("--email", required=True)
    @click.option("--role", type=click.Choice(["operator", "auditor", "admin"]), required=True)
    @click.option("--name", "display_name", required=True)
    @click.password_option()
    @with_appcontext
    def create_user(email: str, role: str, display_name: str, password: str) -> None:
        """Create an operator, auditor or admin (the only ways are this command and an admin)."""
        from exchange.accounts import create_staff_user
        from exchange.actors import Actor
        from exchange.db import get_db
        from exchange.errors import DomainError
        from exchange.models import Role

        try:
            with get_db().session_scope() as s:
                u = create_staff_user(s, email=email, password=password, display_name=display_name, role=Role(role),
                                      actor=Actor.system("cli"), clock=_app_clock(),
                                      min_password_length=current_app.config["PASSWORD_MIN_LENGTH"])
                click.echo(f"created {u.ref} {u.email} ({role})")
        except DomainError as err:
            raise click.ClickException(f"{err.code}: {err.message}") from None

    @app.cli.group("audit")
    def audit_group() -> None:
        """The audit trail."""

    @audit_group.command("verify")
    @with_appcontext
    def audit_verify() -> None:
        """Verify the hash chain; exit 1 and name the first broken link if it is broken."""
        from exchange.audit import verify_chain
        from exchange.db import get_db

        with get_db().session_scope() as s:
            report = verify_chain(s)
        click.echo(json.dumps(report.as_dict()))
        if not report.ok:
            sys.exit(1)

    @app.cli.group("calendar")
    def calendar_group() -> None:
        """The business calendar."""

    @calendar_group.command("load")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--replace", is_flag=True, help="replace a year that is already loaded")
    @with_appcontext
    def calendar_load(path: Path, replace: bool) -> None:
        """Load a year from a JSON file (same shape as exchange/data/calendar/2026.json)."""
        from exchange.actors import Actor
        from exchange.calendar_store import load_year
        from exchange.db import get_db
        from exchange.errors import DomainError

        try:
            with get_db().session_scope() as s:
                y = load_year(s, json.loads(path.read_text(encoding="utf-8")), actor=Actor.system("cli"),
                              clock=_app_clock(), replace=replace)
        except (DomainError, json.JSONDecodeError) as err:
            raise click.ClickException(str(getattr(err, "message", err))) from None
        click.echo(f"loaded {y.year}: {len(y.holidays)} holidays, {len(y.makeup_days)} make-up days")

    @app.cli.command("scheduler")
    @click.option("--once", is_flag=True, help="run every job once and exit")
    @with_appcontext
    def scheduler_cmd(once: bool) -> None:
        """Run the job scheduler as its own process (run exactly one in production)."""
        from exchange.scheduler import build_scheduler, registered_jobs, run_all_once

        app_obj = current_app._get_current_object()  # type: ignore[attr-defined]
        if once:
            click.echo(json.dumps(run_all_once(app_obj), default=str))
            return
        click.echo("scheduler running jobs: " + ", ".join(j.id for j in registered_jobs()))
        build_scheduler(app_obj, background=False).start()

    @app.cli.command("seed-demo")
    @with_appcontext
    def seed_demo_cmd() -> None:
        """Load the demo data (idempotent) and print the demo accounts."""
        from exchange.demo import print_accounts, seed_demo

        accounts = seed_demo(current_app._get_current_object())  # type: ignore[attr-defined]
        print_accounts(accounts)

    @app.cli.command("demo")
    @with_appcontext
    def demo_cmd() -> None:
        """Play one whole deal end to end (accelerated time) and print where its certificate is."""
        from exchange.demo import seed_demo
        from exchange.demo_deal import play_deal
        from exchange.money import Money

        app_obj = current_app._get_current_object()  # type: ignore[attr-defined]
        seed_demo(app_obj, with_completed_deal=False)
        r = play_deal(app_obj)
        click.echo(f"deal {r.deal_ref} on listing {r.listing_ref}: hammer price {Money(r.price_fen).format()}")
        click.echo(f"certificate {r.certificate_ref}, code {r.short_code}")
        click.echo(f"  PDF:    {r.pdf_path}")
        click.echo(f"  verify: {r.verify_url}")
        click.echo(f"  API:    {app_obj.config['PUBLIC_BASE_URL'].rstrip('/')}/api/v1/certificates/{r.certificate_ref}.pdf")

    @app.cli.command("serve")
    @click.option("--host", default="127.0.0.1")
    @click.option("--port", default=5000, type=int)
    @with_appcontext
    def serve(host: str, port: int) -> None:
        """Development server, with the scheduler in-process when the settings allow it."""
        from exchange.scheduler import build_scheduler

        from werkzeug.serving import run_simple

        app_obj = current_app._get_current_object()  # type: ignore[attr-defined]
        if app_obj.config["SCHEDULER_IN_PROCESS"]:
            build_scheduler(app_obj, background=True).start()
        # Not app.run(): Flask ignores it when started from its own CLI.
        run_simple(host, port, app_obj, use_reloader=False, threaded=True)


def main() -> None:
    from exchange.app import create_app

    cli = FlaskGroup(create_app=lambda: create_app(), add_default_commands=False, add_version_option=False,
                     help="The technology-rights exchange.")
    cli.main(prog_name="exchange")
