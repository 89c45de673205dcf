"""Structured request logs, each line carrying the request id."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, g, request

_ACCESS_LOG = logging.getLogger("exchange.access")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# Resident ID numbers and bearer tokens never reach the logs, whatever a message contains.
_REDACT = [(re.compile(r"\b\d{17}[\dXx]\b"), "[id-number]"), (re.compile(r"tex_[A-Za-z0-9_-]{10,}"), "[token]")]


def redact(text: str) -> str:
    for rx, repl in _REDACT:
        text = rx.sub(repl, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redact(record.getMessage()),
        }
        for key in ("request_id", "method", "path", "status", "duration_ms", "user", "remote_addr"):
            if hasattr(record, key):
                value = getattr(record, key)
                # The path is the caller's text too: an ID number or a token can be put in a URL.
                data[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            data["exc"] = redact(self.formatException(record.exc_info))
        return json.dumps(data, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def init_logging(app: Flask) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if app.config["JSON_LOGS"] else TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("exchange")
    logger.handlers[:] = [handler]
    logger.setLevel(app.config["LOG_LEVEL"])
    logger.propagate = False
    app.logger.handlers[:] = [handler]
    app.logger.setLevel(app.config["LOG_LEVEL"])

    @app.before_request
    def _start() -> None:
        g.request_id = request_id_from(request.headers.get("X-Request-ID", ""))
        g.started = time.perf_counter()

    @app.after_request
    def _log(response):  # type: ignore[no-untyped-def]
        response.headers["X-Request-ID"] = g.get("request_id", "")
        log_access(request.method, request.path, response.status_code, request_id=g.get("request_id"),
                   user_ref=g.get("user_ref"), started=g.get("started"), remote_addr=request.remote_addr)
        return response


def request_id_from(incoming: str) -> str:
    """The caller's X-Request-ID if it is a safe token (so a trace can span systems), else a new one."""
    return incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex


def log_access(method: str, path: str, status: int, *, request_id: str | None, user_ref: str | None,
               started: float | None, remote_addr: str | None) -> None:
    """One access-log line per request."""
    if not _ACCESS_LOG.isEnabledFor(logging.INFO):
        return  # production runs at WARNING: skip building a record nobody writes
    now = time.perf_counter()
    _ACCESS_LOG.info("%s %s %s", method, path, status,
                     extra={"request_id": request_id, "method": method, "path": path, "status": status,
                            "user": user_ref, "duration_ms": round((now - (started or now)) * 1000, 2),
                            "remote_addr": remote_addr})
