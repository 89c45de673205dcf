"""Contracts pages through the test client: who may see what; both parties sign through the
form and the contract goes in force; a stale text fingerprint is refused beside the form;
outsiders can neither see nor sign; the operator registers and refuses with reasons, edits
the non-technical items, issues and revokes certificates; the auditor's lists, downloads, the
audit trail and its verification before and after tampering; CSRF; escaping; languages."""
from __future__ import annotations

import html
import io
import re
import zipfile
from datetime import timedelta

import pytest
import sqlalchemy as sa
from markupsafe import escape

from auctions.models import DealState
from contracts import domain as cd
from contracts import service as svc
from contracts.models import Certificate, ContractSignature, TechRegistration
from exchange.actors import Actor
from exchange.models import AuditEvent, Role
from tests.factories import make_member, make_staff
from tests.integration.test_contracts_support import contract_of, make_deal, money_status, sign_both
from tests.web.test_listings_pages import client_for, error_beside, no_inline_code, page_of
from tests.web.test_platform_pages import CSRF_RE, XSS, csrf_from

HASH_RE = re.compile(r'name="text_sha256"[^>]*value="([0-9a-f]{64})"|value="([0-9a-f]{64})"[^>]*name="text_sha256"')


# -- helpers --------------------------------------------------------------------------------------------
def sign_hash(page: str) -> str:
    m = HASH_RE.search(page)
    assert m, "no text_sha256 in the sign form"
    return m.group(1) or m.group(2)


def csrf(client) -> str:  # type: ignore[no-untyped-def]
    """Any page of a signed-in user carries the session's CSRF token (the sign-out form)."""
    return csrf_from(client, "/")


def post(client, path: str, data: dict, **kw):  # type: ignore[no-untyped-def]
    return client.post(path, data={**data, "csrf_token": csrf(client)}, **kw)


def form_error(page: str, testid: str) -> tuple[str | None, str]:
    """The code and the text of an error block above a form (``data-testid``)."""
    m = re.search(rf'<div class="form-errors"[^>]*data-testid="{testid}"[^>]*>(.*?)</div>', page, flags=re.S)
    assert m, f"no error block {testid}"
    code = re.search(r'data-code="([^"]+)"', m.group(0))
    text = html.unescape(re.sub(r"<[^>]+>", " ", m.group(1)))
    return (code.group(1) if code else None), " ".join(text.split())


def refresh(session, obj):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.get(type(obj), obj.id)


@pytest.fixture()
def world(app, session, clock):  # type: ignore[no-untyped-def]
    """A struck deal (its contract drafted by the deal hook), its two parties, an outsider and staff."""
    seller = make_member(session, clock, display_name="王教授", party_name="沪江理工大学（测试）")
    buyer = make_member(session, clock, display_name="李经理", party_name="上海智造机器人有限公司（测试）")
    outsider = make_member(session, clock, display_name="局外人")
    op = make_staff(session, clock, Role.operator)
    aud = make_staff(session, clock, Role.auditor)
    deal = make_deal(session, clock, seller=seller, buyer=buyer, price_fen=120_000_000)
    contract = contract_of(session, deal)
    session.commit()
    return {"seller": seller, "buyer": buyer, "outsider": outsider, "op": op, "aud": aud, "deal": deal,
            "c": contract, "ref": contract.ref}


@pytest.fixture()
def clients(app, world):  # type: ignore[no-untyped-def]
    """One signed-in test client per person, made on first use."""
    made: dict[str, object] = {}

    def get(name: str):  # type: ignore[no-untyped-def]
        if name == "anon":
            return app.test_client()
        if name not in made:
            made[name] = client_for(app, world[name])
        return made[name]

    return get


def in_force(session, clock, world):  # type: ignore[no-untyped-def]
    """Both sides sign through the services (for tests about what comes after)."""
    clock.advance(hours=1)
    contract = sign_both(session, clock, world["deal"])
    session.commit()
    return contract


def submitted(session, clock, world, **flags):  # type: ignore[no-untyped-def]
    in_force(session, clock, world)
    reg = svc.submit_registration(session, Actor.of(world["seller"]), world["ref"],
                                  svc.RegistrationSubmission(**flags), clock=clock)
    session.commit()
    return reg


def issued(session, clock, world, monkeypatch):  # type: ignore[no-untyped-def]
    in_force(session, clock, world)
    money_status(monkeypatch)
    cert = svc.issue_certificate(session, Actor.of(world["op"]), world["deal"].ref, clock=clock)
    session.commit()
    return cert


# -- who sees what -----------------------------------------------------------------------------------------
MEMBER, READER, STAFF_ONLY, PARTIES = "member", "reader", "staff", "parties"
EXPECTED = {  # who -> status, per kind of page
    MEMBER: {"anon": 401, "seller": 200, "outsider": 200, "op": 403, "aud": 403},
    PARTIES: {"anon": 401, "seller": 200, "buyer": 200, "outsider": 404, "op": 200, "aud": 200},
    STAFF_ONLY: {"anon": 401, "seller": 403, "op": 200, "aud": 403},
    READER: {"anon": 401, "seller": 403, "outsider": 403, "op": 200, "aud": 200},
}
PAGES = [
    ("/my/contracts", MEMBER), ("/contracts/{c}", PARTIES),
    ("/operator/contracts", STAFF_ONLY), ("/operator/contracts/{c}", STAFF_ONLY),
    ("/operator/tech-registrations", STAFF_ONLY), ("/operator/certificates", STAFF_ONLY),
    ("/operator/deals/{d}/certificate", STAFF_ONLY),
    ("/audit/contracts", READER), ("/audit/registrations", READER), ("/audit/certificates", READER),
    ("/audit/trail", READER), ("/audit/trail/verify", READER), ("/audit/records", READER),
    ("/audit/records?run=1", READER), ("/audit/bundle", READER),
]


