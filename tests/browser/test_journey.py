"""The issue's main journey in a real browser, in accelerated time on the live server's FakeClock.

A seller lists a patent through the wizard; an operator confirms the rights and publishes; two
buyers register and are qualified (one deposit keyed in as a bank notification, the other booked
with the operator's "deposit received" button); they bid against each other in the auction room,
each page seeing the other's bid arrive through the long poll without a reload; seller and winner
sign; the operator records the price, confirms the transfer, pays out and issues the certificate;
an auditor downloads it, checks it publicly and verifies the audit chain. Every step is
photographed into test-artifacts/screenshots/test_main_journey/.

Each person has their own browser context (own cookies), signed in through /login. Every step is a
web form; only lookups (the listing's publicity end, the auction's start and end times, the deal
behind the contract, the amount outstanding) are read from the JSON API through the person's own
context (its session cookie), as the pages' scripts do. No bearer token is needed.
"""
from __future__ import annotations

import random
import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

_PDF = b"%PDF-1.4\n% journey evidence\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
TIMEOUT = 15_000  # ms, for every locator expectation


def _people(app, clock):  # type: ignore[no-untyped-def]
    from exchange.accounts import RegisterMember, create_staff_user, register_member
    from exchange.actors import Actor
    from exchange.models import EntityType, PartyKind, Role
    from tests.factories import PASSWORD, credit_code

    tag = f"{random.getrandbits(24):06x}"
    emails = {who: f"{who}-{tag}@journey.example" for who in ("seller", "buyer_a", "buyer_b", "operator", "auditor")}
    names = {"seller": "示范焊接科技有限公司", "buyer_a": "甲方智能装备有限公司", "buyer_b": "乙方机器人有限公司"}
    with app.extensions["exchange.db"].session_scope() as s:
        for who, name in names.items():
            register_member(s, RegisterMember(email=emails[who], password=PASSWORD, display_name=name[:4],
                                              party_kind=PartyKind.organisation, party_name=f"{name}{tag}",
                                              entity_type=EntityType.enterprise, id_code=credit_code()), clock=clock)
        for who, role in (("operator", Role.operator), ("auditor", Role.auditor)):
            create_staff_user(s, email=emails[who], password=PASSWORD, display_name=who, role=role,
                              actor=Actor.system("test"), clock=clock)
    return emails


