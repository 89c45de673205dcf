"""Listings pages through the test client: who may see what, the catalogue and the listing page,
the seller's wizard end to end, bad input beside its field with nothing created, CSRF, escaping,
languages, buyer registration with deposit instructions, the operator's queues and the statistics."""
from __future__ import annotations

import html
import io
import re
from datetime import date, datetime, time, timezone

import pytest
import sqlalchemy as sa

from exchange.actors import Actor
from exchange.clock import BUSINESS_TZ, local_date
from exchange.models import EntityType, Role
from listings import domain as d
from listings import service as svc
from listings.charts import bar_chart, column_chart, nice_step
from listings.demo import make_confirmed_asset, publish
from listings.models import (
    Asset,
    AssetOwner,
    BuyerRegistration,
    Encumbrance,
    EvidenceDocument,
    Listing,
    OpenLicenceDeclaration,
    OpenLicenceTaking,
    Valuation,
)
from tests.factories import PASSWORD, make_member, make_staff
from tests.helpers import PDF_BYTES, count_rows, listing_in_auction, patent_no
from tests.web.test_platform_pages import CSRF_RE, XSS, csrf_from, field_block, sign_in


# -- helpers --------------------------------------------------------------------------------------------
def page_of(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.get_data(as_text=True)


def client_for(app, user):  # type: ignore[no-untyped-def]
    """A test client signed in as ``user`` (each user gets its own cookie jar)."""
    c = app.test_client()
    r = sign_in(c, user.email)
    assert r.status_code == 302, page_of(r)
    return c


def post_form(client, page_path: str, action: str, data: dict, **kw):  # type: ignore[no-untyped-def]
    """POST ``data`` to ``action`` with the CSRF token read from ``page_path`` like a browser would."""
    return client.post(action, data={**data, "csrf_token": csrf_from(client, page_path)}, **kw)


def error_beside(page: str, name: str) -> str:
    block = field_block(page, name)
    assert "has-error" in block, block
    return html.unescape(" ".join(re.findall(r'<p class="error"[^>]*>(.*?)</p>', block, flags=re.S)))


def no_inline_code(page: str) -> None:
    """The CSP forbids inline scripts and styles: the pages must not rely on them."""
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "inline <script>"
    assert " style=" not in page and "<style" not in page, "inline style"


@pytest.fixture()
def people(app, session, clock):  # type: ignore[no-untyped-def]
    """A university seller (appraisal required), an enterprise seller, two buyers, staff."""
    uni = make_member(session, clock, display_name="王教授", party_name="沪江理工大学（测试）",
                      entity_type=EntityType.university)
    ent = make_member(session, clock, display_name="周总", party_name="上海测试科技有限公司")
    b1 = make_member(session, clock, display_name="李经理")
    b2 = make_member(session, clock, display_name="陈总")
    op = make_staff(session, clock, Role.operator)
    admin = make_staff(session, clock, Role.admin)
    auditor = make_staff(session, clock, Role.auditor)
    session.commit()
    return {"uni": uni, "ent": ent, "b1": b1, "b2": b2, "op": op, "admin": admin, "auditor": auditor}


@pytest.fixture()
def world(app, session, clock, people):  # type: ignore[no-untyped-def]
    """One listing in publicity (by the university, appraised) with a public certificate."""
    folder = app.config["UPLOAD_FOLDER"]
    asset = make_confirmed_asset(session, clock, people["uni"], people["op"], title="一种工业机器人关节减速器",
                                 field="advanced_manufacturing", summary="高精度谐波减速器，已完成中试。",
                                 folder=folder)
    listing = publish(session, clock, people["uni"], people["op"], asset, title="工业机器人关节减速器专利转让",
                      price_yuan=2_800_000, disclosures="存在一项普通许可（2024 年至 2027 年）。")
    session.commit()
    return {**people, "asset": asset, "listing": listing, "ref": listing.ref}


def draft_for(session, clock, seller, asset_ref: str, **over):  # type: ignore[no-untyped-def]
    terms = dict(title="测试挂牌", mode=d.TradingMode.ASSIGNMENT, price_fen=100_000_000, deposit_fen=10_000_000,
                 increment_fen=1_000_000)
    terms.update(over)
    return svc.create_listing(session, Actor.of(seller), asset_ref, svc.ListingTerms(**terms), clock=clock)


# -- who sees what ---------------------------------------------------------------------------------------
PUBLIC_PAGES = ["/", "/listings", "/listings/{ref}", "/statistics", "/open-licences"]
MEMBER_PAGES = ["/my/listings", "/my/registrations", "/sell/new"]
OPERATOR_PAGES = ["/operator/assets", "/operator/listings", "/operator/registrations",
                  "/operator/listings/{ref}", "/operator/assets/{asset}"]


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_public_pages_answer_everyone(app, client, world, path):
    url = path.format(ref=world["ref"])
    r = client.get(url)
    assert r.status_code == 200 and r.mimetype == "text/html", url
    no_inline_code(page_of(r))
    for who in ("b1", "op", "auditor"):
        assert client_for(app, world[who]).get(url).status_code == 200, (who, url)


def signs_in_here(resp, path: str) -> None:
    """Members' pages answer an anonymous visitor 401, with a sign-in form that leads back to them."""
    page = page_of(resp)
    assert resp.status_code == 401 and resp.mimetype == "text/html"
    assert f'action="/login?next={path}"' in page and 'name="password"' in page


@pytest.mark.parametrize("path", MEMBER_PAGES)
def test_member_pages(app, client, world, path):
    signs_in_here(client.get(path), path)
    ok = client_for(app, world["b1"]).get(path)
    assert ok.status_code == 200
    no_inline_code(page_of(ok))
    for who in ("op", "auditor"):
        assert client_for(app, world[who]).get(path).status_code == 403, who


@pytest.mark.parametrize("path", OPERATOR_PAGES)
def test_operator_pages(app, client, world, path):
    url = path.format(ref=world["ref"], asset=world["asset"].ref)
    signs_in_here(client.get(url), url)
    for who in ("op", "admin"):
        r = client_for(app, world[who]).get(url)
        assert r.status_code == 200, (who, url)
        no_inline_code(page_of(r))
    for who in ("b1", "uni", "auditor"):
        assert client_for(app, world[who]).get(url).status_code == 403, (who, url)


def test_someone_elses_draft_and_wizard_are_not_found(app, session, clock, world):
    asset = svc.register_asset(session, Actor.of(world["ent"]), svc.AssetInput(
        kind=d.AssetKind.INVENTION_PATENT, title="草稿成果", technical_field="other", number=patent_no(7001),
        filing_date=date(2017, 5, 1)), clock=clock)
    draft = draft_for(session, clock, world["ent"], asset.ref)
    session.commit()
    buyer = client_for(app, world["b1"])
    for url in (f"/listings/{draft.ref}", f"/sell/{asset.ref}/owners", f"/sell/{asset.ref}/terms/{draft.ref}",
                f"/sell/{asset.ref}/submit/{draft.ref}", f"/my/listings/{draft.ref}/withdraw"):
        r = buyer.get(url)
        assert r.status_code == 404 and r.mimetype == "text/html", url
    assert client_for(app, world["ent"]).get(f"/listings/{draft.ref}").status_code == 200  # the seller sees it


def test_signing_in_from_the_401_page_brings_the_visitor_back(client, world):
    page = page_of(client.get("/my/registrations"))
    token = CSRF_RE.search(page).group(1)
    r = client.post("/login?next=/my/registrations", data={"email": world["b1"].email, "password": PASSWORD,
                                                           "csrf_token": token})
    assert r.status_code == 302 and r.headers["Location"] == "/my/registrations"
    assert client.get("/my/registrations").status_code == 200


def test_navigation_depends_on_the_role(app, client, world):
    anon = page_of(client.get("/"))
    assert 'href="/listings"' in anon and 'href="/statistics"' in anon and 'href="/my/listings"' not in anon
    member = page_of(client_for(app, world["b1"]).get("/"))
    assert 'href="/my/listings"' in member and 'href="/my/registrations"' in member
    assert 'href="/operator/assets"' not in member
    op = page_of(client_for(app, world["op"]).get("/"))
    assert 'href="/operator/assets"' in op and 'href="/operator/listings"' in op
    assert 'href="/operator/registrations"' in op and 'href="/my/listings"' not in op


def test_static_files_are_served(client):
    r = client.get("/static/listings/patent-check.js")
    assert r.status_code == 200 and "javascript" in r.mimetype
    assert client.get("/static/listings/listings.css").mimetype == "text/css"


# -- home, catalogue, listing page ----------------------------------------------------------------------
def test_home_shows_publicity_and_headline_numbers(client, world):
    page = page_of(client.get("/?lang=en"))
    assert "工业机器人关节减速器专利转让" in page and "¥2,800,000.00" in page
    assert "20 working days left" in page
    assert re.search(r"<b>1</b>listings in publicity", page)
    assert "deals" in page and "qualified buyers" in page


def test_catalogue_search_and_filters(client, session, clock, world, app):
    other = make_confirmed_asset(session, clock, world["ent"], world["op"], title="基于深度学习的电池缺陷检测方法",
                                 field="artificial_intelligence", folder=app.config["UPLOAD_FOLDER"])
    publish(session, clock, world["ent"], world["op"], other, title="电池缺陷检测专利许可", price_yuan=500_000,
            mode=d.TradingMode.ORDINARY_LICENCE, licence_term_months=36, territory="中国大陆")
    session.commit()
    def titles(query: str) -> list[str]:
        r = client.get("/listings?" + query)
        assert r.status_code == 200, page_of(r)
        return re.findall(r'<h3><a href="/listings/[^"]+">([^<]+)</a></h3>', page_of(r))

    assert len(titles("")) == 2
    assert titles("q=机器人") == ["工业机器人关节减速器专利转让"]
    assert titles("q=" + world["asset"].number) == ["工业机器人关节减速器专利转让"]
    assert titles("technical_field=artificial_intelligence") == ["电池缺陷检测专利许可"]
    assert titles("mode=ordinary_licence") == ["电池缺陷检测专利许可"]
    assert titles("kind=utility_model") == []
    assert titles("min_price=1,000,000") == ["工业机器人关节减速器专利转让"]
    assert titles("max_price=500000.00") == ["电池缺陷检测专利许可"]
    assert titles("state=published&ending_within=40") != []
    assert titles("ending_within=3") == []  # publicity ends on 2026-03-30
    empty = page_of(client.get("/listings?q=不存在的技术"))
    assert "没有符合条件的项目" in empty and "清除筛选" in empty


def test_catalogue_paginates(client, monkeypatch, session, clock, world, app):
    from listings.views import public

    monkeypatch.setattr(public, "PER_PAGE", 1)
    other = make_confirmed_asset(session, clock, world["ent"], world["op"], title="第二项", field="other",
                                 folder=app.config["UPLOAD_FOLDER"])
    publish(session, clock, world["ent"], world["op"], other, title="第二项专利转让", price_yuan=300_000)
    session.commit()
    first = page_of(client.get("/listings?lang=en&q=专利"))
    assert "Page 1 of 2" in first and "第二项专利转让" in first
    nxt = html.unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))
    assert "page=2" in nxt and "q=%E4%B8%93%E5%88%A9" in nxt  # the filters stay with the page
    second = page_of(client.get("/listings?lang=en&q=专利&page=2"))
    assert "Page 2 of 2" in second and "工业机器人关节减速器专利转让" in second and 'rel="prev"' in second


