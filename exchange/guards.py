"""Request guards that apply to every route before any code reads the input."""
from __future__ import annotations

from flask import Flask, request

from exchange.errors import ValidationError


def refuse_nul_characters() -> None:
    """A NUL character is never valid input, and PostgreSQL refuses it in any text it is given:
    stop it at the door so it is a clear 400, not a failure deep inside a query."""
    if "\x00" in request.path or "%00" in request.query_string.decode("latin-1").lower():
        raise ValidationError("The request contains a NUL character.", code="invalid_characters")
    if any("\x00" in v for values in request.args.listvalues() for v in values):
        raise ValidationError("The request contains a NUL character.", code="invalid_characters")
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype == "application/json":
            body = request.get_data(cache=True)
            if b"\\u0000" in body or b"\x00" in body:
                raise ValidationError("The request contains a NUL character.", code="invalid_characters")
        elif request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            if any("\x00" in v for values in request.form.listvalues() for v in values):
                raise ValidationError("The request contains a NUL character.", code="invalid_characters")


def init_guards(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
