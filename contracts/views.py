"""The public certificate verification page: anyone with a code sees whether the
certificate is valid or revoked and its fingerprint, and nothing private."""
from __future__ import annotations

from flask import Blueprint, render_template

from contracts.service import verify_code
from exchange.auth import PUBLIC, access
from exchange.db import get_session
from exchange.errors import DomainError

contracts_web = Blueprint("contracts_web", __name__)


@contracts_web.get("/verify/<code>")
@access(PUBLIC)
def verify(code: str):  # type: ignore[no-untyped-def]
    """The page a certificate's QR code leads to."""
    try:
        result = verify_code(get_session(), code)
    except DomainError as err:
        return render_template("contracts/verify.html", result=None, code=code, error=err), err.status
    return render_template("contracts/verify.html", result=result, code=result["code"], error=None)

from contracts.pages import audit, member, operator  # noqa: E402,F401  (the contracts pages register on contracts_web)
