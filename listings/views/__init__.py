"""Web pages of the listings package (blueprint ``listings_web``).

One module per audience, like ``listings/service``: ``public`` (home sections,
catalogue, listing page, statistics, open licences), ``seller`` (the listing
wizard, my listings, open-licence declaration), ``buyer`` (registration and my
registrations) and ``operator`` (rights confirmation, publication, buyer
qualification). Views are thin: read the form, call a service, show the result
or put the refusal beside its field.
"""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_babel import lazy_gettext as _l

from exchange.auth import PUBLIC, access
from exchange.views import NAV, NavItem

_PKG = Path(__file__).resolve().parent.parent


class _Blueprint(Blueprint):
    """A blueprint whose static files are public (every endpoint must declare its access)."""

    @access(PUBLIC)
    def send_static_file(self, filename: str):  # type: ignore[no-untyped-def, override]
        return super().send_static_file(filename)


listings_web = _Blueprint("listings_web", __name__, template_folder=str(_PKG / "templates"),
                          static_folder=str(_PKG / "static"), static_url_path="/static/listings")


@listings_web.app_template_filter("listings_label")
def _label_filter(value):  # type: ignore[no-untyped-def]
    from listings.labels import label

    return label(value)


@listings_web.app_template_filter("listings_badge")
def _badge_filter(value):  # type: ignore[no-untyped-def]
    from listings.labels import badge_class

    return badge_class(value)


@listings_web.app_template_filter("listings_field")
def _field_filter(code):  # type: ignore[no-untyped-def]
    from flask_babel import get_locale

    from listings.fields import field_label

    return field_label(code, "en" if str(get_locale() or "zh") == "en" else "zh")


@listings_web.app_template_filter("listings_percent")
def _percent_filter(rate):  # type: ignore[no-untyped-def]
    """A rate stored as decimal text ("0.035") shown as a percentage ("3.5%"), exactly."""
    from decimal import Decimal, InvalidOperation

    try:
        pct = Decimal(str(rate)) * 100
    except InvalidOperation:
        return str(rate)
    text = format(pct.normalize(), "f")
    return f"{text}%"


NAV.extend([
    NavItem("listings_web.catalogue", _l("Listings"), None, 10),
    NavItem("listings_web.open_licences", _l("Open licences"), None, 12),
    NavItem("listings_web.statistics", _l("Statistics"), None, 14),
    NavItem("listings_web.my_listings", _l("My listings"), ("member",), 30),
    NavItem("listings_web.my_registrations", _l("My registrations"), ("member",), 31),
    NavItem("listings_web.operator_assets", _l("Rights confirmation"), ("operator", "admin"), 60),
    NavItem("listings_web.operator_listings", _l("Listings to publish"), ("operator", "admin"), 61),
    NavItem("listings_web.operator_registrations", _l("Buyers to qualify"), ("operator", "admin"), 62),
])

from listings.views import buyer, operator, public, seller  # noqa: E402,F401  (routes register on import)

__all__ = ["listings_web"]
