"""Structured request logs, each line carrying the request id."""
from __future__ import annotations

import json
import logging
import re
import time
import uuid

from flask import Flask, g, request

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
    access_log = logging.getLogger("exchange.access")

    @app.before_request
    def _start() -> None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _SAFE_ID.match(incoming) else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _log(response):  # type: ignore[no-untyped-def]
        response.headers["X-Request-ID"] = g.get("request_id", "")
        if not access_log.isEnabledFor(logging.INFO):
            return response  # production runs at WARNING: skip building a record nobody writes
        access_log.info(
            "%s %s %s", request.method, request.path, response.status_code,
            extra={"request_id": g.get("request_id"), "method": request.method, "path": request.path,
                   "status": response.status_code, "user": g.get("user_ref"),
                   "duration_ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 2),
                   "remote_addr": request.remote_addr},
        )
        return response
