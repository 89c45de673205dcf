"""Errors as answers: RFC 9457 problem details for the API, an HTML page for people.

One place decides the shape of every error, so a route cannot invent its own;
an unexpected exception becomes a 500 that names the request id and nothing else.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request, url_for
from flask_babel import get_locale, gettext
from flask_babel import lazy_gettext as _l
from werkzeug.exceptions import HTTPException

from exchange.errors import AuthenticationError, DomainError

PROBLEM_CONTENT_TYPE = "application/problem+json"

# Stable codes for the HTTP-level refusals that do not come from a DomainError.
_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "service_unavailable",
}


_BASE_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"}
_PAGE_CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
             "form-action 'self'; base-uri 'none'")
# The API docs page loads ReDoc and its fonts from their CDNs.
_DOCS_CSP = ("default-src 'self'; script-src 'self' https://cdn.jsdelivr.net 'unsafe-inline'; "
             "style-src 'self' 'unsafe-inline' https://fonts.googleapis.com; img-src 'self' data: https:; "
             "font-src 'self' https://fonts.gstatic.com; worker-src blob:; frame-ancestors 'none'")


def security_headers(path: str) -> dict[str, str]:
    """The headers every answer carries (a route may set its own first)."""
    return {**_BASE_HEADERS, "Content-Security-Policy": _DOCS_CSP if path == "/api/docs" else _PAGE_CSP}


def wants_json() -> bool:
    """API clients get problem+json; people get HTML."""
    if request.path.startswith("/api/") or request.path.startswith("/healthz"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json", PROBLEM_CONTENT_TYPE])
    return best in ("application/json", PROBLEM_CONTENT_TYPE)


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    *,
    errors: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title,
        "status": status,
        "code": code,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    rid = g.get("request_id")
    if rid:
        body["request_id"] = rid
    if extra:
        body.update(extra)
    return body


#: Refusals whose service message carries a figure or the input (so it is no msgid), said per code.
#: Packages add their own codes when they render refusals (``refusal_text(err, CODE_MESSAGES)``).
COMMON_CODE_MESSAGES = {
    "invalid_characters": _l("The text contains control or direction characters."),
    "too_long": _l("The text is too long."),
    "required": _l("This is required."),
    "invalid_amount": _l("Enter an amount in yuan, for example 1200000 or 1,200,000.00 (at most two decimals)."),
    "invalid_credit_code": _l("Not a valid unified social credit code: check the 18 characters, the last one "
                              "is a check character."),
    "invalid_id_number": _l("Not a valid resident ID number: check the 18 characters, the last one is a check "
                            "character."),
    "invalid_transition": _l("This is not possible in the record's current state."),
}


NOT_FOUND_TEXT = _l("Nothing with this reference was found; check it and try again.")

#: Packages that own enums register how pages name their members (``register_enum_labels``).
_ENUM_LABELS: dict[type, Callable[[Enum], str]] = {}


def register_enum_labels(enum_cls: type, labeller: Callable[[Enum], str]) -> None:
    _ENUM_LABELS[enum_cls] = labeller


def enum_label(value: Enum) -> str:
    """A refusal's enum parameter as pages name it (its value when no package says otherwise)."""
    labeller = _ENUM_LABELS.get(type(value))
    return labeller(value) if labeller is not None else str(value.value)


def refusal_text(err: DomainError, code_messages: Mapping[str, Any] | None = None) -> str:
    """A service's refusal in the reader's language, for pages (the API keeps the English message).

    A package's ``code_messages`` come first, in every language: a page may say more than the
    service can (what to do next on that page, or that nothing was recorded). Then the message
    itself as its msgid; a message that carries a figure or a reference cannot be one, so the
    common per-code texts follow. Failing all, the message is shown as the service wrote it.
    """
    page_text = (code_messages or {}).get(err.code)
    if page_text is not None:
        return str(page_text)
    if err.template:
        # The template's msgid, the same figures; a state or a kind by its label in the reader's language.
        return gettext(err.template, **{k: enum_label(v) if isinstance(v, Enum) else v for k, v in err.params.items()})
    translated = gettext(err.message)
    if translated != err.message:
        return translated
    fixed = COMMON_CODE_MESSAGES.get(err.code)
    if fixed is None and err.code.endswith("_not_found") and str(get_locale() or "en") != "en":
        fixed = NOT_FOUND_TEXT  # "No listing L2026-000123." names the reference the reader just used
    return str(fixed) if fixed is not None else err.message


