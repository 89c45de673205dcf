"""Paginated lists with a stable order (the caller's order plus the id as tie-break)."""
from __future__ import annotations

from typing import Any

import marshmallow as ma
import sqlalchemy as sa
from sqlalchemy.orm import Session

MAX_PER_PAGE = 100


class PageArgsSchema(ma.Schema):
    page = ma.fields.Integer(load_default=1, validate=ma.validate.Range(min=1, max=100000))
    per_page = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=MAX_PER_PAGE))


class PageMetaSchema(ma.Schema):
    page = ma.fields.Integer()
    per_page = ma.fields.Integer()
    total = ma.fields.Integer()
    pages = ma.fields.Integer()


def paginate(session: Session, stmt: sa.Select, page: int, per_page: int) -> tuple[list[Any], dict[str, int]]:
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    items = list(session.scalars(stmt.limit(per_page).offset((page - 1) * per_page)))
    return items, {"page": page, "per_page": per_page, "total": total, "pages": max(1, -(-total // per_page))}
