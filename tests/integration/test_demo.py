"""The run command's demo data and the `demo` command: one whole deal end to end, certificate included."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

pytestmark = pytest.mark.slow


def test_seed_demo_and_demo_command_play_whole_deals(tmp_path):
    from auctions.models import Auction, Deal
    from contracts.models import Certificate
    from exchange.app import create_app
    from exchange.demo import seed_demo
    from exchange.migrate import upgrade
    from listings.models import Listing

    url = f"sqlite:///{tmp_path}/demo.db"
    upgrade(url)
    app = create_app("testing", overrides={"DATABASE_URL": url, "INSTANCE_PATH": str(tmp_path),
                                           "UPLOAD_FOLDER": str(tmp_path / "uploads")})
    accounts = seed_demo(app)
    assert {a.role for a in accounts} >= {"seller", "buyer", "operator", "auditor", "admin"}
    db = app.extensions["exchange.db"]
    now = app.extensions["exchange.clock"].now()
    with db.session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Listing).where(Listing.state == "published")) >= 3
        live = s.scalars(sa.select(Auction).where(Auction.state.in_(["scheduled", "open"]))).all()
        assert any(a.effective_end_at > now and a.bid_count > 0 for a in live), "no live auction with bids"
        assert s.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 1
        assert s.scalar(sa.select(sa.func.count()).select_from(Deal).where(Deal.state == "completed")) == 1
    # Idempotent: a second start adds nothing.
    seed_demo(app)
    with db.session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 1

    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "/verify/" in result.output and ".pdf" in result.output
    pdfs = list((tmp_path / "certificates").glob("*.pdf"))
    assert len(pdfs) == 2 and all(p.read_bytes().startswith(b"%PDF") for p in pdfs)
    with db.session_scope() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 2
    db.engine.dispose()