@pytest.mark.parametrize("query, field, message", [
    ("min_price=abc", "min_price", "Enter an amount in yuan"),
    ("max_price=-5", "max_price", "more than zero"),
    ("min_price=12.345", "min_price", "Enter an amount in yuan"),
    ("min_price=900&max_price=100", "min_price", "The minimum price is above the maximum"),
    ("ending_within=x", "ending_within", "Not a valid integer"),
    ("kind=robot", "kind", "Not a valid choice"),
    ("q=a+b+c+d+e+f", "q", "At most 5 keywords"),
])
def test_catalogue_bad_filters_are_shown_beside_the_field(client, world, query, field, message):
    r = client.get("/listings?lang=en&" + query)
    assert r.status_code == 422
    assert message in error_beside(page_of(r), field)


def test_listing_page_shows_rights_price_and_publicity(client, world):
    r = client.get(f"/listings/{world['ref']}?lang=en")
    page = page_of(r)
    asset = world["asset"]
    assert "✔ Rights confirmed" in page and "Appraised" in page
    assert f"ZL{asset.number}" in page and "Invention patent" in page and "2039-03-14" in page
    assert "¥2,660,000.00" in page  # the appraisal (95% of the price in the demo builder)
    assert "¥550,000.00 – ¥550,000.00" in page  # the reference band from the cost valuation
    assert "2026-03-02 – 2026-03-30" in page and "20 working days left" in page
    assert "存在一项普通许可" in page and "依法设立并有效存续的企业法人" in page
    doc = asset.documents[0]
    assert f'href="/api/v1/assets/{asset.ref}/documents/{doc.id}"' in page and doc.sha256 in page
    assert client.get(f"/api/v1/assets/{asset.ref}/documents/{doc.id}").status_code == 200
    assert "Sign in to register" in page and f"/login?next=/listings/{world['ref']}" in page


def test_countdown_counts_working_days_on_the_business_calendar(client, clock, world):
    clock.set(datetime(2026, 3, 27, 2, 0, tzinfo=timezone.utc))  # Friday 27 March
    assert "1 working day left" in page_of(client.get(f"/listings/{world['ref']}?lang=en"))  # Monday 30th
    clock.set(datetime(2026, 3, 30, 2, 0, tzinfo=timezone.utc))
    assert "Last day today" in page_of(client.get(f"/listings/{world['ref']}?lang=en"))
    clock.set(datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc))
    assert "剩余 20 个工作日" in page_of(client.get(f"/listings/{world['ref']}"))


def test_register_button_by_viewer(app, world):
    url = f"/listings/{world['ref']}?lang=en"
    seller = page_of(client_for(app, world["uni"]).get(url))
    assert "This is your listing." in seller and 'name="declaration"' not in seller
    buyer = page_of(client_for(app, world["b1"]).get(url))
    assert 'name="declaration"' in buyer and f'action="/listings/{world["ref"]}/register"' in buyer
    op = page_of(client_for(app, world["op"]).get(url))
    assert 'name="declaration"' not in op and "Only member accounts register interest." in op
    assert f'href="/operator/listings/{world["ref"]}"' in op and "/operator/listings/" not in buyer


