"""Demo data: one account per role and, as each package adds its part, every stage of a deal.

``seed_demo`` is idempotent: it does nothing for parts that exist already, so
the run command can call it on every start.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

import click
import sqlalchemy as sa
from flask import Flask

from exchange.accounts import RegisterMember, create_staff_user, register_member
from exchange.actors import Actor
from exchange.calendar_store import seed_bundled_years
from exchange.db import get_db
from exchange.models import EntityType, PartyKind, Role, User
from exchange.parties import complete_credit_code, complete_id_number

DEMO_PASSWORD = "Demo-pass-2026"


@dataclass(frozen=True)
class DemoAccount:
    role: str
    email: str
    name: str
    party: str
    password: str = DEMO_PASSWORD


DEMO_MEMBERS = [
    ("seller", "seller@demo.example", "王教授", PartyKind.organisation, "沪江理工大学", EntityType.university,
     complete_credit_code("12310000MB0A00001")),
    ("buyer", "buyer1@demo.example", "李经理", PartyKind.organisation, "上海智造机器人有限公司", EntityType.enterprise,
     complete_credit_code("91310115MA1H00001")),
    ("buyer", "buyer2@demo.example", "陈总", PartyKind.organisation, "苏州精密传动科技有限公司", EntityType.enterprise,
     complete_credit_code("91320505MA1N00002")),
    ("buyer", "buyer3@demo.example", "赵敏", PartyKind.individual, "赵敏", EntityType.individual,
     complete_id_number("31010419880315002")),
]
DEMO_STAFF = [
    ("operator", "operator@demo.example", "交易所运营 孙", Role.operator),
    ("auditor", "auditor@demo.example", "审计 周", Role.auditor),
    ("admin", "admin@demo.example", "管理员 吴", Role.admin),
]

# Packages append functions that add their stage of the demo: fn(app, session, clock, users) -> None
DEMO_STAGES: list[Callable] = []


def _load_stage_modules() -> None:
    for pkg in ("listings", "auctions", "settlement", "contracts"):
        try:
            importlib.import_module(f"{pkg}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{pkg}.demo":
                raise


def seed_demo(app: Flask, *, with_completed_deal: bool = True) -> list[DemoAccount]:
    clock = app.extensions["exchange.clock"]
    accounts: list[DemoAccount] = []
    with app.app_context():
        db = get_db(app)
        with db.session_scope() as s:
            seed_bundled_years(s, clock=clock)
            users: dict[str, User] = {}
            for role, email, name, kind, party_name, etype, code in DEMO_MEMBERS:
                user = s.scalar(sa.select(User).where(User.email == email))
                if user is None:
                    user = register_member(s, RegisterMember(email=email, password=DEMO_PASSWORD, display_name=name,
                                                             party_kind=kind, party_name=party_name, entity_type=etype,
                                                             id_code=code), clock=clock)
                users[email] = user
                accounts.append(DemoAccount(role, email, name, party_name))
            for role, email, name, r in DEMO_STAFF:
                user = s.scalar(sa.select(User).where(User.email == email))
                if user is None:
                    user = create_staff_user(s, email=email, password=DEMO_PASSWORD, display_name=name, role=r,
                                             actor=Actor.system("demo"), clock=clock)
                users[email] = user
                accounts.append(DemoAccount(role, email, name, "上海技术交易所"))
        _load_stage_modules()
        for stage in DEMO_STAGES:
            with db.session_scope() as s:
                users = {u.email: u for u in s.scalars(sa.select(User).where(User.email.like("%@demo.example")))}
                stage(app, s, clock, users)
        if with_completed_deal:
            _ensure_completed_deal(app)
    return accounts


def _ensure_completed_deal(app: Flask) -> None:
    """The demo shows a completed deal with its certificate: play one if there is none yet."""
    try:
        from contracts.models import Certificate
    except ImportError:  # pragma: no cover - the contracts package is part of the product
        return
    with get_db(app).session_scope() as s:
        if s.scalar(sa.select(sa.func.count()).select_from(Certificate)):
            return
    from exchange.demo_deal import play_deal

    r = play_deal(app)
    click.echo(f"demo deal {r.deal_ref} completed; certificate {r.certificate_ref}: {r.verify_url}")


def print_accounts(accounts: list[DemoAccount]) -> None:
    click.echo("")
    click.echo("Demo accounts (password for all: %s)" % DEMO_PASSWORD)
    for a in accounts:
        click.echo(f"  {a.role:<9} {a.email:<24} {a.name}  ({a.party})")
    click.echo("")
