"""Real-browser fixtures: a live server in a thread on its own database, and headless Chromium.

The server shares this process, so tests move its FakeClock to run a whole deal
in accelerated time. Its database is a scratch one with real commits (SQLite
file, or a PostgreSQL database when the suite runs on PostgreSQL), dropped after.
Chromium is Debian's (/usr/bin/chromium, installed by scripts/system-deps.sh),
driven by Playwright's Python package; Playwright's own browser download is not used.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from exchange.clock import FakeClock

CHROMIUM = os.environ.get("EXCHANGE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage"]
SCREENSHOTS = Path(os.environ.get("EXCHANGE_SCREENSHOTS", "test-artifacts/screenshots"))


def _scratch_url(db_url: str, tmp: str) -> tuple[str, object]:
    if not db_url.startswith("postgresql"):
        return f"sqlite:///{tmp}/browser.db", None
    name = "exchange_browser"
    admin = sa.create_engine(db_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT",
                             poolclass=sa.pool.NullPool)
    with admin.connect() as c:
        c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        c.exec_driver_sql(f"CREATE DATABASE {name}")
    return db_url.rsplit("/", 1)[0] + "/" + name, (admin, name)


@pytest.fixture(scope="session")
def live(db_url):  # type: ignore[no-untyped-def]
    """A running exchange: (base_url, app, clock)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/system-deps.sh (apt-get install chromium)")
    from werkzeug.serving import make_server

    from exchange.app import create_app
    from exchange.calendar_store import seed_bundled_years
    from exchange.migrate import upgrade

    tmp = tempfile.mkdtemp(prefix="exchange-browser-")
    url, cleanup = _scratch_url(db_url, tmp)
    upgrade(url)
    clock = FakeClock(datetime(2026, 9, 21, 1, 0, tzinfo=timezone.utc))
    app = create_app("testing", overrides={"DATABASE_URL": url, "INSTANCE_PATH": tmp,
                                           "UPLOAD_FOLDER": os.path.join(tmp, "uploads")}, clock=clock)
    with app.extensions["exchange.db"].session_scope() as s:
        seed_bundled_years(s, clock=clock)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app, clock
    finally:
        server.shutdown()
        app.extensions["exchange.db"].engine.dispose()
        if cleanup is not None:
            admin, name = cleanup
            with admin.connect() as c:
                c.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def shots(request):  # type: ignore[no-untyped-def]
    """Save numbered screenshots of each step into test-artifacts/screenshots/<test name>/."""
    folder = SCREENSHOTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = {"n": 0}

    def take(page, step: str) -> Path:  # type: ignore[no-untyped-def]
        counter["n"] += 1
        path = folder / f"{counter['n']:02d}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
