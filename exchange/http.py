"""Errors as answers: RFC 9457 problem details for the API, an HTML page for people.

One place decides the shape of every error, so a route cannot invent its own;
an unexpected exception becomes a 500 that names the request id and nothing else.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request
from werkzeug.exceptions import HTTPException

from exchange.errors import DomainError

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


def _render(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    if wants_json():
        resp = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype=PROBLEM_CONTENT_TYPE)
    else:
        html = render_template("errors/error.html", problem=body)
        resp = Response(html, status=status, mimetype="text/html")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def error_response(err: DomainError) -> Response:
    errors = {err.field: [err.message]} if err.field else None
    extra = {"details": err.details} if err.details else None
    return _render(err.status, problem(err.status, err.code, err.title, err.message, errors=errors, extra=extra))


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


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(DomainError, error_response)
    app.register_error_handler(HTTPException, http_error_response)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:  # pragma: no cover - exercised by a test route
        if isinstance(exc, HTTPException):
            return http_error_response(exc)
        current_app.logger.exception("unhandled error", extra={"request_id": g.get("request_id")})
        return _render(
            500,
            problem(500, "internal_error", "Internal error", "Something went wrong on our side; it has been logged."),
        )
