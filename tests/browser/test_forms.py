"""Forms in a real browser: bad input is refused with the message beside the field, and the
wizard's number field gives live check-character feedback while it is typed (JavaScript)."""
from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

TIMEOUT = 15_000


def _member(app, clock):  # type: ignore[no-untyped-def]
    from tests.factories import make_member

    with app.extensions["exchange.db"].session_scope() as s:
        return make_member(s, clock, email=f"forms-{random.getrandbits(32):08x}@example.com").email


def _sign_in(browser, base: str, email: str):  # type: ignore[no-untyped-def]
    from tests.factories import PASSWORD

    context = browser.new_context(base_url=base)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url
    return context, page


def _patent_number(check_ok: bool = True) -> tuple[str, str, str]:
    """(body, right check character, wrong check character) of an invention patent application."""
    from listings import domain as ld

    body = f"2019{1}{random.randrange(10**6, 10**7):07d}"
    right = ld.patent_check_character(body)
    wrong = "0" if right != "0" else "1"
    return body, right, wrong


def test_wizard_number_check_updates_as_you_type(live, browser, shots):  # type: ignore[no-untyped-def]
    base, app, clock = live
    expect.set_options(timeout=TIMEOUT)
    context, page = _sign_in(browser, base, _member(app, clock))
    page.goto("/sell/new")
    page.select_option("select[name=kind]", "invention_patent")
    out = page.locator("#number-check")
    body, right, wrong = _patent_number()
    number = page.locator("input[name=number]")

    number.press_sequentially("ZL2019")  # not a number yet
    expect(out).not_to_be_empty()
    expect(out).not_to_have_class(re.compile(r"\b(ok|bad)\b"))
    format_text = out.inner_text()
    shots(page, "typing-partial")

    number.fill("")
    number.press_sequentially("ZL" + body)  # twelve digits: the check character is computed and offered
    expect(out).to_contain_text(f"{body}.{right}")
    expect(out).not_to_have_text(format_text)
    shots(page, "typing-body")

    number.press_sequentially("." + wrong)  # a wrong check character
    expect(out).to_have_class(re.compile(r"\bbad\b"))
    expect(out).to_contain_text(right)
    shots(page, "typing-wrong-check")

    number.press("Backspace")
    number.press_sequentially(right)  # corrected
    expect(out).to_have_class(re.compile(r"\bok\b"))
    expect(out).to_contain_text(f"{body}.{right}")
    shots(page, "typing-right-check")

    page.select_option("select[name=kind]", "technical_secret")  # not a patent: no feedback
    expect(out).to_be_empty()
    context.close()


def test_wizard_refuses_a_bad_patent_number_beside_the_field(live, browser, shots):  # type: ignore[no-untyped-def]
    base, app, clock = live
    expect.set_options(timeout=TIMEOUT)
    context, page = _sign_in(browser, base, _member(app, clock))
    body, right, wrong = _patent_number()
    page.goto("/sell/new")
    page.select_option("select[name=kind]", "invention_patent")
    page.select_option("select[name=technical_field]", "artificial_intelligence")
    page.fill("input[name=number]", f"ZL{body}.{wrong}")
    page.fill("input[name=filing_date]", "2019-05-12")
    page.fill("input[name=title]", "一种校验位错误的测试专利")
    with page.expect_response(lambda r: r.request.method == "POST" and r.url.endswith("/sell/new")) as resp:
        page.click("main form.card button[type=submit]")
    assert resp.value.status == 422
    expect(page).to_have_url(re.compile(r"/sell/new$"))  # not registered
    number_field = page.locator(".field.has-error", has=page.locator("#number"))
    expect(number_field).to_have_count(1)
    expect(number_field.locator("p.error[role=alert]")).to_be_visible()
    expect(page.locator("input[name=number]")).to_have_value(f"ZL{body}.{wrong}")  # what was typed stays
    expect(page.locator("input[name=title]")).to_have_value("一种校验位错误的测试专利")
    shots(page, "bad-number-refused")

    # Another field wrong (no title): the number's verdict is still given beside it at once.
    page.fill("input[name=title]", "")
    page.click("main form.card button[type=submit]")
    expect(page.locator(".field.has-error", has=page.locator("#title")).locator("p.error")).to_be_visible()
    expect(page.locator(".field.has-error", has=page.locator("#number")).locator("p.error")).to_be_visible()
    shots(page, "bad-number-and-title")
    context.close()


@pytest.fixture()
def running_auction(live):  # type: ignore[no-untyped-def]
    """A running ascending auction with two qualified buyers (built through the services, committed)."""
    from auctions.models import Auction
    from listings.models import Listing
    from tests.auction_builders import end_publicity, listing_with_buyers, people

    import sqlalchemy as sa

    base, app, clock = live
    db = app.extensions["exchange.db"]
    with db.session_scope() as s:
        p = people(s, clock, buyers=2)
        ref = listing_with_buyers(s, clock, p, app.config["UPLOAD_FOLDER"])
        emails = [b.email for b in p.buyers]
    with db.session_scope() as s:
        assert end_publicity(s, clock, ref) == "in_auction"
    with db.session_scope() as s:
        listing_id = s.scalar(sa.select(Listing.id).where(Listing.ref == ref))
        a = s.scalar(sa.select(Auction).where(Auction.listing_id == listing_id))
        auction_ref, starts_at = a.ref, a.starts_at
    clock.set(starts_at + timedelta(minutes=1))
    return auction_ref, emails


def test_bid_below_the_minimum_is_refused_beside_the_field(live, browser, shots, running_auction):  # type: ignore[no-untyped-def]
    base, app, clock = live
    expect.set_options(timeout=TIMEOUT)
    auction_ref, emails = running_auction
    context, page = _sign_in(browser, base, emails[0])
    page.goto(f"/auctions/{auction_ref}")
    amount = page.get_by_test_id("bid-amount")
    expect(amount).to_be_visible()
    shots(page, "room")

    amount.fill("1000")  # far below the start price
    page.get_by_test_id("bid-submit").click()
    field = page.locator(".field.has-error", has=amount)
    expect(field.get_by_test_id("bid-error")).to_be_visible()
    expect(field.get_by_test_id("bid-error")).to_contain_text("1,000,000")  # the lowest acceptable bid
    expect(page.get_by_test_id("bid-count")).to_have_text("0")
    expect(amount).to_have_value("1000")  # what was typed stays for correction
    shots(page, "bid-too-low")

    amount.fill("abc")  # not an amount at all
    page.get_by_test_id("bid-submit").click()
    expect(page.locator(".field.has-error", has=page.get_by_test_id("bid-amount"))
           .get_by_test_id("bid-error")).to_be_visible()
    expect(page.get_by_test_id("bid-count")).to_have_text("0")
    shots(page, "bid-not-an-amount")

    page.get_by_test_id("bid-amount").fill("1000000")  # the start price is accepted
    page.get_by_test_id("bid-submit").click()
    expect(page.get_by_test_id("bid-count")).to_have_text("1")
    expect(page.get_by_test_id("bid-error")).to_have_count(0)
    context.close()
