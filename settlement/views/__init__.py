"""Web pages of the settlement package (blueprint ``settlement_web``).

One module per desk, like ``settlement/service``: ``payments`` (bank notifications,
suspense, matching and returns), ``deals`` (deals in settlement: the deal statement,
instalment plan, transfer confirmation and payout), ``refunds`` (deposit releases due
and refunds of free cash), ``reports`` (trial balance and the daily report of expected
against received), ``credit`` (credit records, credit instruments and pledges) and
``member`` (a member's "My money" page). ``queues`` puts the settlement desk on the
operator console. Views are thin: read the form, call a service, show the result or put
the refusal beside its field.

Operators and admins act; auditors may open every GET page and are refused every POST
by the platform (``auditor_read_only``).
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from exchange.auth import PUBLIC, STAFF, access, current_user
from exchange.views import NAV, NavItem
from settlement import labels

_PKG = Path(__file__).resolve().parent.parent


class _Blueprint(Blueprint):
    """A blueprint whose static files are public (every endpoint must declare its access)."""

    @access(PUBLIC)
    def send_static_file(self, filename: str):  # type: ignore[no-untyped-def, override]
        return super().send_static_file(filename)


settlement_web = _Blueprint("settlement_web", __name__, template_folder=str(_PKG / "templates"),
                            static_folder=str(_PKG / "static"), static_url_path="/static/settlement")

settlement_web.add_app_template_global(labels.label, "settlement_label")
settlement_web.add_app_template_global(labels.badge, "settlement_badge")


@settlement_web.context_processor
def _can_act() -> dict[str, bool]:
    """Whether the reader may act (operators and admins); auditors see the pages without the forms."""
    user = current_user()
    return {"can_act": user is not None and user.role in STAFF}


NAV.extend([
    NavItem("settlement_web.my_money", _l("My money"), ("member",), 32),
    NavItem("settlement_web.index", _l("Settlement"), ("operator", "admin", "auditor"), 65),
])

from settlement.views import credit, deals, member, payments, queues, refunds, reports  # noqa: E402,F401

__all__ = ["settlement_web"]