def _render(status: int, body: dict[str, Any], headers: dict[str, str] | None = None,
            refusal: DomainError | None = None) -> Response:
    if wants_json():
        resp = Response(problem_json(body), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    else:
        shown = {**body, "title": gettext(body["title"])}
        if body.get("detail"):
            # The refusal itself where there is one: a copy of its English text would lose its template.
            shown["detail"] = refusal_text(refusal or DomainError(body["detail"], code=body["code"]))
        html = render_template("errors/error.html", problem=shown)
        resp = Response(html, status=status, mimetype="text/html")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def refusal_problem(err: DomainError) -> dict[str, Any]:
    """The problem document of a service's refusal."""
    errors = {err.field: [err.message]} if err.field else None
    extra = {"details": err.details} if err.details else None
    return problem(err.status, err.code, err.title, err.message, errors=errors, extra=extra)


#: Sent with a 503: the request's transaction was rolled back whole, so the client may retry
#: (with the same Idempotency-Key) at once.
UNAVAILABLE_HEADERS = (("Retry-After", "1"),)


def unavailable_problem() -> dict[str, Any]:
    """The connection dropped, the server restarts, a lock or serialisation conflict: not our fault (500)."""
    return problem(503, "database_unavailable", "Service unavailable",
                   "The database is busy or unreachable; try again.")


def unavailable_response() -> Response:
    """The answer when the database failed during the request or at its commit (API or page)."""
    return _render(503, unavailable_problem(), dict(UNAVAILABLE_HEADERS))


def problem_json(body: dict[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


def error_response(err: DomainError) -> Response:
    return _render(err.status, refusal_problem(err), refusal=err)


def http_error_response(exc: HTTPException) -> Response:
    status = exc.code or 500
    code = _HTTP_CODES.get(status, "http_error")
    errors = None
    data = getattr(exc, "data", None)
    if isinstance(data, dict) and "messages" in data:
        # webargs/marshmallow validation: {location: {field: [messages]}} -> {field: [messages]}
        errors = {}
        for _loc, fields in data["messages"].items():
            if isinstance(fields, dict):
                errors.update(fields)
            else:
                errors["_body"] = fields
        code = "validation_error"
    detail = exc.description if status != 422 else "The request has invalid fields."
    if status == 413:
        detail = "The request body is too large."
    headers = {}
    if status == 405 and getattr(exc, "valid_methods", None):
        headers["Allow"] = ", ".join(exc.valid_methods)
    return _render(status, problem(status, code, exc.name, detail, errors=errors), headers)


def out_of_range_response(exc: Exception) -> Response | None:
    """A value the database cannot hold (a 30-digit amount, a 300-character code) is bad input, not our fault.

    Schemas bound the values they know; this catches the rest at the database's door, so that
    bad input never becomes a 500. Returns None for data errors of another kind.
    """
    import sqlalchemy as sa

    code = None
    if isinstance(exc, OverflowError):  # SQLite: the driver refuses integers beyond 64 bits
        code = "value_out_of_range"
    elif isinstance(exc, sa.exc.DataError):
        pgcode = getattr(getattr(exc, "orig", None), "pgcode", None)
        code = {"22003": "value_out_of_range", "22001": "value_too_long"}.get(pgcode or "")
    if code is None:
        return None
    current_app.logger.warning("input refused by the database: %s", type(exc).__name__)
    detail = ("A number in the request is out of range." if code == "value_out_of_range"
              else "A text in the request is too long.")
    return _render(422, problem(422, code, "Invalid input", detail))


def sign_in_first(err: AuthenticationError) -> Response | tuple[str, int]:
    """Pages for signed-in users answer 401 with the sign-in form on them; signing in there
    brings the visitor back to the page asked for. The API and form posts get the problem."""
    if wants_json() or request.method != "GET":
        return error_response(err)
    from exchange.forms import LoginForm

    target = request.full_path.rstrip("?")
    return render_template("exchange/sign_in_first.html", form=LoginForm(formdata=None),
                           action=url_for("exchange_web.login_page", next=target)), 401


def register_error_handlers(app: Flask) -> None:
    import sqlalchemy as sa

    app.register_error_handler(DomainError, error_response)
    app.register_error_handler(AuthenticationError, sign_in_first)
    app.register_error_handler(HTTPException, http_error_response)

    def _data_error(exc: Exception) -> Response:
        return out_of_range_response(exc) or _unexpected(exc)

    app.register_error_handler(OverflowError, _data_error)
    app.register_error_handler(sa.exc.DataError, _data_error)

    def _database_unavailable(exc: Exception) -> Response:
        # The connection dropped, the server restarts, a lock or serialisation conflict: the
        # request's transaction is rolled back whole, so the client may retry (with the same
        # Idempotency-Key). Answer as the commit does when it fails: 503, not "our fault" 500.
        current_app.logger.exception("database unavailable during the request",
                                     extra={"request_id": g.get("request_id")})
        return unavailable_response()

    app.register_error_handler(sa.exc.OperationalError, _database_unavailable)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:  # pragma: no cover - exercised by a test route
        if isinstance(exc, HTTPException):
            return http_error_response(exc)
        current_app.logger.exception("unhandled error", extra={"request_id": g.get("request_id")})
        return _render(
            500,
            problem(500, "internal_error", "Internal error", "Something went wrong on our side; it has been logged."),
        )