@pytest.mark.parametrize("path, kind", PAGES)
def test_each_page_answers_its_audience(clients, world, path, kind):
    url = path.format(c=world["ref"], d=world["deal"].ref)
    for who, status in EXPECTED[kind].items():
        r = clients(who).get(url)
        assert r.status_code == status, (who, url, r.status_code)
        assert r.mimetype == "text/html", (who, url)
        if status == 200:
            no_inline_code(page_of(r))


def test_registration_and_certificate_pages_answer_parties_and_readers(clients, session, clock, world, monkeypatch):
    cert = issued(session, clock, world, monkeypatch)
    reg = svc.submit_registration(session, Actor.of(world["seller"]), world["ref"], svc.RegistrationSubmission(),
                                  clock=clock)
    session.commit()
    for url in (f"/tech-registrations/{reg.ref}", f"/certificates/{cert.ref}"):
        for who, status in EXPECTED[PARTIES].items():
            assert clients(who).get(url).status_code == status, (who, url)
    # Parties and the auditor read them without the operator's forms.
    for who in ("seller", "aud"):
        page = page_of(clients(who).get(f"/tech-registrations/{reg.ref}"))
        assert 'data-testid="register-form"' not in page and "/operator/tech-registrations/" not in page, who
        assert 'data-testid="revoke-form"' not in page_of(clients(who).get(f"/certificates/{cert.ref}")), who
    assert 'data-testid="register-form"' in page_of(clients("op").get(f"/tech-registrations/{reg.ref}"))


def test_anonymous_visitor_gets_a_sign_in_form_that_leads_back(clients, world):
    for path in ("/my/contracts", f"/contracts/{world['ref']}", "/audit/trail"):
        r = clients("anon").get(path)
        page = page_of(r)
        assert r.status_code == 401 and 'name="password"' in page, path
        assert f'action="/login?next={path}"' in page, path


def test_static_stylesheet_is_served(clients):
    r = clients("anon").get("/static/contracts/contracts.css")
    assert r.status_code == 200 and r.mimetype == "text/css"


def test_navigation_by_role(clients, world):
    assert 'href="/my/contracts"' in page_of(clients("seller").get("/"))
    op = page_of(clients("op").get("/"))
    assert 'href="/operator/tech-registrations"' in op and 'href="/operator/certificates"' in op
    assert 'href="/audit/contracts"' in op
    aud = page_of(clients("aud").get("/"))
    assert 'href="/audit/contracts"' in aud and 'href="/operator/certificates"' not in aud
    assert 'href="/my/contracts"' not in aud and 'href="/audit/contracts"' not in page_of(clients("seller").get("/"))


# -- the member's pages -------------------------------------------------------------------------------------
def test_my_contracts_lists_state_deadline_and_signers(clients, session, clock, world):
    page = page_of(clients("seller").get("/my/contracts?lang=en"))
    assert world["ref"] in page and "Drafted, awaiting signatures" in page
    # Sign-by: the end of the third working day, Beijing time, shown as its last minute (not as
    # 00:00 of the next day, which people read as one day more).
    assert "2026-03-05 23:59" in page and "2026-03-06 00:00" not in page
    assert "not yet" in page
    clock.advance(hours=1)
    svc.sign_contract(session, Actor.of(world["seller"]), world["ref"], world["c"].text_sha256, clock=clock)
    session.commit()
    page = page_of(clients("buyer").get("/my/contracts?lang=en"))
    assert "Signed by one side" in page and "王教授" in page
    assert world["ref"] not in page_of(clients("outsider").get("/my/contracts"))
    assert page_of(clients("seller").get("/my/contracts?state=in_force")).count('data-testid="contract-row"') == 0
    r = clients("seller").get("/my/contracts?lang=en&state=bogus")
    assert r.status_code == 422 and "Not a valid choice" in error_beside(page_of(r), "state")


