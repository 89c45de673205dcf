"""Factories: valid objects with overridable fields, and API helpers."""
from __future__ import annotations

import itertools
from typing import Any

from exchange import accounts
from exchange.actors import Actor
from exchange.models import EntityType, PartyKind, Role, User
from exchange.parties import complete_credit_code, complete_id_number

PASSWORD = "Secret-pass-2026"
_seq = itertools.count(1)


def credit_code(n: int | None = None, region: str = "310104") -> str:
    n = next(_seq) if n is None else n
    return complete_credit_code(f"91{region}MA{n:07d}")


def id_number(n: int | None = None, region: str = "310104") -> str:
    n = next(_seq) if n is None else n
    return complete_id_number(f"{region}19850101{n % 1000:03d}")


def member_cmd(**over: Any) -> accounts.RegisterMember:
    n = next(_seq)
    data: dict[str, Any] = dict(
        email=f"member{n}@example.com", password=PASSWORD, display_name=f"成员{n}",
        party_kind=PartyKind.organisation, party_name=f"上海测试科技有限公司{n}",
        entity_type=EntityType.enterprise, id_code=credit_code(n),
    )
    data.update(over)
    return accounts.RegisterMember(**data)


def make_member(session, clock, **over: Any) -> User:  # type: ignore[no-untyped-def]
    return accounts.register_member(session, member_cmd(**over), clock=clock)


def make_staff(session, clock, role: Role = Role.operator, **over: Any) -> User:  # type: ignore[no-untyped-def]
    n = next(_seq)
    return accounts.create_staff_user(
        session, email=over.get("email", f"{role.value}{n}@exchange.example"), password=PASSWORD,
        display_name=over.get("display_name", f"{role.value} {n}"), role=role, actor=Actor.system("test"), clock=clock)


def token_for(client, user: User, password: str = PASSWORD) -> str:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/auth/token", json={"email": user.email, "password": password})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["token"]


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def register_payload(**over: Any) -> dict[str, Any]:
    cmd = member_cmd()
    data = {"email": cmd.email, "password": cmd.password, "display_name": cmd.display_name,
            "party_kind": cmd.party_kind.value, "party_name": cmd.party_name,
            "entity_type": cmd.entity_type.value, "id_code": cmd.id_code}
    data.update(over)
    return data