def test_technical_secret_details_stay_with_seller_and_exchange(app, client, session, clock, world):
    seller, op = world["ent"], world["op"]
    asset = svc.register_asset(session, Actor.of(seller), svc.AssetInput(
        kind=d.AssetKind.TECHNICAL_SECRET, title="高纯石英砂提纯工艺", technical_field="new_materials",
        summary="工艺路线摘要（公开）", confidential_details="酸洗温度 85℃，配方 A:B=3:1"), clock=clock)
    svc.upload_evidence(session, Actor.of(seller), asset.ref, kind="other", filename="工艺说明.pdf", data=PDF_BYTES,
                        public=False, folder=app.config["UPLOAD_FOLDER"], max_bytes=10**6, clock=clock)
    svc.request_review(session, Actor.of(seller), asset.ref, clock=clock)
    svc.review_asset(session, Actor.of(op), asset.ref, checklist={k: True for k in svc.CHECKLIST_ITEMS},
                     confirm=True, reasons="ok", clock=clock)
    listing = draft_for(session, clock, seller, asset.ref, title="石英砂提纯技术秘密转让")
    svc.submit_listing(session, Actor.of(seller), listing.ref, clock=clock)
    svc.publish_listing(session, Actor.of(op), listing.ref, clock=clock)
    session.commit()
    visitor = page_of(client.get(f"/listings/{listing.ref}?lang=en"))
    assert "工艺路线摘要" in visitor and "85℃" not in visitor and "工艺说明.pdf" not in visitor
    assert "its details are disclosed only to the buyer" in visitor
    assert "85℃" not in page_of(client_for(app, world["b1"]).get(f"/listings/{listing.ref}"))
    for who in ("ent", "op"):
        page = page_of(client_for(app, world[who]).get(f"/listings/{listing.ref}"))
        assert "85℃" in page and "工艺说明.pdf" in page, who


def test_listing_in_auction_links_to_the_auction(app, client, session, clock):
    w = listing_in_auction(client, session, clock)
    page = page_of(client.get(f"/listings/{w['listing']['ref']}?lang=en"))
    assert f'href="/auctions/{w["auction"]["ref"]}"' in page and "In auction" in page


# -- escaping and languages ---------------------------------------------------------------------------------
def test_user_text_is_escaped_everywhere(app, client, session, clock, world):
    asset = make_confirmed_asset(session, clock, world["ent"], world["op"], title=XSS, field="other",
                                 summary=XSS, folder=app.config["UPLOAD_FOLDER"])
    listing = draft_for(session, clock, world["ent"], asset.ref, title=XSS, description=XSS,
                        qualification_conditions=XSS, disclosures=XSS)
    svc.submit_listing(session, Actor.of(world["ent"]), listing.ref, clock=clock)
    svc.publish_listing(session, Actor.of(world["op"]), listing.ref, clock=clock)
    session.commit()
    escaped = html.escape(XSS, quote=False)
    pages = {"catalogue": page_of(client.get("/listings")), "listing": page_of(client.get(f"/listings/{listing.ref}")),
             "home": page_of(client.get("/")),
             "my listings": page_of(client_for(app, world["ent"]).get("/my/listings")),
             "operator": page_of(client_for(app, world["op"]).get(f"/operator/listings/{listing.ref}"))}
    for name, page in pages.items():
        assert XSS not in page, name
        assert escaped in page, name


def test_form_input_is_escaped_when_shown_again(app, world):
    seller = client_for(app, world["ent"])
    r = post_form(seller, "/sell/new", "/sell/new", {
        "kind": "invention_patent", "number": '"><script>alert(1)</script>', "filing_date": "2017-08-01",
        "title": '"><img src=x onerror=alert(1)>', "technical_field": "other"})
    page = page_of(r)
    assert r.status_code == 422 and "<script>alert(1)</script>" not in page and "<img src=x" not in page


def test_language_switch(client, world):
    zh = page_of(client.get("/listings"))
    assert "挂牌项目" in zh and '<html lang="zh-CN">' in zh and "关键词" in zh
    client.get("/lang/en")
    en = page_of(client.get("/listings"))
    assert '<html lang="en">' in en and "Keywords" in en and "关键词" not in en
    listing = page_of(client.get(f"/listings/{world['ref']}"))
    assert "Qualification conditions" in listing and "Listing price" in listing and "In publicity" in listing


# -- the seller's wizard -----------------------------------------------------------------------------------------
def test_wizard_end_to_end_creates_a_submitted_listing(app, session, world):
    seller, co_owner = world["ent"], world["b2"]
    c = client_for(app, seller)
    page = page_of(c.get("/sell/new"))
    assert "patent-check.js" in page and 'id="number-check"' in page and "data-patent-kinds" in page

    # 1. asset and number (spaces and prefix allowed; stored in normal form)
    r = post_form(c, "/sell/new", "/sell/new", {
        "kind": "invention_patent", "number": "ZL 2017 1 0601862.3", "filing_date": "2017-08-01",
        "title": "一种谐波减速器柔轮", "technical_field": "advanced_manufacturing", "summary": "柔轮寿命提高 30%"})
    assert r.status_code == 302, page_of(r)
    asset = session.scalar(sa.select(Asset).where(Asset.title == "一种谐波减速器柔轮"))
    assert asset.number == "201710601862.3" and r.headers["Location"] == f"/sell/{asset.ref}/owners"

    # 2. a co-owner with its written consent, and a pledge whose holder consents
    owners = f"/sell/{asset.ref}/owners"
    r = post_form(c, owners, owners, {"party_ref": co_owner.party.ref, "share_percent": "40",
                                      "consent_file": (io.BytesIO(PDF_BYTES), "同意书.pdf")},
                  content_type="multipart/form-data")
    assert r.status_code == 302, page_of(r)
    r = post_form(c, owners, f"/sell/{asset.ref}/encumbrances", {
        "kind": "pledge", "starts_on": "2025-01-01", "holder_name": "上海银行", "consent_to_transfer": "y"})
    assert r.status_code == 302, page_of(r)
    page = page_of(c.get(owners + "?lang=en"))
    assert co_owner.party.name in page and "40.00%" in page and "✔ on file" in page and "上海银行" in page
    assert "No problems found by the automatic checks." in page

    # 3. evidence, with its SHA-256 shown after the upload
    evidence = f"/sell/{asset.ref}/evidence"
    r = post_form(c, evidence, evidence, {"kind": "certificate", "public": "y",
                                          "file": (io.BytesIO(PDF_BYTES), "证书.pdf")},
                  content_type="multipart/form-data")
    assert r.status_code == 302
    import hashlib

    digest = hashlib.sha256(PDF_BYTES).hexdigest()
    page = page_of(c.get(r.headers["Location"]))
    assert digest in page and 'class="highlight"' in page

    # 4. valuation by cost and income, the band, and the request for rights confirmation
    valuation = f"/sell/{asset.ref}/valuation"
    r = post_form(c, valuation, valuation + "/cost", {"replacement_cost": "1,200,000", "physical_depreciation": "200000"})
    assert r.status_code == 302, page_of(r)
    r = post_form(c, valuation, valuation + "/income", {"yearly_revenue": "5,000,000\n6000000\n7,000,000.00",
                                                        "royalty_share": "0.25", "discount_rate": "0.10",
                                                        "economic_life_years": "3"})
    assert r.status_code == 302, page_of(r)
    page = page_of(c.get(valuation + "?lang=en"))
    assert "¥1,000,000.00" in page and "Reference price band" in page and "–" in page
    r = post_form(c, valuation, f"/sell/{asset.ref}/review-request", {})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(Asset, asset.id).confirmation == d.AssetConfirmation.PENDING

    # 5. terms in yuan, converted to fen exactly
    r = c.get(f"/sell/{asset.ref}/terms")
    assert r.status_code == 200 and 'value="一种谐波减速器柔轮"' in page_of(r)
    terms = {"title": "谐波减速器柔轮专利转让", "mode": "assignment", "price": "1,250,000.10", "deposit": "125000",
             "increment": "10,000", "auction_format": "ascending", "free_bidding_minutes": "60",
             "countdown_seconds": "300", "publicity_working_days": "20", "max_extensions": "3",
             "allows_extension": "y", "qualification_conditions": "中国境内依法设立的企业法人",
             "disclosures": "无"}
    r = post_form(c, f"/sell/{asset.ref}/terms", f"/sell/{asset.ref}/terms", terms)
    assert r.status_code == 302, page_of(r)
    listing = session.scalar(sa.select(Listing).where(Listing.asset_id == asset.id))
    assert (listing.price_fen, listing.deposit_fen, listing.increment_fen) == (125_000_010, 12_500_000, 1_000_000)
    assert r.headers["Location"] == f"/sell/{asset.ref}/submit/{listing.ref}"
    # going back to step 5 edits the same draft
    assert c.get(f"/sell/{asset.ref}/terms").headers["Location"] == f"/sell/{asset.ref}/terms/{listing.ref}"
    edit = page_of(c.get(f"/sell/{asset.ref}/terms/{listing.ref}"))
    assert 'value="1,250,000.10"' in edit and 'value="125,000.00"' in edit

    # 6. submit
    submit = f"/sell/{asset.ref}/submit/{listing.ref}"
    page = page_of(c.get(submit + "?lang=en"))
    assert "¥1,250,000.10" in page and "Submit for publication" in page
    r = post_form(c, submit, submit, {})
    assert r.status_code == 302 and r.headers["Location"] == f"/my/listings#{listing.ref}"
    session.expire_all()
    assert session.get(Listing, listing.id).state == d.ListingState.SUBMITTED
    mine = page_of(c.get("/my/listings?lang=en"))
    assert "Waiting for rights confirmation by the exchange." in mine


