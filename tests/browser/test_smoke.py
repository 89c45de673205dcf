"""The browser can reach the exchange: home page in Chinese, switch to English, sign in."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_home_language_and_sign_in(live, browser, shots):
    base, app, clock = live
    from exchange.accounts import RegisterMember, register_member
    from exchange.models import EntityType, PartyKind
    from tests.factories import PASSWORD, credit_code

    with app.extensions["exchange.db"].session_scope() as s:
        register_member(s, RegisterMember(email="smoke@example.com", password=PASSWORD, display_name="烟雾测试",
                                          party_kind=PartyKind.organisation, party_name="烟雾测试有限公司",
                                          entity_type=EntityType.enterprise, id_code=credit_code()), clock=clock)
    page = browser.new_page()
    page.goto(base + "/")
    assert "技术权益交易所" in page.content()
    shots(page, "home-zh")
    page.click("text=English")
    assert "Technology Rights Exchange" in page.inner_text("header")
    page.goto(base + "/login")
    page.fill("input[name=email]", "smoke@example.com")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    assert "烟雾测试" in page.inner_text("header")
    shots(page, "signed-in")
    page.close()
