"""The one error hierarchy of the exchange.

Every refusal the exchange makes is a ``DomainError`` with a stable machine
``code`` (snake_case, never renamed once published) and an HTTP status. The API
turns it into RFC 9457 problem details; the web shows ``message`` next to
``field`` when there is one.
"""
from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of all business refusals. Subclasses set ``status`` and a default ``code``."""

    status: int = 400
    code: str = "domain_error"
    title: str = "Request refused"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        field: str | None = None,
        details: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
    ) -> None:
        # A message with figures in it is a template (``%(name)s``) and its ``params``: ``message``
        # is the English text, and pages translate the template and fill in the same figures.
        self.template = message if params else None
        self.params = dict(params or {})
        if params:
            message = message % self.params
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.field = field
        self.details = details or {}

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class ValidationError(DomainError):
    """Input that can never be right as it stands (bad format, bad check digit, out of range)."""

    status = 422
    code = "invalid_input"
    title = "Invalid input"


class NotFoundError(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class AuthenticationError(DomainError):
    status = 401
    code = "not_authenticated"
    title = "Authentication required"


class PermissionDeniedError(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


class ConflictError(DomainError):
    """The request is well formed but clashes with the current state (duplicate, already done)."""

    status = 409
    code = "conflict"
    title = "Conflict"


class StateError(ConflictError):
    """A transition asked for from a state that does not allow it."""

    code = "invalid_state"
    title = "Not allowed in the current state"


class RuleViolationError(DomainError):
    """A business rule forbids what was asked (price under appraisal, pledged asset...)."""

    status = 422
    code = "rule_violation"
    title = "Business rule violated"


class TooManyRequestsError(DomainError):
    status = 429
    code = "too_many_requests"
    title = "Too many requests"


class CurrencyMismatchError(ValidationError):
    code = "currency_mismatch"
    title = "Currencies differ"