def test_contract_page_shows_text_terms_fingerprint_and_pdf(clients, world):
    c, deal = world["c"], world["deal"]
    page = page_of(clients("buyer").get(f"/contracts/{c.ref}?lang=en"))
    assert str(escape(c.text)) in page  # the full text, exactly as stored
    assert f'data-testid="text-sha256">{c.text_sha256}<' in page
    assert deal.seller.name in page and deal.seller.id_code in page and deal.buyer.id_code in page
    assert deal.asset.title in page and "Assignment" in page and "¥1,200,000.00" in page
    assert "Patent right transfer" in page and "Payment terms" in page and "2026-03-05 23:59" in page
    assert f'href="/api/v1/contracts/{c.ref}.pdf"' in page
    assert "Confidentiality" in page  # the articles
    assert 'data-testid="sign-form"' in page and sign_hash(page) == c.text_sha256
    pdf = clients("buyer").get(f"/api/v1/contracts/{c.ref}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    # Staff and auditors read it without a sign form.
    for who in ("op", "aud"):
        other = page_of(clients(who).get(f"/contracts/{c.ref}?lang=en"))
        assert 'data-testid="sign-form"' not in other and "Only members of the seller or the buyer sign." in other


def test_both_parties_sign_through_the_form_and_the_contract_goes_in_force(clients, session, world):
    ref = world["ref"]
    for n, who in enumerate(("seller", "buyer")):
        c = clients(who)
        page = page_of(c.get(f"/contracts/{ref}"))
        r = c.post(f"/contracts/{ref}/sign", data={"text_sha256": sign_hash(page), "agree": "y",
                                                   "csrf_token": CSRF_RE.search(page).group(1)})
        assert r.status_code == 303 and r.headers["Location"].endswith(f"/contracts/{ref}"), page_of(r)
        after = page_of(c.get(f"/contracts/{ref}?lang=en"))
        assert 'data-testid="sign-form"' not in after and "Your side signed this contract." in after
        assert ("Signed by one side" if n == 0 else "In force") in after
    contract = refresh(session, world["c"])
    assert contract.state is cd.ContractState.IN_FORCE
    assert {s.side for s in contract.signatures} == {cd.SigningSide.SELLER, cd.SigningSide.BUYER}
    assert all(s.text_sha256 == contract.text_sha256 for s in contract.signatures)
    assert contract.deal.state is DealState.IN_FORCE
    page = page_of(clients("seller").get(f"/contracts/{ref}?lang=en"))
    assert page.count('data-signed="true"') == 2 and "李经理" in page and "王教授" in page


def test_a_stale_text_fingerprint_is_refused_beside_the_form(clients, session, clock, world):
    ref = world["ref"]
    seller = clients("seller")
    seen = sign_hash(page_of(seller.get(f"/contracts/{ref}")))
    svc.edit_text(session, Actor.of(world["op"]), ref, world["c"].text + "\n补充条款：甲方另行提供培训。\n",
                  "双方协商补充", clock=clock)
    session.commit()
    r = post(seller, f"/contracts/{ref}/sign", {"text_sha256": seen, "agree": "y"}, query_string={"lang": "en"})
    assert r.status_code == 409
    page = page_of(r)
    code, text = form_error(page, "sign-error")
    assert code == "contract_text_mismatch" and "The contract text changed" in text
    # In Chinese too the page says that nothing was recorded and what to do (its own text for the
    # code comes before the service's translated message).
    zh = post(seller, f"/contracts/{ref}/sign", {"text_sha256": seen, "agree": "y"}, query_string={"lang": "zh"})
    assert zh.status_code == 409
    assert "签署未被记录" in form_error(page_of(zh), "sign-error")[1]
    current = refresh(session, world["c"])
    assert current.signatures == [] and current.state is cd.ContractState.DRAFTED
    # The form now carries the text on the page, which is the current one.
    assert sign_hash(page) == current.text_sha256 != seen and "补充条款" in page
    r = post(seller, f"/contracts/{ref}/sign", {"text_sha256": sign_hash(page), "agree": "y"})
    assert r.status_code == 303
    assert refresh(session, world["c"]).state is cd.ContractState.PARTLY_SIGNED


def test_signing_twice_is_refused(clients, session, world):
    seller, ref = clients("seller"), world["ref"]
    text_hash = world["c"].text_sha256
    assert post(seller, f"/contracts/{ref}/sign", {"text_sha256": text_hash, "agree": "y"}).status_code == 303
    r = post(seller, f"/contracts/{ref}/sign", {"text_sha256": text_hash, "agree": "y"}, query_string={"lang": "en"})
    assert r.status_code == 409
    code, text = form_error(page_of(r), "sign-error")
    assert code == "already_signed" and "already signed" in text
    assert session.scalar(sa.select(sa.func.count()).select_from(ContractSignature)
                          .where(ContractSignature.contract_id == world["c"].id)) == 1


def test_sign_form_refuses_bad_input_beside_the_field(clients, session, world):
    seller, ref = clients("seller"), world["ref"]
    r = post(seller, f"/contracts/{ref}/sign", {"text_sha256": world["c"].text_sha256}, query_string={"lang": "en"})
    assert r.status_code == 422 and "Tick the box to sign." in error_beside(page_of(r), "agree")
    r = post(seller, f"/contracts/{ref}/sign", {"text_sha256": "nope", "agree": "y"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "reload the page" in form_error(page_of(r), "sign-error")[1]
    # Without the CSRF token: refused before anything happens.
    r = seller.post(f"/contracts/{ref}/sign", data={"text_sha256": world["c"].text_sha256, "agree": "y"})
    assert r.status_code == 400
    assert refresh(session, world["c"]).signatures == []


def test_after_the_deadline_the_form_is_gone_and_a_post_is_refused(clients, session, clock, world):
    clock.set(world["deal"].sign_by + timedelta(minutes=1))
    page = page_of(clients("buyer").get(f"/contracts/{world['ref']}?lang=en"))
    assert 'data-testid="sign-form"' not in page and "deadline has passed" in page
    r = post(clients("buyer"), f"/contracts/{world['ref']}/sign", {"text_sha256": world["c"].text_sha256,
                                                                    "agree": "y"}, query_string={"lang": "en"})
    assert r.status_code == 409
    assert form_error(page_of(r), "sign-error")[0] == "signing_deadline_passed"


def test_an_outsider_can_neither_see_nor_sign(clients, session, world):
    ref, text_hash = world["ref"], world["c"].text_sha256
    outsider = clients("outsider")
    r = outsider.get(f"/contracts/{ref}")
    assert r.status_code == 404 and world["c"].text[:30] not in page_of(r)
    r = post(outsider, f"/contracts/{ref}/sign", {"text_sha256": text_hash, "agree": "y"})
    assert r.status_code == 404 and world["c"].title not in page_of(r)
    assert post(outsider, "/contracts/C2026-999999/sign", {"text_sha256": text_hash, "agree": "y"}).status_code == 404
    # Staff cannot sign for a party; auditors cannot post at all.
    r = post(clients("op"), f"/contracts/{ref}/sign", {"text_sha256": text_hash, "agree": "y"})
    assert r.status_code == 403 and "forbidden_role" in page_of(r)
    r = post(clients("aud"), f"/contracts/{ref}/sign", {"text_sha256": text_hash, "agree": "y"})
    assert r.status_code == 403 and "auditor_read_only" in page_of(r)
    assert refresh(session, world["c"]).signatures == []


def test_my_deals_links_to_the_contract_and_the_certificate(clients, session, clock, world, monkeypatch):
    page = page_of(clients("buyer").get("/my/deals"))
    assert f'href="/contracts/{world["ref"]}"' in page
    cert = issued(session, clock, world, monkeypatch)
    page = page_of(clients("seller").get("/my/deals"))
    assert f'href="/certificates/{cert.ref}"' in page
    contract_page = page_of(clients("buyer").get(f"/contracts/{world['ref']}"))
    assert f'href="/certificates/{cert.ref}"' in contract_page and f'/verify/{cert.short_code}' in contract_page
    assert f'href="/api/v1/certificates/{cert.ref}.pdf"' in contract_page


# -- registration ------------------------------------------------------------------------------------------
def test_seller_submits_and_the_operator_registers(clients, session, clock, world):
    in_force(session, clock, world)
    page = page_of(clients("buyer").get(f"/contracts/{world['ref']}"))
    assert 'data-testid="registration-form"' not in page  # the seller's side registers
    seller = clients("seller")
    assert 'data-testid="registration-form"' in page_of(seller.get(f"/contracts/{world['ref']}"))
    r = post(seller, f"/contracts/{world['ref']}/registration", {}, query_string={"lang": "en"})
    assert r.status_code == 422 and "Tick the box to confirm." in error_beside(page_of(r), "confirm")
    r = post(seller, f"/contracts/{world['ref']}/registration", {"confirm": "y"})
    assert r.status_code == 303
    reg = session.scalar(sa.select(TechRegistration).where(TechRegistration.contract_id == world["c"].id))
    assert reg.state is cd.RegistrationState.SUBMITTED

    op = clients("op")
    queue = page_of(op.get("/operator/tech-registrations?lang=en"))
    assert reg.ref in queue and reg.due_on.isoformat() in queue and "working days left" in queue
    detail = page_of(op.get(f"/tech-registrations/{reg.ref}?lang=en"))
    assert "No reason to refuse found" in detail
    r = post(op, f"/operator/tech-registrations/{reg.ref}/register", {"register-note": "准予登记"},
             query_string={"lang": "en"})
    assert r.status_code == 422 and "Tick the box" in error_beside(page_of(r), "register-confirm")
    r = post(op, f"/operator/tech-registrations/{reg.ref}/register", {"register-note": "准予登记",
                                                                       "register-confirm": "y"})
    assert r.status_code == 303
    reg = refresh(session, reg)
    assert reg.state is cd.RegistrationState.REGISTERED and reg.registration_number.startswith("JS2026")
    page = page_of(op.get(f"/tech-registrations/{reg.ref}"))
    assert reg.registration_number in page and f"/api/v1/tech-registrations/{reg.ref}.pdf" in page
    assert 'data-testid="change-form"' in page and 'data-testid="register-form"' not in page
    # Registering twice: the form is gone, and a replayed post is refused with the reason shown.
    r = post(op, f"/operator/tech-registrations/{reg.ref}/register", {"register-confirm": "y"},
             query_string={"lang": "en"})
    assert r.status_code == 409 and "current state" in form_error(page_of(r), "register-error")[1]


def test_operator_refuses_with_reasons_the_data_supports(clients, session, clock, world):
    reg = submitted(session, clock, world)
    op = clients("op")
    url = f"/operator/tech-registrations/{reg.ref}"
    r = post(op, f"{url}/refuse", {"refuse-reasons": "not_technology", "refuse-confirm": "y"},
             query_string={"lang": "en"})
    assert r.status_code == 422  # nothing in the data to refuse for
    assert "register it instead" in form_error(page_of(r), "refuse-error")[1]
    # The reviewer finds export-controlled technology without a licence.
    assert post(op, f"{url}/review", {"review-export_controlled": "y"}).status_code == 303
    page = page_of(op.get(f"/tech-registrations/{reg.ref}?lang=en"))
    assert "Required approvals missing" in page and "Export-controlled technology needs an export licence." in page
    r = post(op, f"{url}/register", {"register-confirm": "y"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "reasons not to register" in form_error(page_of(r), "register-error")[1]
    r = post(op, f"{url}/refuse", {"refuse-reasons": ["missing_approvals", "unclear_price"], "refuse-confirm": "y"},
             query_string={"lang": "en"})
    assert r.status_code == 422 and "Price unclear" in error_beside(page_of(r), "refuse-reasons")
    r = post(op, f"{url}/refuse", {"refuse-reasons": "bogus", "refuse-confirm": "y"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "not a valid choice" in error_beside(page_of(r), "refuse-reasons")
    r = post(op, f"{url}/refuse", {"refuse-reasons": "missing_approvals", "refuse-note": "请补充出口许可证",
                                   "refuse-confirm": "y"})
    assert r.status_code == 303
    reg = refresh(session, reg)
    assert reg.state is cd.RegistrationState.REFUSED
    assert [p["reason"] for p in reg.refusal_reasons] == ["missing_approvals"]
    page = page_of(clients("seller").get(f"/tech-registrations/{reg.ref}?lang=en"))
    assert 'data-testid="refusal-reasons"' in page and "请补充出口许可证" in page
    # Refused: the seller may submit again from the contract page.
    assert 'data-testid="registration-form"' in page_of(clients("seller").get(f"/contracts/{world['ref']}"))


def test_registered_change_and_cancellation(clients, session, clock, world):
    reg = submitted(session, clock, world)
    svc.register(session, Actor.of(world["op"]), reg.ref, clock=clock)
    session.commit()
    op, url = clients("op"), f"/operator/tech-registrations/{reg.ref}"
    base = {"change-contract_name": reg.contract_name, "change-subject": reg.subject,
            "change-asset_refs": ", ".join(reg.asset_refs), "change-deal_amount": "1,200,000.00",
            "change-tech_amount": "1,200,000.00", "change-reason": "补充协议", "change-confirm": "y"}
    r = post(op, f"{url}/change", {**base, "change-tech_amount": "abc"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "Enter an amount in yuan" in error_beside(page_of(r), "change-tech_amount")
    r = post(op, f"{url}/change", {**base, "change-tech_amount": "1,300,000"}, query_string={"lang": "en"})
    assert r.status_code == 422 and error_beside(page_of(r), "change-tech_amount")
    r = post(op, f"{url}/change", base, query_string={"lang": "en"})
    assert r.status_code == 422 and "Nothing would change." in form_error(page_of(r), "change-error")[1]
    r = post(op, f"{url}/change", {**base, "change-tech_amount": "1,000,000"})
    assert r.status_code == 303
    reg = refresh(session, reg)
    assert reg.state is cd.RegistrationState.CHANGED and reg.tech_amount_fen == 100_000_000
    r = post(op, f"{url}/cancel", {"cancel-confirm": "y"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "Give a reason." in error_beside(page_of(r), "cancel-reason")
    assert post(op, f"{url}/cancel", {"cancel-reason": "合同解除", "cancel-confirm": "y"}).status_code == 303
    assert refresh(session, reg).state is cd.RegistrationState.CANCELLED
    assert post(op, f"{url}/bogus", {}).status_code == 404


def test_overdue_registrations_are_marked_in_the_queue_and_the_console(clients, session, clock, world):
    reg = submitted(session, clock, world)
    op = clients("op")
    console = page_of(op.get("/operator?lang=en"))
    assert re.search(r'data-testid="queue-registrations_due".*?<b>1</b>', console, flags=re.S)
    clock.set(clock.now() + timedelta(days=40))
    page = page_of(op.get("/operator/tech-registrations?lang=en"))
    assert re.search(rf'data-ref="{reg.ref}" data-overdue="true"', page)
    console = page_of(op.get("/operator?lang=en"))
    block = re.search(r'data-testid="queue-registrations_due".*?</div>', console, flags=re.S).group(0)
    assert "1 overdue" in block


# -- the operator's contract tools -------------------------------------------------------------------------
def test_non_technical_items_editor(clients, session, clock, world):
    op, ref = clients("op"), world["ref"]
    url = f"/operator/contracts/{ref}/items"
    r = post(op, url, {"items-0-description": "实验设备", "items-0-amount": "abc"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "Enter an amount in yuan" in error_beside(page_of(r), "items-0-amount")
    r = post(op, url, {"items-0-description": "", "items-0-amount": "100"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "Say what the item is." in error_beside(page_of(r), "items-0-description")
    r = post(op, url, {"items-0-description": "实验设备", "items-0-amount": "2,000,000"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "more than the deal amount" in page_of(r)
    r = post(op, url, {"items-0-description": "实验设备一套", "items-0-amount": "200,000",
                       "items-1-description": "", "items-1-amount": ""})
    assert r.status_code == 303
    contract = refresh(session, world["c"])
    assert [(i.description, i.amount_fen) for i in contract.non_technical_items] == [("实验设备一套", 20_000_000)]
    assert "实验设备一套" in contract.text and "¥1,000,000.00" in contract.text
    page = page_of(op.get(f"/operator/contracts/{ref}"))
    assert 'value="实验设备一套"' in page and "¥1,000,000.00" in page
    # Once anyone has signed, the items are fixed.
    svc.sign_contract(session, Actor.of(world["seller"]), ref, contract.text_sha256, clock=clock)
    session.commit()
    assert 'data-testid="items-form"' not in page_of(op.get(f"/operator/contracts/{ref}"))
    r = post(op, url, {"items-0-description": "材料", "items-0-amount": "1"}, query_string={"lang": "en"})
    assert r.status_code == 409 and "can no longer change" in page_of(r)


def test_console_counts_contracts_awaiting_signatures(clients, clock, world):
    op = clients("op")
    block = re.search(r'data-testid="queue-contracts_to_sign".*?</div>', page_of(op.get("/operator?lang=en")),
                      flags=re.S).group(0)
    assert "<b>1</b>" in block and "overdue" not in block
    assert world["ref"] in page_of(op.get("/operator/contracts"))
    clock.set(world["deal"].sign_by + timedelta(hours=1))
    block = re.search(r'data-testid="queue-contracts_to_sign".*?</div>', page_of(op.get("/operator?lang=en")),
                      flags=re.S).group(0)
    assert "1 overdue" in block
    assert op.get("/operator/contracts?state=in_force").status_code == 200
    assert op.get("/operator/contracts?state=bogus").status_code == 404


# -- certificates ------------------------------------------------------------------------------------------
def test_issue_a_certificate_through_the_page(clients, session, clock, world, monkeypatch):
    in_force(session, clock, world)
    op, deal_ref = clients("op"), world["deal"].ref
    money_status(monkeypatch, {"price_received": True, "buyer_fee_paid": False, "seller_fee_paid": False,
                               "settled": False})
    page = page_of(op.get("/operator/certificates?lang=en"))
    assert 'data-testid="certificates-waiting"' in page and "Buyer&#39;s service fee paid" in page
    r = post(op, f"/operator/deals/{deal_ref}/certificate", {"issue-confirm": "y"}, query_string={"lang": "en"})
    assert r.status_code == 422
    code, text = form_error(page_of(r), "issue-error")
    assert code == "certificate_not_issuable" and "Buyer's service fee paid" in text
    money_status(monkeypatch)  # the money is in
    page = page_of(op.get("/operator/certificates?lang=en"))
    assert f'data-deal="{deal_ref}"' in page and 'data-testid="issue-form"' in page
    assert re.search(r'data-testid="queue-certificates_to_issue".*?<b>1</b>', page_of(op.get("/operator")),
                     flags=re.S)
    r = post(op, f"/operator/deals/{deal_ref}/certificate", {}, query_string={"lang": "en"})
    assert r.status_code == 422 and "Tick the box" in error_beside(page_of(r), "issue-confirm")
    r = post(op, f"/operator/deals/{deal_ref}/certificate", {"issue-confirm": "y"})
    assert r.status_code == 303
    cert = session.scalar(sa.select(Certificate).where(Certificate.deal_id == world["deal"].id))
    assert r.headers["Location"].endswith(f"/certificates/{cert.ref}")
    page = page_of(op.get(f"/certificates/{cert.ref}"))
    assert cert.fingerprint in page and f"/api/v1/certificates/{cert.ref}.pdf" in page
    r = post(op, f"/operator/deals/{deal_ref}/certificate", {"issue-confirm": "y"}, query_string={"lang": "en"})
    assert r.status_code == 409 and form_error(page_of(r), "issue-error")[0] == "certificate_exists"
    assert session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 1
    assert f'href="/certificates/{cert.ref}"' in page_of(clients("buyer").get(f"/contracts/{world['ref']}"))


def test_revoke_a_certificate_with_a_reason(clients, session, clock, world, monkeypatch):
    cert = issued(session, clock, world, monkeypatch)
    op, url = clients("op"), f"/operator/certificates/{cert.ref}/revoke"
    r = post(op, url, {"revoke-confirm": "y"}, query_string={"lang": "en"})
    assert r.status_code == 422 and "Give a reason." in error_beside(page_of(r), "revoke-reason")
    r = post(clients("aud"), url, {"revoke-reason": "x", "revoke-confirm": "y"})
    assert r.status_code == 403 and "auditor_read_only" in page_of(r)
    assert post(op, url, {"revoke-reason": "转让方提交的权属证明系伪造", "revoke-confirm": "y"}).status_code == 303
    assert refresh(session, cert).state is cd.CertificateState.REVOKED
    page = page_of(op.get(f"/certificates/{cert.ref}?lang=en"))
    assert "Revoked" in page and "转让方提交的权属证明系伪造" in page and 'data-testid="revoke-form"' not in page
    r = post(op, url, {"revoke-reason": "again", "revoke-confirm": "y"}, query_string={"lang": "en"})
    assert r.status_code == 409 and "already revoked" in page_of(r)
    assert "revoked" in page_of(clients("anon").get(f"/verify/{cert.short_code}"))


# -- the auditor's pages -----------------------------------------------------------------------------------
def test_auditor_lists_filters_and_downloads(clients, session, clock, world, monkeypatch):
    cert = issued(session, clock, world, monkeypatch)
    reg = svc.submit_registration(session, Actor.of(world["seller"]), world["ref"], svc.RegistrationSubmission(),
                                  clock=clock)
    svc.register(session, Actor.of(world["op"]), reg.ref, clock=clock)
    other = make_deal(session, clock)  # a second contract, drafted only
    session.commit()
    aud = clients("aud")

    page = page_of(aud.get("/audit/contracts?lang=en"))
    assert world["ref"] in page and contract_of(session, other).ref in page and "2 contracts" in page
    assert page.count('data-ok="true"') >= 2  # every row's record checks out
    only = page_of(aud.get("/audit/contracts?state=in_force"))
    assert world["ref"] in only and contract_of(session, other).ref not in only
    by_party = page_of(aud.get(f"/audit/contracts?party={world['seller'].party.ref.lower()}"))
    assert world["ref"] in by_party and contract_of(session, other).ref not in by_party
    assert "0 contracts" in page_of(aud.get("/audit/contracts?party=P1999-000001&lang=en"))
    r = aud.get("/audit/contracts?lang=en&date_from=2026-03-10&date_to=2026-03-01")
    assert r.status_code == 422 and "before its start" in error_beside(page_of(r), "date_to")
    r = aud.get("/audit/contracts?lang=en&date_from=not-a-date")
    assert r.status_code == 422 and "Not a valid date" in error_beside(page_of(r), "date_from")

    csv_url = html.unescape(re.search(r'href="([^"]+)" data-testid="download-csv"', only).group(1))
    assert csv_url.startswith("/api/v1/exports/contracts.csv") and "state=in_force" in csv_url
    r = aud.get(csv_url)
    assert r.status_code == 200 and r.mimetype == "text/csv" and world["ref"] in r.get_data(as_text=True)
    xlsx_url = html.unescape(re.search(r'href="([^"]+)" data-testid="download-xlsx"', only).group(1))
    r = aud.get(xlsx_url)
    assert r.status_code == 200 and r.data[:2] == b"PK"

    page = page_of(aud.get("/audit/registrations?lang=en&state=registered"))
    assert reg.ref in page and f'href="/api/v1/tech-registrations/{reg.ref}.pdf"' in page
    assert aud.get(f"/api/v1/tech-registrations/{reg.ref}.pdf").mimetype == "application/pdf"
    assert reg.ref not in page_of(aud.get("/audit/registrations?state=refused"))
    r = aud.get("/audit/registrations?lang=en&registration_number=XX12")
    assert r.status_code == 422 and "JS2026310104000123" in error_beside(page_of(r), "registration_number")

    page = page_of(aud.get("/audit/certificates?lang=en"))
    assert cert.ref in page and f'href="/api/v1/certificates/{cert.ref}.pdf"' in page
    assert aud.get(f"/api/v1/certificates/{cert.ref}.pdf").mimetype == "application/pdf"
    assert cert.ref not in page_of(aud.get("/audit/certificates?state=revoked"))
    assert cert.ref in page_of(aud.get(f"/audit/certificates?deal={world['deal'].ref}"))

    # The bundle: the range is checked on the page, then the API serves the ZIP.
    r = aud.get("/audit/bundle?lang=en&start=2026-03-10&end=2026-03-01")
    assert r.status_code == 422 and "before its start" in error_beside(page_of(r), "end")
    r = aud.get("/audit/bundle?lang=en&start=2025-01-01&end=2026-03-31")
    assert r.status_code == 422 and "366 days" in error_beside(page_of(r), "end")
    r = aud.get("/audit/bundle?lang=en&start=&end=2026-03-31")
    assert r.status_code == 422 and "Give a date." in error_beside(page_of(r), "start")
    r = aud.get("/audit/bundle?start=2026-03-01&end=2026-03-31")
    assert r.status_code == 302 and r.headers["Location"] == "/api/v1/exports/bundle.zip?from=2026-03-01&to=2026-03-31"
    z = aud.get(r.headers["Location"])
    assert z.status_code == 200 and z.mimetype == "application/zip"
    assert svc.verify_bundle(z.data)["ok"]
    with zipfile.ZipFile(io.BytesIO(z.data)) as zf:
        assert "manifest.json" in zf.namelist() and f"certificates/{cert.ref}.pdf" in zf.namelist()


def test_record_verification_shows_an_altered_record(clients, session, world):
    aud = clients("aud")
    page = page_of(aud.get("/audit/records?run=1&lang=en"))
    assert 'data-testid="records-result" data-ok="true"' in page and "Every record matches its hash." in page
    session.execute(sa.text("UPDATE contracts SET title = 'forged' WHERE id = :id"), {"id": world["c"].id})
    session.commit()
    page = page_of(aud.get("/audit/records?run=1&lang=en"))
    assert 'data-ok="false"' in page and f'data-ref="{world["ref"]}"' in page
    row = re.search(rf'data-testid="contract-row" data-ref="{world["ref"]}".*?</tr>',
                    page_of(aud.get("/audit/contracts?lang=en")), flags=re.S).group(0)
    assert 'data-ok="false"' in row and "Record altered" in row


def test_audit_trail_pages_by_seq_and_filters(clients, session, clock, world, monkeypatch):
    from contracts.pages import audit

    in_force(session, clock, world)
    aud = clients("aud")
    page = page_of(aud.get("/audit/trail?lang=en"))
    assert "contract.drafted" in page and "contract.signed" in page and world["ref"] in page
    seqs = [int(s) for s in re.findall(r'data-testid="event-row" data-seq="(\d+)"', page)]
    assert seqs == sorted(seqs) and len(seqs) >= 3
    signed = page_of(aud.get(f"/audit/trail?action=contract.signed&subject_ref={world['ref']}"))
    assert re.findall(r'data-testid="event-row".*?class="mono">([a-z_.]+)</a>', signed, flags=re.S) == \
        ["contract.signed", "contract.signed"]
    monkeypatch.setattr(audit, "TRAIL_PER_PAGE", 2)
    first = page_of(aud.get("/audit/trail"))
    assert re.findall(r'data-seq="(\d+)"', first) == [str(s) for s in seqs[:2]]
    nxt = html.unescape(re.search(r'href="([^"]+)" rel="next"', first).group(1))
    assert f"after_seq={seqs[1]}" in nxt
    second = page_of(aud.get(nxt))
    assert re.findall(r'data-seq="(\d+)"', second)[0] == str(seqs[2]) and 'rel="prev"' in second
    r = aud.get("/audit/trail?lang=en&after_seq=-4")
    assert r.status_code == 422 and error_beside(page_of(r), "after_seq")
    r = aud.get("/audit/trail?lang=en&after_seq=abc")
    assert r.status_code == 422 and "Not a valid integer" in error_beside(page_of(r), "after_seq")


def test_verify_chain_shows_ok_then_the_broken_seq_after_tampering(clients, session, clock, world):
    in_force(session, clock, world)
    aud = clients("aud")
    page = page_of(aud.get("/audit/trail?lang=en"))
    assert 'data-testid="verify-chain"' in page
    page = page_of(aud.get("/audit/trail/verify?lang=en"))
    assert 'data-testid="chain-result" data-ok="true"' in page and "The chain is intact." in page
    target = session.scalar(sa.select(AuditEvent.seq).where(AuditEvent.action == "contract.signed")
                            .order_by(AuditEvent.seq).limit(1))
    session.execute(sa.text("UPDATE audit_events SET reason = 'x' WHERE seq = :seq"), {"seq": target})
    session.commit()
    page = page_of(aud.get("/audit/trail/verify?lang=en"))
    assert 'data-ok="false"' in page and f'data-first-broken-seq="{target}"' in page
    assert f"The chain is broken at seq {target}." in page and "contract.signed" in page
    link = html.unescape(re.search(r'href="([^"]+)" data-testid="broken-link"', page).group(1))
    trail = page_of(aud.get(link))
    assert re.search(rf'data-seq="{target}" class="broken"', trail)


@pytest.mark.parametrize("url, field, message", [
    ("/audit/contracts?date_from=0001-01-01", "date_from", "between 1990 and 2199"),
    ("/audit/registrations?date_to=9999-12-31", "date_to", "between 1990 and 2199"),
    ("/audit/certificates?date_from=2026-02-30", "date_from", "Not a valid date"),
    ("/audit/bundle?start=9999-12-31&end=9999-12-31", "start", "between 1990 and 2199"),
    ("/audit/contracts?party=%07", "party", "control or direction characters"),
    ("/audit/registrations?registration_number=%E2%80%AE", "registration_number", "control or direction"),
    ("/audit/certificates?state=lost", "state", "Not a valid choice"),
    ("/audit/trail?action=%07x", "action", "control or direction characters"),
    ("/audit/trail?subject_ref=" + "x" * 41, "subject_ref", "40"),
    ("/audit/trail?after_seq=99999999999999999999", "after_seq", "Number must be"),
])
def test_odd_filters_are_refused_beside_the_field(clients, world, url, field, message):
    r = clients("aud").get(url + "&lang=en")
    assert r.status_code == 422, page_of(r)
    assert message in error_beside(page_of(r), field)


def test_odd_inputs_to_operator_forms_never_fail(clients, session, clock, world):
    reg = submitted(session, clock, world)
    op = clients("op")
    for action, data, field in [
            ("register", {"register-note": "a\x07b", "register-confirm": "y"}, "register-note"),
            ("cancel", {"cancel-reason": "a\u202eb", "cancel-confirm": "y"}, "cancel-reason")]:
        r = post(op, f"/operator/tech-registrations/{reg.ref}/{action}", data, query_string={"lang": "en"})
        assert r.status_code == 422 and "control or direction" in error_beside(page_of(r), field), action
    r = post(op, f"/operator/contracts/{world['ref']}/registration",
             {"registration-licence_term_years": "5\x07", "registration-confirm": "y"}, query_string={"lang": "en"})
    assert r.status_code == 422 and error_beside(page_of(r), "registration-licence_term_years")
    assert refresh(session, reg).state is cd.RegistrationState.SUBMITTED


# -- escaping and languages --------------------------------------------------------------------------------
def test_user_text_is_escaped_everywhere(app, session, clock, monkeypatch):
    seller = make_member(session, clock, display_name=XSS, party_name=XSS)
    buyer = make_member(session, clock)
    op, aud = make_staff(session, clock), make_staff(session, clock, Role.auditor)
    deal = make_deal(session, clock, seller=seller, buyer=buyer, title=XSS)
    contract = sign_both(session, clock, deal)
    reg = svc.submit_registration(session, Actor.of(seller), contract.ref, svc.RegistrationSubmission(
        export_controlled=True), clock=clock)
    svc.refuse(session, Actor.of(op), reg.ref, [], note=XSS, clock=clock)
    money_status(monkeypatch)
    cert = svc.issue_certificate(session, Actor.of(op), deal.ref, clock=clock)
    svc.revoke_certificate(session, Actor.of(op), cert.ref, XSS, clock=clock)
    session.commit()
    escaped = html.escape(XSS, quote=False)
    pages = {
        "contract": client_for(app, seller).get(f"/contracts/{contract.ref}"),
        "my contracts": client_for(app, buyer).get("/my/contracts"),
        "registration": client_for(app, op).get(f"/tech-registrations/{reg.ref}"),
        "certificate": client_for(app, op).get(f"/certificates/{cert.ref}"),
        "operator contract": client_for(app, op).get(f"/operator/contracts/{contract.ref}"),
        "audit contracts": client_for(app, aud).get("/audit/contracts"),
        "audit certificates": client_for(app, aud).get("/audit/certificates"),
        "trail": client_for(app, aud).get("/audit/trail"),
    }
    for name, r in pages.items():
        page = page_of(r)
        assert r.status_code == 200, name
        assert XSS not in page, name
        assert escaped in page or html.escape(XSS) in page, name


def test_form_input_is_escaped_when_shown_again(clients, session, clock, world):
    reg = submitted(session, clock, world)
    r = post(clients("op"), f"/operator/tech-registrations/{reg.ref}/cancel",
             {"cancel-reason": '"><script>alert(1)</script>'})  # no confirm: shown again
    assert r.status_code == 422 and "<script>alert(1)</script>" not in page_of(r)


def test_chinese_by_default_english_on_request(clients, world):
    zh = page_of(clients("seller").get(f"/contracts/{world['ref']}"))
    assert '<html lang="zh-CN">' in zh and "签署合同" in zh and "合同全文" in zh and "技术合同认定登记" in zh
    en = page_of(clients("seller").get(f"/contracts/{world['ref']}?lang=en"))
    assert "Sign the contract" in en and "Full text as stored" in en and "签署合同" not in en
    assert "审计追踪" in page_of(clients("aud").get("/audit/trail"))
