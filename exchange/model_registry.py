"""Import every package's models so the metadata is complete (Alembic, create_all, checks)."""
from __future__ import annotations

import importlib

from exchange.db import Base

PACKAGES = ("exchange", "listings", "auctions", "settlement", "contracts")


def load_all_models():  # type: ignore[no-untyped-def]
    for pkg in PACKAGES:
        try:
            importlib.import_module(f"{pkg}.models")
        except ModuleNotFoundError as exc:
            if exc.name != f"{pkg}.models":
                raise
    return Base.metadata
