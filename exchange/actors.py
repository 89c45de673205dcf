"""Who is acting: a user or the system. Passed to services so audit events name them."""
from __future__ import annotations

from dataclasses import dataclass

from exchange.models import Role, User


@dataclass(frozen=True)
class Actor:
    user_id: int | None
    party_id: int | None
    role: Role | None
    label: str

    @classmethod
    def of(cls, user: User) -> Actor:
        return cls(user.id, user.party_id, user.role, f"{user.ref} {user.email}")

    @classmethod
    def system(cls, name: str = "system") -> Actor:
        return cls(None, None, None, f"system:{name}")

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.operator, Role.admin)

    @property
    def can_read_all(self) -> bool:
        return self.role in (Role.operator, Role.admin, Role.auditor) or self.user_id is None