@pytest.mark.parametrize("data, field, message", [
    ({"number": "201710601862.4"}, "number", "check character"),
    ({"number": "2017106018"}, "number", "is not a patent application number"),
    ({"number": "201720601862.X", "filing_date": "2017-08-01"}, "number", ""),
    ({"filing_date": "2018-08-01"}, "filing_date", "filed in 2017"),
    ({"filing_date": ""}, "filing_date", "needs its filing date"),
    ({"kind": "technical_secret"}, "number", "no registration number"),
    ({"title": ""}, "title", "This field is required"),
    ({"technical_field": "astrology"}, "technical_field", "Not a valid choice"),
    ({"employee_invention_of": "P2099999999"}, "employee_invention_of", "No party"),
])
def test_wizard_step1_refusals_beside_the_field(app, session, world, data, field, message):
    c = client_for(app, world["ent"])
    form = {"kind": "invention_patent", "number": "201710601862.3", "filing_date": "2017-08-01",
            "title": "一种谐波减速器柔轮", "technical_field": "advanced_manufacturing"}
    form.update(data)
    before = count_rows(session, Asset)
    r = post_form(c, "/sell/new?lang=en", "/sell/new?lang=en", form)
    assert r.status_code in (404, 409, 422), page_of(r)
    assert message in error_beside(page_of(r), field)
    assert count_rows(session, Asset) == before


def test_wizard_step1_checks_the_number_even_when_another_field_is_wrong(app, session, world):
    c = client_for(app, world["ent"])
    r = post_form(c, "/sell/new", "/sell/new?lang=en", {
        "kind": "invention_patent", "number": "ZL201710601862.4", "filing_date": "2017-08-01", "title": "",
        "technical_field": "other"})
    page = page_of(r)
    assert r.status_code == 422 and "required" in error_beside(page, "title")
    assert "check character" in error_beside(page, "number")


def test_wizard_step1_duplicate_number_is_refused(app, session, world):
    c = client_for(app, world["ent"])
    r = post_form(c, "/sell/new", "/sell/new?lang=en", {
        "kind": "invention_patent", "number": "ZL" + world["asset"].number, "filing_date": "2019-03-15",
        "title": "重复", "technical_field": "other"})
    assert r.status_code == 409 and "already registered" in error_beside(page_of(r), "number")
    # In Chinese, with the number the service named in the English message.
    r = post_form(c, "/sell/new", "/sell/new?lang=zh", {
        "kind": "invention_patent", "number": "ZL" + world["asset"].number, "filing_date": "2019-03-15",
        "title": "重复", "technical_field": "other"})
    assert f"{world['asset'].number} 已在本交易所登记。" in error_beside(page_of(r), "number")
    r = post_form(c, "/sell/new", "/sell/new?lang=zh", {
        "kind": "invention_patent", "number": "201710601862.4", "filing_date": "2017-08-01",
        "title": "校验位", "technical_field": "other"})
    assert "'201710601862.4' 的校验位不正确，请核对号码。" in error_beside(page_of(r), "number")


@pytest.fixture()
def draft_asset(session, clock, world):  # type: ignore[no-untyped-def]
    asset = svc.register_asset(session, Actor.of(world["ent"]), svc.AssetInput(
        kind=d.AssetKind.INVENTION_PATENT, title="待完善的成果", technical_field="other", number=patent_no(8101),
        filing_date=date(2017, 6, 1)), clock=clock)
    session.commit()
    return asset


@pytest.mark.parametrize("data, field, message", [
    ({"party_ref": "P2099999999"}, "party_ref", "No party"),
    ({"party_ref": ""}, "party_ref", "required"),
    ({"share_percent": "120"}, "share_percent", "at most 100"),
    ({"share_percent": "abc"}, "share_percent", "percentage"),
    ({"consent_file": (io.BytesIO(b"MZ not a pdf"), "x.exe")}, "consent_file", "Only PDF documents"),
])
def test_wizard_co_owner_refusals(app, session, world, draft_asset, data, field, message):
    c = client_for(app, world["ent"])
    form = {"party_ref": world["b2"].party.ref, "share_percent": "50"}
    form.update(data)
    owners_before, docs_before = count_rows(session, AssetOwner), count_rows(session, EvidenceDocument)
    path = f"/sell/{draft_asset.ref}/owners?lang=en"
    r = post_form(c, path, f"/sell/{draft_asset.ref}/owners?lang=en", form, content_type="multipart/form-data")
    assert r.status_code in (404, 422), page_of(r)
    assert message in error_beside(page_of(r), field)
    assert count_rows(session, AssetOwner) == owners_before and count_rows(session, EvidenceDocument) == docs_before


def test_wizard_cannot_add_oneself_as_co_owner(app, session, world, draft_asset):
    c = client_for(app, world["ent"])
    path = f"/sell/{draft_asset.ref}/owners?lang=en"
    r = post_form(c, path, path, {"party_ref": world["ent"].party.ref}, content_type="multipart/form-data")
    assert r.status_code == 422 and "You hold this asset already" in error_beside(page_of(r), "party_ref")