def _sign_in(browser, base: str, email: str):  # type: ignore[no-untyped-def]
    from tests.factories import PASSWORD

    context = browser.new_context(base_url=base, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, f"sign-in of {email} failed"
    return context, page


def _json(context, url: str):  # type: ignore[no-untyped-def]
    r = context.request.get(url)
    assert r.ok, f"GET {url} -> {r.status}: {r.text()[:300]}"
    return r.json()


def _ok_page(page) -> None:  # type: ignore[no-untyped-def]
    """No refusal drawn on the page we landed on."""
    expect(page.locator("p.error")).to_have_count(0)


def test_main_journey(live, browser, shots):  # type: ignore[no-untyped-def]
    from listings import domain as ld

    base, app, clock = live
    expect.set_options(timeout=TIMEOUT)
    emails = _people(app, clock)
    ctx = {}
    pages = {}
    for who in ("seller", "operator", "buyer_a", "buyer_b", "auditor"):
        ctx[who], pages[who] = _sign_in(browser, base, emails[who])
    seller, op, pa, pb, auditor = (pages[w] for w in ("seller", "operator", "buyer_a", "buyer_b", "auditor"))

    # 1. The seller's wizard: the asset and its number (the live check character confirms it).
    body = f"2020{1}{random.randrange(10**6, 10**7):07d}"
    number = f"ZL{body}.{ld.patent_check_character(body)}"
    seller.goto("/sell/new")
    seller.select_option("select[name=kind]", "invention_patent")
    seller.select_option("select[name=technical_field]", "artificial_intelligence")
    seller.fill("input[name=number]", number)
    expect(seller.locator("#number-check")).to_have_class(re.compile(r"\bok\b"))
    seller.fill("input[name=filing_date]", "2020-05-12")
    seller.fill("input[name=title]", "一种基于机器视觉的焊缝缺陷在线检测方法")
    seller.fill("textarea[name=summary]", "焊缝图像实时分割与缺陷分类，检出率99.2%。")
    shots(seller, "seller-wizard-asset")
    seller.click("main form.card button[type=submit]")
    expect(seller).to_have_url(re.compile(r"/sell/A[0-9-]+/owners$"))
    asset_ref = seller.url.rstrip("/").split("/")[-2]

    # 2-4. Evidence (the patent certificate), a cost valuation, and the request for rights confirmation.
    seller.goto(f"/sell/{asset_ref}/evidence")
    seller.select_option("select[name=kind]", "certificate")
    seller.set_input_files("input[name=file]", files=[{"name": "专利证书.pdf", "mimeType": "application/pdf",
                                                       "buffer": _PDF}])
    seller.check("input[name=public]")
    seller.click("main form[enctype='multipart/form-data'] button[type=submit]")
    expect(seller.locator("tr.highlight")).to_have_count(1)
    shots(seller, "seller-wizard-evidence")
    seller.goto(f"/sell/{asset_ref}/valuation")
    cost = seller.locator("form[action$='/valuation/cost']")
    cost.locator("input[name=replacement_cost]").fill("800000")
    cost.locator("input[name=physical_depreciation]").fill("60000")
    cost.locator("button[type=submit]").click()
    _ok_page(seller)
    seller.locator("form[action$='/review-request'] button[type=submit]").click()
    _ok_page(seller)
    shots(seller, "seller-wizard-valuation")

    # 5-6. Terms and submission.
    seller.goto(f"/sell/{asset_ref}/terms")
    seller.fill("input[name=title]", "焊缝缺陷在线检测方法专利转让")
    seller.select_option("select[name=mode]", "assignment")
    seller.fill("input[name=price]", "800000")
    seller.fill("input[name=deposit]", "80000")
    seller.fill("input[name=increment]", "5000")
    seller.select_option("select[name=auction_format]", "ascending")
    seller.fill("input[name=free_bidding_minutes]", "30")
    seller.fill("textarea[name=qualification_conditions]", "依法设立的企业法人，具备焊接装备研发能力。")
    shots(seller, "seller-wizard-terms")
    seller.click("main form.card button[type=submit]")
    expect(seller).to_have_url(re.compile(r"/sell/A[0-9-]+/submit/L[0-9-]+$"))
    listing_ref = seller.url.split("/")[-1]
    shots(seller, "seller-wizard-submit")
    seller.click("main section.card form button[type=submit]")
    expect(seller).to_have_url(re.compile(r"/my/listings"))
    shots(seller, "seller-submitted")

    # Operator: rights confirmation (确权) with the checklist, then publication.
    op.goto("/operator/assets")
    expect(op.locator(f"a[href$='/operator/assets/{asset_ref}']").first).to_be_visible()
    op.goto(f"/operator/assets/{asset_ref}")
    review = op.locator("form[action$='/review']")
    for name in ("ownership", "legal_status", "consents", "encumbrances", "evidence"):
        review.locator(f"input[name={name}]").check()
    review.locator("textarea[name=reasons]").fill("权属、法律状态与登记簿一致。")
    shots(op, "operator-confirm-rights")
    review.locator("[name=confirm_rights]").click()
    expect(op).to_have_url(re.compile(r"/operator/assets$"))
    _ok_page(op)
    op.goto("/operator/listings")
    expect(op.locator(f"a[href$='/operator/listings/{listing_ref}']").first).to_be_visible()
    op.goto(f"/operator/listings/{listing_ref}")
    publish = op.locator("form[action$='/publish']")
    publish.locator("input[name=publish-confirm]").check()
    shots(op, "operator-publish")
    publish.locator("button[type=submit]").click()
    expect(op).to_have_url(re.compile(r"/operator/listings$"))
    _ok_page(op)
    listing = _json(ctx["operator"], f"/api/v1/listings/{listing_ref}")
    assert listing["state"] == "published", listing["state"]

    # Two buyers register on the listing page.
    regs = {}
    for who, page in (("buyer_a", pa), ("buyer_b", pb)):
        clock.advance(hours=3)
        page.goto(f"/listings/{listing_ref}")
        form = page.locator("#register form")
        form.locator("textarea[name=declaration]").fill("本单位符合全部受让条件。")
        form.locator("input[name=meets_conditions]").check()
        shots(page, f"{who}-register")
        form.locator("button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/my/registrations#R"))
        regs[who] = page.url.split("#")[-1]
        shots(page, f"{who}-registered")

    # Deposits: buyer A's arrives as a bank notification keyed in on the settlement payments page;
    # buyer B's is booked with the "deposit received" button (through the ledger). Then both qualify.
    op.goto("/operator/settlement/payments/new")
    op.fill("input[name=bank_reference]", f"DEP-{regs['buyer_a']}")
    op.fill("input[name=payer_name]", "甲方智能装备有限公司")
    op.fill("input[name=amount]", "80000")
    op.select_option("select[name=purpose]", "deposit")
    op.fill("input[name=purpose_ref]", regs["buyer_a"])
    shots(op, "operator-deposit-notification")
    op.click("main form[action$='/payments/new'] button[type=submit]")
    expect(op).to_have_url(re.compile(r"/operator/settlement/payments/[A-Z]"))
    _ok_page(op)
    op.goto(f"/operator/registrations/{regs['buyer_b']}")
    dep = op.locator("form[action$='/deposit']")
    dep.locator("input[name=deposit-confirm]").check()
    dep.locator("button[type=submit]").click()
    expect(op).to_have_url(re.compile(r"/operator/registrations$"))
    _ok_page(op)
    for who in ("buyer_a", "buyer_b"):
        op.goto(f"/operator/registrations/{regs[who]}")
        q = op.locator("form[action$='/qualify']")
        q.locator("input[name=qualify-confirm]").check()
        if who == "buyer_b":
            shots(op, "operator-qualify")
        q.locator("button[type=submit]").click()
        expect(op).to_have_url(re.compile(r"/operator/registrations$"))
        _ok_page(op)

    # Publicity ends; the auction opens (times read from the public JSON API).
    clock.set(datetime.fromisoformat(listing["publicity_ends_at"]) + timedelta(seconds=1))
    _json(ctx["operator"], f"/api/v1/listings/{listing_ref}")  # the listing moves on when looked at
    auction = next(a for a in _json(ctx["operator"], "/api/v1/auctions") if a["listing_ref"] == listing_ref)
    clock.set(datetime.fromisoformat(auction["starts_at"]) + timedelta(minutes=1))
    room = f"/auctions/{auction['ref']}"

    # The auction room, two pages side by side: each sees the other's bid arrive without a reload.
    pa.goto(room)
    pb.goto(room)
    for page in (pa, pb):
        expect(page.get_by_test_id("bid-amount")).to_be_visible()
        expect(page.get_by_test_id("bid-count")).to_have_text("0")
    shots(pb, "room-open")
    pb_marker = pb.evaluate("() => performance.timeOrigin")  # a reload would change it

    pa.get_by_test_id("bid-amount").fill("800000")
    pa.get_by_test_id("bid-submit").click()
    expect(pa.get_by_test_id("you-lead")).to_have_class(re.compile(r"\bok\b"))
    expect(pb.get_by_test_id("current-price")).to_contain_text("800,000")
    expect(pb.get_by_test_id("bid-count")).to_have_text("1")
    expect(pb.get_by_test_id("record-row")).to_have_count(1)
    assert pb.evaluate("() => performance.timeOrigin") == pb_marker, "buyer B's page reloaded"
    shots(pb, "room-b-sees-a-bid")

    clock.advance(minutes=2)
    pa_marker = pa.evaluate("() => performance.timeOrigin")
    expect(pb.get_by_test_id("bid-amount")).to_have_value(re.compile(r"^805,?000(\.00)?$"))  # min next bid prefilled
    pb.get_by_test_id("bid-amount").fill("810000")
    pb.get_by_test_id("bid-submit").click()
    expect(pb.get_by_test_id("you-lead")).to_have_class(re.compile(r"\bok\b"))
    expect(pa.get_by_test_id("current-price")).to_contain_text("810,000")
    expect(pa.get_by_test_id("bid-count")).to_have_text("2")
    expect(pa.get_by_test_id("you-lead")).not_to_have_class(re.compile(r"\bok\b"))
    assert pa.evaluate("() => performance.timeOrigin") == pa_marker, "buyer A's page reloaded"
    shots(pa, "room-a-sees-b-bid")

    clock.advance(minutes=2)
    pb_marker = pb.evaluate("() => performance.timeOrigin")
    pa.get_by_test_id("bid-amount").fill("820000")
    pa.get_by_test_id("bid-submit").click()
    expect(pb.get_by_test_id("current-price")).to_contain_text("820,000")
    expect(pb.get_by_test_id("bid-count")).to_have_text("3")
    expect(pb.get_by_test_id("record-row")).to_have_count(3)
    assert pb.evaluate("() => performance.timeOrigin") == pb_marker, "buyer B's page reloaded"
    shots(pa, "room-a-leads")
    shots(pb, "room-b-outbid")

    # The bidding ends; the operator publishes the result.
    state = _json(ctx["operator"], f"/api/v1/auctions/{auction['ref']}")
    clock.set(datetime.fromisoformat(state["effective_end_at"]) + timedelta(seconds=1))
    state = _json(ctx["operator"], f"/api/v1/auctions/{auction['ref']}")
    assert state["state"] == "closed" and state["hammer_price_fen"] == 82_000_000, state
    op.goto(f"/operator/auctions/{auction['ref']}/publish")
    op.get_by_test_id("confirm-box").check()
    shots(op, "operator-publish-result")
    op.get_by_test_id("confirm-submit").click()
    expect(op).to_have_url(re.compile(re.escape(room) + "$"))
    pa.goto(room)
    expect(pa.get_by_test_id("you-won")).to_be_visible()
    expect(pa.get_by_test_id("hammer-price")).to_contain_text("820,000")
    shots(pa, "room-a-won")

    # Signing: the seller, then the winner, on the contract page.
    clock.advance(hours=20)
    seller.goto("/my/contracts")
    row = seller.get_by_test_id("contract-row").first
    expect(row).to_be_visible()
    contract_ref = row.get_attribute("data-ref")
    for who, page in (("seller", seller), ("buyer_a", pa)):
        page.goto(f"/contracts/{contract_ref}")
        expect(page.get_by_test_id("sign-text-sha256")).to_have_value(
            page.get_by_test_id("text-sha256").inner_text().strip())
        page.get_by_test_id("sign-agree").check()
        shots(page, f"{who}-sign")
        page.get_by_test_id("sign-submit").click()
        expect(page.get_by_test_id("signed-note")).to_be_visible()
        _ok_page(page)
        clock.advance(hours=2)
    expect(pa.get_by_test_id("contract-state")).to_contain_text(re.compile(r"生效|in force", re.I))
    shots(pa, "contract-in-force")
    deal_ref = _json(ctx["buyer_a"], f"/api/v1/contracts/{contract_ref}")["deal_ref"]

    # Settlement: the price (less the applied deposit) and the buyer's fee arrive from the bank.
    clock.advance(days=1)
    outstanding = _json(ctx["operator"], f"/api/v1/settlement/deals/{deal_ref}")["outstanding_fen"]
    assert outstanding > 0
    op.goto("/operator/settlement/payments/new")
    op.fill("input[name=bank_reference]", f"PRICE-{deal_ref}")
    op.fill("input[name=payer_name]", "甲方智能装备有限公司")
    op.fill("input[name=amount]", f"{outstanding // 100}.{outstanding % 100:02d}")
    op.select_option("select[name=purpose]", "price")
    op.fill("input[name=purpose_ref]", deal_ref)
    shots(op, "operator-price-notification")
    op.click("main form[action$='/payments/new'] button[type=submit]")
    expect(op).to_have_url(re.compile(r"/operator/settlement/payments/[A-Z]"))
    _ok_page(op)

    clock.advance(days=7)
    op.goto(f"/operator/settlement/deals/{deal_ref}")
    tr = op.locator("form[action$='/transfer']")
    tr.locator("textarea[name=transfer-evidence]").fill("国家知识产权局手续合格通知书")
    tr.locator("input[name=transfer-confirm]").check()
    shots(op, "operator-transfer")
    tr.locator("button[type=submit]").click()
    _ok_page(op)
    pay = op.locator("form[action$='/payout']")
    pay.locator("input[name=payout-confirm]").check()
    pay.locator("button[type=submit]").click()
    _ok_page(op)
    expect(op.locator("form[action$='/payout']")).to_have_count(0)
    shots(op, "operator-paid-out")

    # The certificate.
    op.goto("/operator/certificates")
    ready = op.locator(f"[data-testid=ready-row][data-deal='{deal_ref}']")
    expect(ready).to_be_visible()
    ready.get_by_test_id("issue-confirm").check()
    shots(op, "operator-certificates")
    ready.get_by_test_id("issue-submit").click()
    expect(op).to_have_url(re.compile(r"/certificates/[A-Z]"))
    _ok_page(op)
    cert_ref = op.url.rstrip("/").split("/")[-1]
    shots(op, "certificate-issued")

    # The auditor: the certificate list, the PDF, the public check and the audit chain.
    auditor.goto("/audit/certificates")
    row = auditor.locator(f"[data-testid=certificate-row][data-ref='{cert_ref}']")
    expect(row).to_be_visible()
    shots(auditor, "auditor-certificates")
    href = row.get_by_test_id("certificate-pdf").get_attribute("href")
    pdf = ctx["auditor"].request.get(href)
    assert pdf.ok and pdf.headers["content-type"].startswith("application/pdf")
    data = pdf.body()
    assert data.startswith(b"%PDF")
    from tests.integration.test_contracts_support import pdf_text

    text = pdf_text(data)
    assert cert_ref in text, "the PDF does not carry the certificate reference"
    row.locator("a[href*='/verify/']").click()
    expect(auditor).to_have_url(re.compile(r"/verify/"))
    expect(auditor.locator(".verdict[data-state=valid]")).to_be_visible()
    shots(auditor, "auditor-verify-certificate")
    auditor.goto("/audit/trail")
    auditor.get_by_test_id("verify-chain").first.click()
    expect(auditor.get_by_test_id("chain-result")).to_have_attribute("data-ok", "true")
    shots(auditor, "auditor-chain-verified")

    for c in ctx.values():
        c.close()
