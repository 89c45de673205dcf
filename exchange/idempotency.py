"""Idempotency-Key handling for unsafe requests that clients may retry (bids, payments, signatures).

Same user, same key and same body: the first answer is replayed and nothing runs
again. Same key with a different body: refused. The stored answer is written in
the same transaction as the effect, so either both exist or neither does.
"""
from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Response, request

from exchange.auth import require_user
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import ValidationError
from exchange.models import IdempotencyRecord

HEADER = "Idempotency-Key"
HEADER_DOC = {
    "in": "header",
    "name": HEADER,
    "required": True,
    "schema": {"type": "string", "minLength": 8, "maxLength": 100},
    "description": "A unique key per logical operation; a retry with the same key and body returns the first answer.",
}


_RECORDS = IdempotencyRecord.__table__


@functools.cache
def statements() -> tuple[sa.Select, sa.Insert]:
    """The lookup and the insert, built once: they run on every unsafe API call, bids included.
    Core statements on the session's connection (same transaction): the stored answer is read
    as plain columns, and writing it needs no unit of work."""
    lookup = sa.select(_RECORDS.c.endpoint, _RECORDS.c.request_hash, _RECORDS.c.status_code,
                       _RECORDS.c.response_body).where(_RECORDS.c.user_id == sa.bindparam("user_row"),
                                                       _RECORDS.c.key == sa.bindparam("idem_key"))
    return lookup, _RECORDS.insert()


def request_digest(method: str, path: str, body: bytes) -> str:
    """What "the same request" means for a key: method, path and body, byte for byte."""
    h = hashlib.sha256()
    h.update(method.encode())
    h.update(path.encode())
    h.update(b"\0")
    h.update(body)
    return h.hexdigest()


def valid_key(key: str) -> bool:
    return 8 <= len(key) <= 100 and key.isprintable()


def idempotent(required: bool = True) -> Callable:
    def deco(view: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            key = request.headers.get(HEADER, "").strip()
            if not key:
                if required:
                    raise ValidationError("This request needs an %(header)s header.", params={"header": HEADER},
                                          code="idempotency_key_required")
                return view(*args, **kwargs)
            if not valid_key(key):
                raise ValidationError("%(header)s must be 8-100 printable characters.", params={"header": HEADER},
                                      code="idempotency_key_invalid")
            user = require_user()
            session = get_session()
            digest = request_digest(request.method, request.path, request.get_data(cache=True))
            lookup, insert = statements()
            session.flush()
            found = session.connection().execute(lookup, {"user_row": user.id, "idem_key": key}).first()
            if found is not None:
                if found.request_hash != digest or found.endpoint != request.endpoint:
                    raise ValidationError("This %(header)s was used for a different request.",
                                          params={"header": HEADER}, code="idempotency_key_reused")
                resp = Response(found.response_body, status=found.status_code, mimetype="application/json")
                resp.headers["Idempotent-Replayed"] = "true"
                return resp
            resp = view(*args, **kwargs)
            if not isinstance(resp, Response):
                from flask import make_response

                resp = make_response(resp)
            if resp.status_code < 400:
                session.flush()
                session.connection().execute(insert, {
                    "user_id": user.id, "key": key, "endpoint": request.endpoint or "", "request_hash": digest,
                    "status_code": resp.status_code, "response_body": resp.get_data(as_text=True),
                    "created_at": get_clock().now()})
            return resp

        return wrapper

    return deco