@pytest.mark.parametrize("data, field, message", [
    ({"starts_on": ""}, "starts_on", "required"),
    ({"ends_on": "2024-01-01"}, "ends_on", "ends before it starts"),
    ({"kind": "court_freeze", "consent_to_transfer": "y"}, "consent_to_transfer", "no consent to transfer"),
    ({"holder_party_ref": "P2099999999"}, "holder_party_ref", "No party"),
])
def test_wizard_encumbrance_refusals(app, session, world, draft_asset, data, field, message):
    c = client_for(app, world["ent"])
    form = {"kind": "pledge", "starts_on": "2025-01-01", "holder_name": "上海银行"}
    form.update(data)
    path = f"/sell/{draft_asset.ref}/owners?lang=en"
    r = post_form(c, path, f"/sell/{draft_asset.ref}/encumbrances?lang=en", form)
    assert r.status_code in (404, 422)
    assert message in error_beside(page_of(r), field)
    assert count_rows(session, Encumbrance) == 0


@pytest.mark.parametrize("data, message", [
    ({"file": (io.BytesIO(b"GIF89a..."), "a.gif")}, "Only PDF documents"),
    ({"file": (io.BytesIO(b""), "empty.pdf")}, ""),
    ({}, "Choose a file"),
])
def test_wizard_evidence_refusals(app, session, world, draft_asset, data, message):
    c = client_for(app, world["ent"])
    before = count_rows(session, EvidenceDocument)
    path = f"/sell/{draft_asset.ref}/evidence?lang=en"
    r = post_form(c, path, path, {"kind": "certificate", **data}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert message in error_beside(page_of(r), "file")
    assert count_rows(session, EvidenceDocument) == before


@pytest.mark.parametrize("action, data, field, message", [
    ("cost", {"replacement_cost": "abc"}, "replacement_cost", "Enter an amount in yuan"),
    ("cost", {"replacement_cost": ""}, "replacement_cost", "required"),
    ("cost", {"replacement_cost": "100", "physical_depreciation": "1.001"}, "physical_depreciation", "Enter an amount"),
    ("income", {"yearly_revenue": "100\nlots"}, "yearly_revenue", "is not an amount in yuan"),
    ("income", {"royalty_share": "2"}, "royalty_share", "between 0"),
    ("income", {"royalty_share": "a quarter"}, "royalty_share", "decimal"),
    ("income", {"economic_life_years": "0"}, "economic_life_years", "between 1 and 50"),
])
def test_wizard_valuation_refusals(app, session, world, draft_asset, action, data, field, message):
    c = client_for(app, world["ent"])
    form = {"yearly_revenue": "1000000", "royalty_share": "0.25", "discount_rate": "0.1",
            "economic_life_years": "5"} if action == "income" else {}
    form.update(data)
    before = count_rows(session, Valuation)
    path = f"/sell/{draft_asset.ref}/valuation?lang=en"
    r = post_form(c, path, f"/sell/{draft_asset.ref}/valuation/{action}?lang=en", form)
    assert r.status_code == 422, page_of(r)
    assert message in error_beside(page_of(r), field)
    assert count_rows(session, Valuation) == before


TERMS = {"title": "测试挂牌", "mode": "assignment", "price": "1,000,000", "deposit": "100,000", "increment": "10,000",
         "auction_format": "ascending", "free_bidding_minutes": "60", "countdown_seconds": "300",
         "publicity_working_days": "20", "max_extensions": "3"}


@pytest.mark.parametrize("data, field, message", [
    ({"deposit": "300,000.01"}, "deposit", "at most 30%"),
    ({"price": "12.345"}, "price", "Enter an amount in yuan"),
    ({"price": "0"}, "price", "more than zero"),
    ({"increment": "2,000,000"}, "increment", "larger than the price"),
    ({"mode": "exclusive_licence"}, "licence_term_months", "needs a term"),
    ({"mode": "open_licence"}, "mode", "Not a valid choice"),
    ({"publicity_working_days": "10"}, "publicity_working_days", "between 20 and 120"),
    ({"countdown_seconds": "5"}, "countdown_seconds", "between 30 and 3600"),
    ({"title": ""}, "title", "required"),
])
def test_wizard_terms_refusals(app, session, world, draft_asset, data, field, message):
    c = client_for(app, world["ent"])
    path = f"/sell/{draft_asset.ref}/terms?lang=en"
    r = post_form(c, path, path, {**TERMS, **data})
    assert r.status_code == 422, page_of(r)
    assert message in error_beside(page_of(r), field)
    assert count_rows(session, Listing) == 1  # only the world's listing


def test_wizard_submit_refusal_is_shown_and_nothing_changes(app, session, clock, world):
    """A university must list at or above a filed appraisal: submitting without one is refused."""
    asset = svc.register_asset(session, Actor.of(world["uni"]), svc.AssetInput(
        kind=d.AssetKind.INVENTION_PATENT, title="高校成果", technical_field="other", number=patent_no(8202),
        filing_date=date(2017, 6, 1)), clock=clock)
    listing = draft_for(session, clock, world["uni"], asset.ref)
    session.commit()
    c = client_for(app, world["uni"])
    path = f"/sell/{asset.ref}/submit/{listing.ref}?lang=en"
    r = post_form(c, path, path, {})
    assert r.status_code == 422 and "needs a filed appraisal" in page_of(r)
    session.expire_all()
    assert session.get(Listing, listing.id).state == d.ListingState.DRAFT


# -- my listings: waiting for, withdraw, relist ---------------------------------------------------------------------
def test_my_listings_say_what_each_listing_waits_for(app, session, clock, world):
    c = client_for(app, world["uni"])
    page = page_of(c.get("/my/listings?lang=en"))
    assert "Publicity ends on 2026-03-30; waiting for buyers to register and qualify (0 registered)." in page
    assert f'href="/my/listings/{world["ref"]}/withdraw"' in page
    svc.register_interest(session, Actor.of(world["b1"]), world["ref"], "符合条件", clock=clock)
    session.commit()
    page = page_of(c.get("/my/listings?lang=en"))
    assert "(1 registered)" in page and f'/my/listings/{world["ref"]}/withdraw' not in page


def test_withdraw_through_the_form(app, session, world):
    c = client_for(app, world["uni"])
    path = f"/my/listings/{world['ref']}/withdraw?lang=en"
    r = post_form(c, path, path, {"reason": "技术方案调整"})
    assert r.status_code == 422 and "Tick the box to confirm." in error_beside(page_of(r), "confirm")
    r = post_form(c, path, path, {"reason": "", "confirm": "y"})
    assert r.status_code == 422 and "has-error" in field_block(page_of(r), "reason")
    session.expire_all()
    assert session.get(Listing, world["listing"].id).state == d.ListingState.PUBLISHED
    r = post_form(c, path, path, {"reason": "技术方案调整", "confirm": "y"})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(Listing, world["listing"].id).state == d.ListingState.WITHDRAWN


def test_relist_an_unsold_listing(app, session, clock, world):
    listing = world["listing"]
    listing.allows_extension = False
    session.commit()
    clock.set(datetime(2026, 4, 1, 2, 0, tzinfo=timezone.utc))  # publicity ended on 30 March, nobody qualified
    c = client_for(app, world["uni"])
    page = page_of(c.get("/my/listings?lang=en"))
    assert "Ended unsold" in page and f'/my/listings/{listing.ref}/relist' in page
    path = f"/my/listings/{listing.ref}/relist?lang=en"
    form = page_of(c.get(path))
    assert 'value="2,800,000.00"' in form
    r = post_form(c, path, path, {"price": "2,000,000", "deposit": "700,000", "increment": "10,000"})
    assert r.status_code == 422 and "at most 30%" in error_beside(page_of(r), "deposit")
    assert count_rows(session, Listing) == 1
    r = post_form(c, path, path, {"price": "2,000,000", "deposit": "200,000", "increment": "10,000"})
    assert r.status_code == 302, page_of(r)
    new = session.scalar(sa.select(Listing).where(Listing.previous_listing_id == listing.id))
    assert new.attempt == 2 and new.price_fen == 200_000_000 and new.state == d.ListingState.DRAFT
    assert r.headers["Location"] == f"/sell/{new.asset.ref}/submit/{new.ref}"
    # below 90% of the appraisal (¥2,660,000.00) the submission waits for the exchange's approval
    submit = r.headers["Location"] + "?lang=en"
    r = post_form(c, submit, submit, {})
    assert r.status_code == 422 and "needs a recorded approval" in page_of(r)
    session.expire_all()
    assert session.get(Listing, new.id).state == d.ListingState.DRAFT
    assert f"/my/listings/{listing.ref}/relist" not in page_of(c.get("/my/listings"))  # relisted once only


# -- buyers ------------------------------------------------------------------------------------------------------------
def test_buyer_registers_through_the_form(app, session, world):
    c = client_for(app, world["b1"])
    path = f"/listings/{world['ref']}?lang=en"
    action = f"/listings/{world['ref']}/register?lang=en"
    r = post_form(c, path, action, {"declaration": "", "meets_conditions": "y"})
    assert r.status_code == 422 and "required" in error_beside(page_of(r), "declaration")
    r = post_form(c, path, action, {"declaration": "本公司符合全部条件"})
    assert r.status_code == 422 and "Tick the box" in error_beside(page_of(r), "meets_conditions")
    assert count_rows(session, BuyerRegistration) == 0
    r = post_form(c, path, action, {"declaration": "本公司符合全部条件", "meets_conditions": "y"})
    assert r.status_code == 302 and r.headers["Location"].startswith("/my/registrations#R")
    reg = session.scalar(sa.select(BuyerRegistration))
    page = page_of(c.get("/my/registrations?lang=en"))
    assert reg.ref in page and "¥280,000.00" in page and "2026-03-30 23:59" in page
    assert "Payment reference" in page and "1001 2000 3000 4000 500" in page
    listing_page = page_of(c.get(path))
    assert f"You registered as {reg.ref}" in listing_page and 'name="declaration"' not in listing_page
    # a second registration is refused beside the form, nothing created
    r = post_form(c, path, action, {"declaration": "again", "meets_conditions": "y"})
    assert r.status_code == 409 and "already registered" in page_of(r)
    assert count_rows(session, BuyerRegistration) == 1


def test_seller_cannot_register_on_its_own_listing(app, session, world):
    c = client_for(app, world["uni"])
    r = c.post(f"/listings/{world['ref']}/register?lang=en",
               data={"declaration": "x", "meets_conditions": "y",
                     "csrf_token": csrf_from(c, f"/listings/{world['ref']}")})
    assert r.status_code == 422 and "The seller and its related parties may not register." in page_of(r)
    assert count_rows(session, BuyerRegistration) == 0


def test_deposit_account_comes_from_the_config(app, session, clock, world, monkeypatch):
    svc.register_interest(session, Actor.of(world["b1"]), world["ref"], "符合条件", clock=clock)
    session.commit()
    monkeypatch.setitem(app.config, "DEPOSIT_ACCOUNT", {"account_name": "专户X", "bank": "测试银行",
                                                        "account_number": "6222 0000"})
    page = page_of(client_for(app, world["b1"]).get("/my/registrations"))
    assert "专户X" in page and "6222 0000" in page


# -- CSRF ------------------------------------------------------------------------------------------------------------------
def test_posts_without_csrf_are_refused_and_change_nothing(app, session, world, draft_asset):
    seller, buyer, op = (client_for(app, world[w]) for w in ("ent", "b1", "op"))
    cases = [
        (buyer, f"/listings/{world['ref']}/register", {"declaration": "x", "meets_conditions": "y"}),
        (seller, "/sell/new", {"kind": "invention_patent", "number": patent_no(9001), "filing_date": "2017-01-05",
                               "title": "t", "technical_field": "other"}),
        (seller, f"/sell/{draft_asset.ref}/terms", TERMS),
        (seller, f"/sell/{draft_asset.ref}/review-request", {}),
        (op, f"/operator/listings/{world['ref']}/suspend", {"suspend-reason": "x", "suspend-confirm": "y"}),
    ]
    before = (count_rows(session, BuyerRegistration), count_rows(session, Asset), count_rows(session, Listing))
    for c, url, data in cases:
        r = c.post(url, data=data)
        assert r.status_code == 400 and r.mimetype == "text/html", url
        assert c.post(url, data={**data, "csrf_token": "forged"}).status_code == 400, url
    session.expire_all()
    assert (count_rows(session, BuyerRegistration), count_rows(session, Asset), count_rows(session, Listing)) == before
    assert session.get(Listing, world["listing"].id).state == d.ListingState.PUBLISHED
    assert session.get(Asset, draft_asset.id).confirmation == d.AssetConfirmation.UNCONFIRMED


# -- operator queues ----------------------------------------------------------------------------------------------------------
def test_operator_confirms_rights_and_publishes_through_the_forms(app, session, clock, world):
    seller = world["ent"]
    asset = svc.register_asset(session, Actor.of(seller), svc.AssetInput(
        kind=d.AssetKind.INVENTION_PATENT, title="待确权的成果", technical_field="biomedicine",
        number=patent_no(8303), filing_date=date(2017, 6, 1)), clock=clock)
    svc.request_review(session, Actor.of(seller), asset.ref, clock=clock)
    listing = draft_for(session, clock, seller, asset.ref, title="待发布的项目")
    svc.submit_listing(session, Actor.of(seller), listing.ref, clock=clock)
    session.commit()
    op = client_for(app, world["op"])
    queue = page_of(op.get("/operator/assets?lang=en"))
    assert asset.ref in queue and "evidence_missing" in queue

    review = f"/operator/assets/{asset.ref}?lang=en"
    page = page_of(op.get(review))
    assert "No evidence uploaded." in page and 'name="ownership"' in page and 'name="confirm_rights"' in page
    everything = {k: "y" for k in svc.CHECKLIST_ITEMS}
    # not every item ticked
    r = post_form(op, review, f"/operator/assets/{asset.ref}/review?lang=en",
                  {"ownership": "y", "reasons": "核对", "confirm_rights": "Confirm"})
    assert r.status_code == 422 and "Every checklist item must be ticked" in page_of(r)
    # no reasons
    r = post_form(op, review, f"/operator/assets/{asset.ref}/review?lang=en", {**everything, "confirm_rights": "x"})
    assert r.status_code == 422 and "required" in error_beside(page_of(r), "reasons")
    # blocking problem: no evidence
    r = post_form(op, review, f"/operator/assets/{asset.ref}/review?lang=en",
                  {**everything, "reasons": "核对", "confirm_rights": "x"})
    assert r.status_code == 422 and "No evidence document has been uploaded." in page_of(r)
    session.expire_all()
    assert session.get(Asset, asset.id).confirmation == d.AssetConfirmation.PENDING

    svc.upload_evidence(session, Actor.of(seller), asset.ref, kind="certificate", filename="证书.pdf", data=PDF_BYTES,
                        public=True, folder=app.config["UPLOAD_FOLDER"], max_bytes=10**6, clock=clock)
    session.commit()
    r = post_form(op, review, f"/operator/assets/{asset.ref}/review",
                  {**everything, "reasons": "证书与登记簿一致", "confirm_rights": "x"})
    assert r.status_code == 302 and r.headers["Location"] == "/operator/assets"
    session.expire_all()
    assert session.get(Asset, asset.id).confirmation == d.AssetConfirmation.CONFIRMED

    # publish: listed in the queue, needs the confirm box
    assert listing.ref in page_of(op.get("/operator/listings"))
    detail = f"/operator/listings/{listing.ref}?lang=en"
    r = post_form(op, detail, f"/operator/listings/{listing.ref}/publish?lang=en", {})
    assert r.status_code == 422 and "Tick the box to confirm." in error_beside(page_of(r), "publish-confirm")
    r = post_form(op, detail, f"/operator/listings/{listing.ref}/publish", {"publish-confirm": "y"})
    assert r.status_code == 302
    session.expire_all()
    published = session.get(Listing, listing.id)
    assert published.state == d.ListingState.PUBLISHED and published.publicity_end == date(2026, 3, 30)
    assert "待发布的项目" in page_of(op.get("/listings"))


def test_operator_publish_refused_while_rights_unconfirmed(app, session, clock, world):
    seller = world["ent"]
    asset = svc.register_asset(session, Actor.of(seller), svc.AssetInput(
        kind=d.AssetKind.INVENTION_PATENT, title="未确权", technical_field="other", number=patent_no(8404),
        filing_date=date(2017, 6, 1)), clock=clock)
    listing = draft_for(session, clock, seller, asset.ref)
    svc.submit_listing(session, Actor.of(seller), listing.ref, clock=clock)
    session.commit()
    op = client_for(app, world["op"])
    detail = f"/operator/listings/{listing.ref}?lang=en"
    r = post_form(op, detail, f"/operator/listings/{listing.ref}/publish?lang=en", {"publish-confirm": "y"})
    assert r.status_code == 422 and "have not been confirmed" in page_of(r)
    # and the seller's page says what it waits for
    assert "Waiting for you to ask for rights confirmation" in page_of(client_for(app, seller).get("/my/listings?lang=en"))
    # sent back with a reason (required), shown to the seller
    r = post_form(op, detail, f"/operator/listings/{listing.ref}/reject?lang=en", {"reject-confirm": "y"})
    assert r.status_code == 422 and "required" in error_beside(page_of(r), "reject-reason")
    r = post_form(op, detail, f"/operator/listings/{listing.ref}/reject",
                  {"reject-confirm": "y", "reject-reason": "请先申请确权"})
    assert r.status_code == 302
    assert "Sent back by the exchange: 请先申请确权" in page_of(client_for(app, seller).get("/my/listings?lang=en"))


def test_operator_suspends_resumes_and_terminates(app, session, clock, world):
    op = client_for(app, world["op"])
    ref = world["ref"]
    detail = f"/operator/listings/{ref}?lang=en"
    page = page_of(op.get(detail))
    assert 'name="suspend-reason"' in page and 'name="terminate-reason"' in page and 'name="publish-confirm"' not in page
    r = post_form(op, detail, f"/operator/listings/{ref}/suspend", {"suspend-reason": "权属争议", "suspend-confirm": "y"})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(Listing, world["listing"].id).state == d.ListingState.SUSPENDED
    assert "Publicity is suspended" in page_of(client_for(app, world["b1"]).get(f"/listings/{ref}?lang=en"))
    clock.advance(days=2)
    r = post_form(op, detail, f"/operator/listings/{ref}/resume", {"resume-reason": "争议解决", "resume-confirm": "y"})
    assert r.status_code == 302
    r = post_form(op, detail, f"/operator/listings/{ref}/terminate", {"terminate-reason": "x"})
    assert r.status_code == 422
    r = post_form(op, detail, f"/operator/listings/{ref}/terminate", {"terminate-reason": "终结", "terminate-confirm": "y"})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(Listing, world["listing"].id).state == d.ListingState.TERMINATED
    assert op.post(f"/operator/listings/{ref}/explode", data={"csrf_token": csrf_from(op, detail)}).status_code == 404


def test_a_suspension_past_one_month_is_flagged_to_operators(app, session, clock, world):
    """Suspension (中止) normally lasts at most one month: the operator pages say until when, and flag
    it once the month is over; the API carries the same dates."""
    op = client_for(app, world["op"])
    ref = world["ref"]
    detail = f"/operator/listings/{ref}?lang=en"
    post_form(op, detail, f"/operator/listings/{ref}/suspend", {"suspend-reason": "权属争议", "suspend-confirm": "y"})
    since = local_date(clock.now())
    limit = d.suspension_limit(since)
    for url in (detail, "/operator/listings?lang=en"):
        page = page_of(op.get(url))
        assert f"Suspended since {since.isoformat()}; by the one-month rule, resume or terminate by " \
               f"{limit.isoformat()}." in page
        assert 'data-testid="suspension-overdue"' not in page
    body = op.get(f"/api/v1/listings/{ref}").get_json()
    assert (body["suspended_on"], body["suspension_limit"], body["suspension_overdue"]) == \
        (since.isoformat(), limit.isoformat(), False)
    clock.set(datetime.combine(limit, time(23, 59), tzinfo=BUSINESS_TZ))  # the last day still counts
    assert 'data-testid="suspension-overdue"' not in page_of(op.get(detail))
    clock.advance(minutes=1)
    for url in (detail, "/operator/listings?lang=en", "/operator/listings?lang=zh"):
        assert 'data-testid="suspension-overdue"' in page_of(op.get(url))
    assert "中止已超过一个月" in page_of(op.get("/operator/listings?lang=zh"))
    assert op.get(f"/api/v1/listings/{ref}").get_json()["suspension_overdue"] is True
    post_form(op, detail, f"/operator/listings/{ref}/resume", {"resume-reason": "争议解决", "resume-confirm": "y"})
    body = op.get(f"/api/v1/listings/{ref}").get_json()
    assert (body["suspended_on"], body["suspension_limit"], body["suspension_overdue"]) == (None, None, False)
    assert 'data-testid="suspension"' not in page_of(op.get(detail))


def test_operator_qualifies_buyers(app, session, clock, world):
    r1 = svc.register_interest(session, Actor.of(world["b1"]), world["ref"], "声明一", clock=clock)
    r2 = svc.register_interest(session, Actor.of(world["b2"]), world["ref"], "声明二", clock=clock)
    session.commit()
    op = client_for(app, world["op"])
    queue = page_of(op.get("/operator/registrations?lang=en"))
    assert r1.ref in queue and r2.ref in queue and "Deposit due" in queue
    page1 = f"/operator/registrations/{r1.ref}?lang=en"
    assert 'name="qualify-confirm"' not in page_of(op.get(page1))  # the deposit comes first
    r = post_form(op, page1, f"/operator/registrations/{r1.ref}/deposit?lang=en", {})
    assert r.status_code == 422 and "Tick the box" in error_beside(page_of(r), "deposit-confirm")
    assert post_form(op, page1, f"/operator/registrations/{r1.ref}/deposit", {"deposit-confirm": "y"}).status_code == 302
    assert post_form(op, page1, f"/operator/registrations/{r1.ref}/qualify", {"qualify-confirm": "y"}).status_code == 302
    page2 = f"/operator/registrations/{r2.ref}?lang=en"
    # qualifying before the deposit is refused beside the form
    r = post_form(op, page2, f"/operator/registrations/{r2.ref}/qualify?lang=en", {"qualify-confirm": "y"})
    assert r.status_code == 409 and "The deposit has not been received yet." in page_of(r)
    post_form(op, page2, f"/operator/registrations/{r2.ref}/deposit", {"deposit-confirm": "y"})
    r = post_form(op, page2, f"/operator/registrations/{r2.ref}/reject?lang=en", {"reject-confirm": "y"})
    assert r.status_code == 422 and "required" in error_beside(page_of(r), "reject-reason")
    r = post_form(op, page2, f"/operator/registrations/{r2.ref}/reject",
                  {"reject-confirm": "y", "reject-reason": "资质不符"})
    assert r.status_code == 302
    session.expire_all()
    assert session.get(BuyerRegistration, r1.id).state == d.RegistrationState.QUALIFIED
    assert session.get(BuyerRegistration, r2.id).state == d.RegistrationState.REJECTED
    assert "资质不符" in page_of(client_for(app, world["b2"]).get("/my/registrations"))
    assert "1 qualified buyer(s)" in page_of(client_for(app, world["uni"]).get("/my/listings?lang=en"))


def test_operator_files_an_appraisal(app, session, world):
    op = client_for(app, world["op"])
    path = f"/operator/assets/{world['asset'].ref}?lang=en"
    r = post_form(op, path, f"/operator/assets/{world['asset'].ref}/appraisal?lang=en",
                  {"appraiser": "评估所", "report_number": "R-1", "value": "3,000,000", "report_date": "2027-01-01"})
    assert r.status_code == 422 and "in the future" in error_beside(page_of(r), "report_date")
    r = post_form(op, path, f"/operator/assets/{world['asset'].ref}/appraisal",
                  {"appraiser": "评估所", "report_number": "R-1", "value": "3,000,000", "report_date": "2026-02-01"})
    assert r.status_code == 302
    assert "¥3,000,000.00" in page_of(op.get(path))


# -- open licences and statistics ------------------------------------------------------------------------------------------------
def test_open_licence_declared_and_taken_through_the_forms(app, session, clock, world):
    seller = world["ent"]
    asset = make_confirmed_asset(session, clock, seller, world["op"], title="一种节能电机", field="new_energy",
                                 folder=app.config["UPLOAD_FOLDER"])
    session.commit()
    c = client_for(app, seller)
    assert f"/sell/{asset.ref}/open-licence" in page_of(c.get("/my/listings"))
    path = f"/sell/{asset.ref}/open-licence?lang=en"
    bad = {"fee_kind": "lump_sum", "lump_sum": "50,000", "term_start": "2026-03-02", "term_end": "2026-06-30"}
    r = post_form(c, path, path, bad)
    assert r.status_code == 422 and "at least 1 year" in error_beside(page_of(r), "term_end")
    r = post_form(c, path, path, {**bad, "term_end": "2028-03-01", "royalty_rate": "0.05"})
    assert r.status_code == 422 and "lump sum and nothing else" in error_beside(page_of(r), "fee_kind")
    assert count_rows(session, OpenLicenceDeclaration) == 0
    r = post_form(c, path, path, {**bad, "term_end": "2028-03-01"})
    assert r.status_code == 302
    decl = session.scalar(sa.select(OpenLicenceDeclaration))
    assert decl.lump_sum_fen == 5_000_000 and r.headers["Location"] == f"/open-licences/{decl.ref}"

    listing_page = page_of(app.test_client().get("/open-licences?lang=en"))
    assert "一种节能电机" in listing_page and "Lump sum ¥50,000.00" in listing_page
    b = client_for(app, world["b1"])
    detail = f"/open-licences/{decl.ref}?lang=en"
    r = post_form(b, detail, f"/open-licences/{decl.ref}/take?lang=en", {"notice": "", "accept": "y"})
    assert r.status_code == 422 and "required" in error_beside(page_of(r), "notice")
    r = post_form(b, detail, f"/open-licences/{decl.ref}/take", {"notice": "本公司实施于电机产品", "accept": "y"})
    assert r.status_code == 302
    assert count_rows(session, OpenLicenceTaking) == 1
    assert "You took this licence" in page_of(b.get(detail))
    assert "This is your declaration." in page_of(c.get(detail))


def test_statistics_page_draws_svg_charts(app, client, session, clock, world):
    from auctions.models import Deal

    empty = page_of(client.get("/statistics?lang=en"))
    assert empty.count("<svg") == 3 and "No deals yet" in empty
    # an open-licence taking strikes a deal (the auctions package records it)
    asset = make_confirmed_asset(session, clock, world["ent"], world["op"], title=XSS, field="new_energy",
                                 folder=app.config["UPLOAD_FOLDER"])
    decl = svc.declare_open_licence(session, Actor.of(world["ent"]), asset.ref, svc.OpenLicenceInput(
        fee_kind=d.OpenLicenceFeeKind.LUMP_SUM, term_start=date(2026, 3, 2), term_end=date(2028, 3, 1),
        lump_sum_fen=12_345_600), clock=clock)
    svc.take_open_licence(session, Actor.of(world["b1"]), decl.ref, "通知", clock=clock)
    session.commit()
    assert count_rows(session, Deal) == 1
    r = client.get("/statistics?lang=en")
    page = page_of(r)
    assert r.status_code == 200 and page.count("<svg") == 3
    for title in ("Deal value by month", "Deal value by technical field", "Deals by trading mode"):
        assert re.search(rf'<title id="chart\d+-title">{title}</title>', page), title
    assert "2026-03: ¥123.5k" in page and "New energy and energy saving: ¥123.5k" in page and "Open licence: 1" in page
    zh = page_of(client.get("/statistics"))
    assert "2026-03: ¥12.3万" in zh and "开放许可: 1" in zh
    assert "¥123,456.00" in page  # the table under the chart and the headline
    no_inline_code(page)
    assert "<b>1</b>deals" in page_of(client.get("/?lang=en"))


def test_chart_helpers():
    assert [nice_step(n) for n in (0, 1, 7, 10, 99, 101, 12_345_600)] == [1, 1, 2, 2, 20, 50, 5_000_000]
    svg = str(column_chart("T<1>", [("a&b", 5), ("<c>", 0)], value_label=str))
    assert "<title" in svg and "T&lt;1&gt;" in svg and "a&amp;b" in svg and "&lt;c&gt;" in svg and "<c>" not in svg
    assert " style=" not in svg
    svg = str(bar_chart("B", [("x" * 40, 3)]))
    assert "…" in svg and 'fill="#0b5cad"' in svg
    assert "No data" in str(bar_chart("B", []))
