"""Settlement pages through the test client: who may see and do what, recording a bank notification
(and replaying it), matching and returning a receipt in suspense, the instalment plan, confirming the
transfer and paying out with the ledger balanced, releases and refunds, credit records, instruments
and pledges, the buyer's "My money", bad input beside its field, CSRF, escaping and the console."""
from __future__ import annotations

import html
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from exchange.actors import Actor
from exchange.models import Role
from exchange.money import Money
from listings import domain as ld
from listings import service as ls
from settlement import service as svc
from settlement.models import (
    BankNotification,
    CreditInstrument,
    DealSettlement,
    Disbursement,
    JournalEntry,
    NotificationState,
    PaymentPurpose,
    Pledge,
    SettlementState,
)
from settlement.service import ledger
from tests import settlement_world as sw
from tests.factories import make_member, make_staff
from tests.helpers import count_rows
from tests.web.test_listings_pages import client_for, error_beside, no_inline_code, page_of, signs_in_here
from tests.web.test_platform_pages import XSS, csrf_from

OP = "/operator/settlement"


# -- the world ------------------------------------------------------------------------------------------------
@pytest.fixture()
def world(app, session, clock):  # type: ignore[no-untyped-def]
    """A deal in force from an auction: buyer 1 won, buyer 0 lost (deposit due for release), buyer 2
    did not bid (deposit forfeited, the seller's share is free cash). Staff of every role, an outsider."""
    w = sw.build(session, clock, buyers=3)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    people = {"op": w.op, "admin": make_staff(session, clock, Role.admin),
              "auditor": make_staff(session, clock, Role.auditor), "winner": w.buyers[1], "loser": w.buyers[0],
              "seller": w.seller, "outsider": make_member(session, clock)}
    session.commit()
    return SimpleNamespace(w=w, deal=deal, **people)


def settlement(session, deal) -> DealSettlement:  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalar(sa.select(DealSettlement).where(DealSettlement.deal_id == deal.id))


def owed(session, deal) -> int:  # type: ignore[no-untyped-def]
    return sum(o.amount_fen - o.paid_fen for o in settlement(session, deal).obligations)


def post(client, page: str, action: str, data: dict, **kw):  # type: ignore[no-untyped-def]
    """POST like a browser: the CSRF token read from ``page`` (the session's token, the same on every form)."""
    return client.post(action, data={**data, "csrf_token": csrf_from(client, page)}, **kw)


def suspense_receipt(session, w, amount_fen: int,  # type: ignore[no-untyped-def]
                     payer: str = "上海某某科技有限公司") -> BankNotification:
    n = sw.pay(session, w, amount_fen, PaymentPurpose.OTHER, None, payer=payer)
    session.commit()
    assert n.state == NotificationState.SUSPENSE
    return n


def other_asset(session, clock, owner):  # type: ignore[no-untyped-def]
    asset = ls.register_asset(session, Actor.of(owner), ls.AssetInput(
        kind=ld.AssetKind.INVENTION_PATENT, title="一种储能电池管理方法", technical_field="new_energy",
        number=sw.patent_no(next(sw._serial)), filing_date=clock.now().date().replace(year=2017)), clock=clock)
    session.flush()
    return asset


def stat(page: str, key: str) -> tuple[int, int]:
    """(count, overdue) of one queue on the operator console."""
    block = re.search(rf'data-testid="queue-{key}">(.*?)</div>', page, flags=re.S).group(1)
    n = int(re.search(r"<b>(\d+)</b>", block).group(1))
    late = re.search(r"(\d+)\s*(?:overdue|项逾期)", block)
    return n, int(late.group(1)) if late else 0


def flashes(page: str) -> str:
    return html.unescape(" ".join(re.findall(r'<p class="flash[^"]*">(.*?)</p>', page, flags=re.S)))


def form_error(page: str) -> str:
    return html.unescape(" ".join(re.findall(r'<p class="error form-error"[^>]*>(.*?)</p>', page, flags=re.S)))


# -- who sees what --------------------------------------------------------------------------------------------
def test_pages_answer_each_role(app, client, session, clock, world):
    w = world.w
    n = suspense_receipt(session, w, 50_000)
    inst = svc.create_instrument(session, w.op_actor, world.outsider.party.ref, {
        "kind": "guarantee_letter", "issuer": "中国银行上海市分行", "amount_fen": 1_000_000,
        "expires_on": clock.now().date() + timedelta(days=200)}, clock=clock)
    pledge = svc.create_pledge(session, w.op_actor, svc.PledgeInput(
        pledgor_ref=world.seller.party.ref, pledgee_name="上海农商银行", secured_amount_fen=5_000_000,
        starts_on=clock.now().date(), asset_refs=[other_asset(session, clock, world.seller).ref]), clock=clock)
    session.commit()
    reads = [OP, f"{OP}/payments", f"{OP}/payments?state=suspense&flag=flagged", f"{OP}/payments/{n.ref}",
             f"{OP}/deals", f"{OP}/deals/all", f"{OP}/transfers", f"{OP}/payouts", f"{OP}/overdue",
             f"{OP}/deals/{world.deal.ref}", f"{OP}/refunds", f"{OP}/refunds/{world.seller.party.ref}",
             f"{OP}/trial-balance", f"{OP}/daily", f"{OP}/credit", f"{OP}/credit?party={world.winner.party.ref}",
             f"{OP}/instruments", f"{OP}/instruments/{inst.ref}", f"{OP}/pledges", f"{OP}/pledges/{pledge.ref}"]
    staff_only = [f"{OP}/payments/new", f"{OP}/instruments/new", f"{OP}/pledges/new"]
    clients = {who: client_for(app, getattr(world, who)) for who in ("op", "admin", "auditor", "winner")}
    for url in reads + staff_only:
        if "?" in url:
            assert client.get(url).status_code == 401, url
        else:
            signs_in_here(client.get(url), url)
        for who in ("op", "admin"):
            r = clients[who].get(url)
            assert r.status_code == 200, (who, url, page_of(r)[:2000])
            no_inline_code(page_of(r))
        assert clients["auditor"].get(url).status_code == (403 if url in staff_only else 200), url
        assert clients["winner"].get(url).status_code == 403, url
    # The auditor reads without the action forms.
    audit = page_of(clients["auditor"].get(f"{OP}/payments/{n.ref}"))
    assert "match-target" not in audit and 'name="match-confirm"' not in audit
    assert 'name="match-confirm"' in page_of(clients["op"].get(f"{OP}/payments/{n.ref}"))


def test_my_money_is_for_members(app, client, world):
    signs_in_here(client.get("/my/settlement"), "/my/settlement")
    for who in ("op", "auditor"):
        assert client_for(app, getattr(world, who)).get("/my/settlement").status_code == 403, who
    r = client_for(app, world.outsider).get("/my/settlement")
    assert r.status_code == 200
    no_inline_code(page_of(r))


def test_navigation_and_static_files(app, client, world):
    member = page_of(client_for(app, world.winner).get("/"))
    assert 'href="/my/settlement"' in member and f'href="{OP}"' not in member
    for who in ("op", "auditor"):
        page = page_of(client_for(app, getattr(world, who)).get("/"))
        assert f'href="{OP}"' in page and 'href="/my/settlement"' not in page
    r = client.get("/static/settlement/settlement.css")
    assert r.status_code == 200 and r.mimetype == "text/css"


def test_auditors_cannot_post_and_posts_need_csrf(app, session, world):
    n = suspense_receipt(session, world.w, 80_000)
    auditor = client_for(app, world.auditor)
    token = csrf_from(auditor, f"{OP}/payments/{n.ref}")  # the sign-out form's token: the session's token
    for action, data in [(f"{OP}/payments/{n.ref}/match", {"match-target": "party", "match-confirm": "y",
                                                           "match-target_ref": world.winner.party.ref,
                                                           "match-note": "x"}),
                         (f"{OP}/payments/new", {"bank_reference": "AUD-1", "payer_name": "x", "amount": "1",
                                                 "purpose": "other"}),
                         (f"{OP}/deals/{world.deal.ref}/payout", {"payout-confirm": "y"})]:
        r = auditor.post(action, data={**data, "csrf_token": token})
        assert r.status_code == 403 and "auditor_read_only" in page_of(r), action
    op = client_for(app, world.op)
    r = op.post(f"{OP}/payments/{n.ref}/match", data={"match-target": "party", "match-confirm": "y",
                                                      "match-target_ref": world.winner.party.ref, "match-note": "x"})
    assert r.status_code == 400
    session.expire_all()
    assert session.get(BankNotification, n.id).state == NotificationState.SUSPENSE


# -- money in ------------------------------------------------------------------------------------------------
def notification_data(**over):  # type: ignore[no-untyped-def]
    data = {"bank_reference": "ICBC-20260302-0001", "payer_name": "上海某某科技有限公司", "payer_account": "6222 0000 1111",
            "amount": "12,345.67", "purpose": "other", "purpose_ref": "", "payer_party_ref": "", "value_date": "",
            "remittance_info": "货款"}
    data.update(over)
    return data


def test_recording_a_bank_notification_and_replaying_it(app, session, world):
    op = client_for(app, world.op)
    new = f"{OP}/payments/new"
    r = post(op, new, new + "?lang=en", notification_data())
    assert r.status_code == 303
    n = session.scalar(sa.select(BankNotification).where(BankNotification.bank_reference == "ICBC-20260302-0001"))
    assert n.amount_fen == 1_234_567 and n.state == NotificationState.SUSPENSE and n.source == "operator"
    assert r.headers["Location"] == f"{OP}/payments/{n.ref}"
    page = page_of(op.get(r.headers["Location"] + "?lang=en"))
    assert "¥12,345.67" in page and "In suspense" in page and "waits in suspense" in flashes(page)
    receipts, entries = count_rows(session, BankNotification), count_rows(session, JournalEntry)
    # The same receipt keyed in again changes nothing.
    r = post(op, new, new + "?lang=en", notification_data())
    assert r.status_code == 303 and r.headers["Location"] == f"{OP}/payments/{n.ref}"
    assert "recorded before" in flashes(page_of(op.get(r.headers["Location"] + "?lang=en")))
    assert count_rows(session, BankNotification) == receipts and count_rows(session, JournalEntry) == entries
    # The same reference with other facts is refused beside the reference.
    r = post(op, new, new + "?lang=en", notification_data(amount="12,345.68"))
    assert r.status_code == 409
    assert "different details" in error_beside(page_of(r), "bank_reference")
    assert count_rows(session, BankNotification) == receipts and count_rows(session, JournalEntry) == entries
    sw.check_ledger(session)


def test_a_deposit_keyed_in_with_its_reference_is_matched_at_once(app, session, clock, world):
    w2 = sw.build(session, clock, buyers=1)
    reg = w2.regs[0]
    session.commit()
    op = client_for(app, world.op)
    r = post(op, f"{OP}/payments/new", f"{OP}/payments/new?lang=en", notification_data(
        bank_reference="DEP-0001", amount=Money(reg.deposit_fen).format(symbol=False), purpose="deposit",
        purpose_ref=reg.ref))
    assert r.status_code == 303, page_of(r)
    page = page_of(op.get(r.headers["Location"] + "?lang=en"))
    assert f"matched to {reg.ref}" in flashes(page) and "Exact" in page
    session.expire_all()
    assert svc.holds.hold_of(session, reg.id).state.value == "held"


@pytest.mark.parametrize("over, field, message", [
    ({"amount": "abc"}, "amount", "Enter an amount in yuan"),
    ({"amount": "-5"}, "amount", "more than zero"),
    ({"amount": "1.234"}, "amount", "Enter an amount in yuan"),
    ({"amount": ""}, "amount", "This field is required"),
    ({"bank_reference": "含 空格"}, "bank_reference", "letters, digits"),
    ({"payer_party_ref": "P20269999"}, "payer_party_ref", "No party has this reference"),
    ({"payer_party_ref": "P2026\x07"}, "payer_party_ref", "letters, digits and hyphens"),
    ({"purpose_ref": "R2026 000001"}, "purpose_ref", "letters, digits and hyphens"),
    ({"value_date": "2030-01-01"}, "value_date", "value date in the future"),
    ({"value_date": "yesterday"}, "value_date", "Not a valid date"),
    ({"purpose": "gift"}, "purpose", "Not a valid choice"),
])
def test_bad_notifications_are_refused_beside_the_field(app, session, world, over, field, message):
    op = client_for(app, world.op)
    receipts, entries = count_rows(session, BankNotification), count_rows(session, JournalEntry)
    r = post(op, f"{OP}/payments/new", f"{OP}/payments/new?lang=en", notification_data(**over))
    assert r.status_code in (404, 422), page_of(r)
    assert message in error_beside(page_of(r), field)
    assert count_rows(session, BankNotification) == receipts and count_rows(session, JournalEntry) == entries


def test_matching_a_suspense_receipt_to_the_deal(app, session, world):
    w, deal = world.w, world.deal
    n = suspense_receipt(session, w, owed(session, deal))
    op = client_for(app, world.op)
    page_url = f"{OP}/payments/{n.ref}?lang=en"
    action = f"{OP}/payments/{n.ref}/match?lang=en"
    good = {"match-target": "deal", "match-target_ref": deal.ref, "match-note": "付款人来电确认为成交价款",
            "match-confirm": "y"}
    r = post(op, page_url, action, {**good, "match-confirm": ""})
    assert r.status_code == 422 and "Tick the box" in error_beside(page_of(r), "match-confirm")
    r = post(op, page_url, action, {**good, "match-note": ""})
    assert r.status_code == 422 and "Give a reason" in error_beside(page_of(r), "match-note")
    r = post(op, page_url, action, {**good, "match-target_ref": "DL2026999999"})
    assert r.status_code == 404 and "No deal has this reference" in error_beside(page_of(r), "match-target_ref")
    r = post(op, page_url, action, {**good, "match-target_ref": "D2026\x07"})
    assert r.status_code == 422 and "letters, digits" in error_beside(page_of(r), "match-target_ref")
    # A NUL never reaches the form: the request guard refuses it for the whole site.
    r = post(op, page_url, action, {**good, "match-target_ref": "D2026\x00"})
    assert r.status_code == 422 and "invalid_characters" in page_of(r)
    r = post(op, page_url, action, {**good, "match-target": "registration"})
    assert "No buyer registration has this reference" in error_beside(page_of(r), "match-target_ref")
    session.expire_all()
    assert session.get(BankNotification, n.id).state == NotificationState.SUSPENSE
    r = post(op, page_url, action, good)
    assert r.status_code == 303
    session.expire_all()
    n = session.get(BankNotification, n.id)
    assert n.state == NotificationState.MATCHED and n.matched_ref == deal.ref and n.flag.value == "exact"
    assert settlement(session, deal).state == SettlementState.PRICE_IN
    page = page_of(op.get(page_url))
    assert "Matched" in page and f'href="{OP}/deals/{deal.ref}"' in page and 'name="match-confirm"' not in page
    # A second match of a matched receipt is refused, and nothing moves.
    entries = count_rows(session, JournalEntry)
    r = post(op, page_url, action, {**good, "match-target": "party", "match-target_ref": world.winner.party.ref})
    assert r.status_code == 409 and "no longer in suspense" in form_error(page_of(r))
    assert count_rows(session, JournalEntry) == entries
    sw.check_ledger(session)


def test_matching_a_receipt_to_a_registration_funds_its_deposit(app, session, clock, world):
    w2 = sw.build(session, clock, buyers=1)
    reg = w2.regs[0]
    n = suspense_receipt(session, w2, reg.deposit_fen, payer="买方甲")
    op = client_for(app, world.op)
    r = post(op, f"{OP}/payments/{n.ref}", f"{OP}/payments/{n.ref}/match", {
        "match-target": "registration", "match-target_ref": reg.ref, "match-note": "附言写错，电话核实",
        "match-confirm": "y"})
    assert r.status_code == 303, page_of(r)
    session.expire_all()
    assert svc.holds.hold_of(session, reg.id).state.value == "held"
    assert session.get(BankNotification, n.id).flag.value == "exact"
    sw.check_ledger(session)


def test_returning_a_suspense_receipt(app, session, world):
    n = suspense_receipt(session, world.w, 99_00, payer="不明来款")
    op = client_for(app, world.op)
    url, action = f"{OP}/payments/{n.ref}?lang=en", f"{OP}/payments/{n.ref}/return?lang=en"
    r = post(op, url, action, {"return-reason": "", "return-confirm": "y"})
    assert r.status_code == 422 and "Give a reason" in error_beside(page_of(r), "return-reason")
    r = post(op, url, action, {"return-reason": "无法识别付款人，原路退回", "return-confirm": "y"})
    assert r.status_code == 303
    session.expire_all()
    assert session.get(BankNotification, n.id).state == NotificationState.RETURNED
    assert ledger.balance_fen(session, ledger.SUSPENSE) == 0
    assert "Returned" in page_of(op.get(url))
    sw.check_ledger(session)


def test_receipts_list_filters(app, session, world):
    w = world.w
    suspense_receipt(session, w, 10_000, payer="甲公司")
    sw.pay(session, w, owed(session, world.deal) - 100, PaymentPurpose.PRICE, world.deal.ref, payer="乙公司")  # short
    session.commit()
    op = client_for(app, world.op)

    def payers(query: str) -> set[str]:
        page = page_of(op.get(f"{OP}/payments?{query}"))
        return set(re.findall(r'data-label="[^"]*">([^<]+公司)', page))

    assert {"甲公司", "乙公司"} <= payers("")
    assert payers("state=suspense") == {"甲公司"}
    assert payers("flag=flagged") == {"乙公司"} and payers("flag=short") == {"乙公司"}
    assert payers("flag=over") == set()


# -- deals -------------------------------------------------------------------------------------------------
def test_transfer_confirmation_and_payout_through_the_forms(app, session, world):
    w, deal = world.w, world.deal
    op = client_for(app, world.op)
    url = f"{OP}/deals/{deal.ref}?lang=en"
    page = page_of(op.get(url))
    assert "The price is not fully in yet." in page and "The exchange has not confirmed the transfer." in page
    assert 'name="payout-confirm"' not in page and 'name="transfer-evidence"' in page
    assert Money(owed(session, deal)).format() in page
    # A forged payout is refused with the service's reason; nothing moves.
    entries = count_rows(session, JournalEntry)
    r = post(op, url, f"{OP}/deals/{deal.ref}/payout?lang=en", {"payout-confirm": "y"})
    assert r.status_code == 409 and "not fully in" in form_error(page_of(r))
    assert count_rows(session, JournalEntry) == entries
    sw.pay(session, w, owed(session, deal), PaymentPurpose.PRICE, deal.ref)
    session.commit()
    page = page_of(op.get(url))
    assert "✔ Price held in escrow" in page and "Settled through the exchange" not in page
    assert "The price is not fully in yet." not in page
    action = f"{OP}/deals/{deal.ref}/transfer?lang=en"
    evidence = "国家知识产权局已于 2026-03-20 办理专利权转让登记 " + XSS
    r = post(op, url, action, {"transfer-evidence": evidence, "transfer-document_sha256": "xyz",
                               "transfer-confirm": "y"})
    assert r.status_code == 422 and "64 hexadecimal" in error_beside(page_of(r), "transfer-document_sha256")
    r = post(op, url, action, {"transfer-evidence": "", "transfer-confirm": "y"})
    assert r.status_code == 422 and "required" in error_beside(page_of(r), "transfer-evidence")
    assert settlement(session, deal).transfer_confirmed_at is None
    r = post(op, url, action, {"transfer-evidence": evidence, "transfer-document_sha256": "AB" * 32,
                               "transfer-confirm": "y"})
    assert r.status_code == 303
    page = page_of(op.get(url))
    assert "&lt;script&gt;" in page and XSS not in page and ("ab" * 32) in page
    assert 'name="payout-confirm"' in page
    st = settlement(session, deal)
    net = Money(st.price_fen - st.seller_fee_fen).format()
    assert net in page
    r = post(op, url, f"{OP}/deals/{deal.ref}/payout?lang=en", {})
    assert r.status_code == 422 and "Tick the box" in error_beside(page_of(r), "payout-confirm")
    r = post(op, url, f"{OP}/deals/{deal.ref}/payout?lang=en", {"payout-confirm": "y"})
    assert r.status_code == 303
    st = settlement(session, deal)
    assert st.state == SettlementState.PAID_OUT and st.paid_out_at is not None
    assert session.scalar(sa.select(Disbursement).where(Disbursement.deal_id == deal.id)).amount_fen == \
        st.price_fen - st.seller_fee_fen
    page = page_of(op.get(url))
    assert "✔ Settled through the exchange" in page and "The seller has been paid out." in page
    # Sending the payout form again pays nothing more.
    entries = count_rows(session, JournalEntry)
    assert post(op, url, f"{OP}/deals/{deal.ref}/payout", {"payout-confirm": "y"}).status_code == 303
    assert count_rows(session, JournalEntry) == entries and count_rows(session, Disbursement) == 1
    sw.check_ledger(session)
    assert svc.verify_ledger(session).ok
    # The seller sees the payout on its own page.
    mine = page_of(client_for(app, world.seller).get("/my/settlement?lang=en"))
    assert net in mine and "Settled through the exchange" in mine


def test_instalment_plan_form(app, session, world):
    deal = world.deal
    op = client_for(app, world.op)
    url, action = f"{OP}/deals/{deal.ref}?lang=en", f"{OP}/deals/{deal.ref}/plan?lang=en"
    good = {"plan-down_ratio": "0.40", "plan-count": "3", "plan-interval_months": "2", "plan-first_due": "",
            "plan-confirm": "y"}
    for over, field, message in [({"plan-down_ratio": "abc"}, "plan-down_ratio", "fraction above 0"),
                                 ({"plan-down_ratio": "NaN"}, "plan-down_ratio", "fraction above 0"),
                                 ({"plan-down_ratio": "0.1"}, "plan-down_ratio", "30"),
                                 ({"plan-count": "1"}, "plan-count", "between 2 and 24"),
                                 ({"plan-count": "12", "plan-interval_months": "2"}, "plan-count", "must fall due by")]:
        r = post(op, url, action, {**good, **over})
        assert r.status_code == 422, (over, page_of(r)[:500])
        assert message in error_beside(page_of(r), field), over
    assert len(settlement(session, deal).obligations) == 1
    r = post(op, url, action, good)
    assert r.status_code == 303
    st = settlement(session, deal)
    assert st.plan_kind.value == "instalments" and len(st.obligations) == 3
    page = page_of(op.get(url))
    assert page.count("23:59") >= 3


def test_deal_lists_and_overdue_flags(app, session, clock, world):
    deal = world.deal
    op = client_for(app, world.op)
    for path in ("/deals", "/transfers", "/overdue"):
        assert deal.ref in page_of(op.get(OP + path)), path
    assert deal.ref not in page_of(op.get(OP + "/payouts"))
    assert "No payment is overdue" in page_of(op.get(f"{OP}/overdue?lang=en"))
    ob = settlement(session, deal).obligations[0]
    clock.set(sw.shanghai_end(ob.due_on) + timedelta(hours=1))
    page = page_of(op.get(f"{OP}/overdue?lang=en"))
    assert "1 payment overdue" in page and 'class="late"' in page
    assert "1 payment overdue" in page_of(op.get(f"{OP}/deals?lang=en"))
    assert "Overdue" in page_of(op.get(f"{OP}/deals/{deal.ref}?lang=en"))


# -- releases and refunds -------------------------------------------------------------------------------------
def test_release_a_losers_deposit_now(app, session, world):
    loser_reg = world.w.regs[0]
    op = client_for(app, world.op)
    page = page_of(op.get(f"{OP}/refunds?lang=en"))
    assert loser_reg.ref in page and "not the winner" in page
    prefix = f"rel-{loser_reg.ref}"
    r = post(op, f"{OP}/refunds", f"{OP}/refunds/release/{loser_reg.ref}?lang=en", {})
    assert r.status_code == 422 and "Tick the box" in error_beside(page_of(r), f"{prefix}-confirm")
    r = post(op, f"{OP}/refunds", f"{OP}/refunds/release/{loser_reg.ref}", {f"{prefix}-confirm": "y"})
    assert r.status_code == 303
    session.expire_all()
    assert svc.holds.hold_of(session, loser_reg.id).state.value == "released"
    assert f'id="{loser_reg.ref}"' not in page_of(op.get(f"{OP}/refunds"))
    sw.check_ledger(session)


def test_refund_free_cash_once(app, session, world):
    seller = world.seller.party
    available = ledger.available_cash_fen(session, seller)
    assert available > 0  # the seller's share of the forfeited deposit
    op = client_for(app, world.op)
    assert f"{OP}/refunds/{seller.ref}" in page_of(op.get(f"{OP}/refunds"))
    url = f"{OP}/refunds/{seller.ref}?lang=en"
    page = page_of(op.get(url))
    token = re.search(r'name="form_token"[^>]*value="([0-9a-f]+)"', page).group(1)
    base = {"reason": "没收保证金中卖方分得部分，退回卖方账户", "confirm": "y", "form_token": token}
    for amount, message in [("abc", "Enter an amount in yuan"), ("-1", "more than zero"),
                            (Money(available + 1).format(symbol=False), "less free cash")]:
        r = post(op, url, url, {**base, "amount": amount})
        assert r.status_code == 422, amount
        assert message in error_beside(page_of(r), "amount"), amount
    assert count_rows(session, Disbursement) == 0
    data = {**base, "amount": Money(available).format(symbol=False)}
    r = post(op, url, url, data)
    assert r.status_code == 303
    r = post(op, url, url, data)  # the same form again: no second refund
    assert r.status_code == 303
    assert "already recorded" in flashes(page_of(op.get(r.headers["Location"] + "?lang=en")))
    assert count_rows(session, Disbursement) == 1
    assert ledger.available_cash_fen(session, seller) == 0
    sw.check_ledger(session)


# -- reports ----------------------------------------------------------------------------------------------
def test_trial_balance_and_daily_report(app, session, world):
    suspense_receipt(session, world.w, 12_300, payer="丙公司")
    op = client_for(app, world.op)
    page = page_of(op.get(f"{OP}/trial-balance?lang=en"))
    assert "The ledger verifies" in page and "balanced" in page and "suspense" in page
    assert 'href="/api/v1/settlement/trial-balance.csv"' in page
    csv = op.get("/api/v1/settlement/trial-balance.csv")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    day = svc.common.today(world.w.clock).isoformat()
    page = page_of(op.get(f"{OP}/daily?lang=en&day={day}"))
    assert "丙公司" in page and "¥123.00" in page and f"daily.csv?day={day}" in page
    r = op.get(f"{OP}/daily?lang=en&day=tomorrow")
    assert r.status_code == 422 and "Not a valid date" in error_beside(page_of(r), "day")
    assert op.get(f"/api/v1/settlement/reports/daily.csv?day={day}").status_code == 200


# -- credit ------------------------------------------------------------------------------------------------
def test_credit_record_and_a_manual_event(app, session, world):
    op = client_for(app, world.op)
    r = op.get(f"{OP}/credit?lang=en&party=P20269999")
    assert r.status_code == 404 and "No party has this reference" in error_beside(page_of(r), "party")
    for path in ("credit", "instruments", "pledges"):
        r = op.get(f"{OP}/{path}?lang=en&party=P%07")
        assert r.status_code == 422 and "letters, digits" in error_beside(page_of(r), "party"), path
    forfeiter = world.w.buyers[2].party  # did not bid: its deposit was forfeited
    page = page_of(op.get(f"{OP}/credit?lang=en"))
    assert forfeiter.ref in page
    page = page_of(op.get(f"{OP}/credit?lang=en&party={forfeiter.ref}"))
    assert "Deposit forfeited" in page and "Starting score" in page and "score 65 of 100" in page
    url = f"{OP}/credit/{forfeiter.ref}/events?lang=en"
    token = re.search(r'name="form_token"[^>]*value="([0-9a-f]+)"', page).group(1)
    r = post(op, f"{OP}/credit?party={forfeiter.ref}", url, {"kind": "dispute", "note": "", "confirm": "y",
                                                              "form_token": token})
    assert r.status_code == 422 and "required" in error_beside(page_of(r), "note")
    r = post(op, f"{OP}/credit?party={forfeiter.ref}", url, {"kind": "dispute", "occurred_on": "2030-01-01",
                                                              "note": "合同纠纷", "confirm": "y", "form_token": token})
    assert r.status_code == 422 and "future" in error_beside(page_of(r), "occurred_on")
    dispute = {"kind": "dispute", "note": "合同纠纷 " + XSS, "confirm": "y", "form_token": token}
    assert post(op, f"{OP}/credit?party={forfeiter.ref}", url, dispute).status_code == 303
    assert post(op, f"{OP}/credit?party={forfeiter.ref}", url, dispute).status_code == 303  # sent twice: once
    page = page_of(op.get(f"{OP}/credit?lang=en&party={forfeiter.ref}"))
    assert "Dispute" in page and "score 57 of 100" in page and "Credit grade D" in page
    assert "&lt;script&gt;" in page and XSS not in page
    # The member sees its own grade on its page.
    mine = page_of(client_for(app, world.w.buyers[2]).get("/my/settlement?lang=en"))
    assert "Credit grade D" in mine and "may not register" in mine


def test_instrument_forms(app, session, clock, world):
    op = client_for(app, world.op)
    new = f"{OP}/instruments/new?lang=en"
    page = page_of(op.get(new))
    token = re.search(r'name="form_token"[^>]*value="([0-9a-f]+)"', page).group(1)
    expires = (clock.now().date() + timedelta(days=365)).isoformat()
    good = {"party_ref": world.outsider.party.ref, "kind": "guarantee_letter", "issuer": "中国银行上海市分行",
            "reference": "BOC-LG-001", "amount": "200,000", "issued_on": "", "expires_on": expires,
            "document_sha256": "", "note": "", "form_token": token}
    for over, field, message in [({"amount": "abc"}, "amount", "Enter an amount in yuan"),
                                 ({"party_ref": "P20269999"}, "party_ref", "No party has this reference"),
                                 ({"expires_on": "2026-01-01"}, "expires_on", "already expired"),
                                 ({"document_sha256": "12"}, "document_sha256", "64 hexadecimal")]:
        r = post(op, new, new, {**good, **over})
        assert r.status_code in (404, 422), over
        assert message in error_beside(page_of(r), field), over
    assert count_rows(session, CreditInstrument) == 0
    r = post(op, new, new, good)
    assert r.status_code == 303
    again = post(op, new, new, good)  # the same rendered form again
    assert again.status_code == 303 and again.headers["Location"] == r.headers["Location"]
    assert count_rows(session, CreditInstrument) == 1
    inst = session.scalar(sa.select(CreditInstrument))
    page = page_of(op.get(f"{OP}/instruments/{inst.ref}?lang=en"))
    assert "¥200,000.00" in page and "Bank guarantee letter" in page
    assert inst.ref in page_of(op.get(f"{OP}/instruments?party={world.outsider.party.ref}"))
    url = f"{OP}/instruments/{inst.ref}/revoke?lang=en"
    r = post(op, f"{OP}/instruments/{inst.ref}", url, {"revoke-reason": "保函退回", "revoke-confirm": "y"})
    assert r.status_code == 303
    session.expire_all()
    assert session.get(CreditInstrument, inst.id).state.value == "revoked"


def test_pledge_forms(app, session, clock, world):
    asset = other_asset(session, clock, world.seller)
    session.commit()
    op = client_for(app, world.op)
    new = f"{OP}/pledges/new?lang=en"
    token = re.search(r'name="form_token"[^>]*value="([0-9a-f]+)"', page_of(op.get(new))).group(1)
    good = {"pledgor_ref": world.seller.party.ref, "pledgee_ref": "", "pledgee_name": "上海农商银行",
            "asset_refs": asset.ref, "secured_amount": "5,000,000", "secured_debt": "流动资金贷款",
            "starts_on": clock.now().date().isoformat(), "ends_on": "", "registration_number": "",
            "note": "", "form_token": token}
    for over, field, message in [({"secured_amount": "0"}, "secured_amount", "more than zero"),
                                 ({"asset_refs": "A20269999"}, "asset_refs", "No asset has this reference"),
                                 ({"pledgor_ref": world.outsider.party.ref}, "asset_refs", "does not hold")]:
        r = post(op, new, new, {**good, **over})
        assert r.status_code in (404, 422), over
        assert message in error_beside(page_of(r), field), over
    assert count_rows(session, Pledge) == 0
    r = post(op, new, new, good)
    assert r.status_code == 303, page_of(r)
    p = session.scalar(sa.select(Pledge))
    url = f"{OP}/pledges/{p.ref}?lang=en"
    r = post(op, url, f"{OP}/pledges/{p.ref}/consent?lang=en", {"consent-mode": "assignment",
                                                                 "consent-note": "", "consent-confirm": "y"})
    assert r.status_code == 422 and "Give a reason" in error_beside(page_of(r), "consent-note")
    r = post(op, url, f"{OP}/pledges/{p.ref}/consent", {"consent-mode": "assignment",
                                                        "consent-note": "质权人书面同意函", "consent-confirm": "y"})
    assert r.status_code == 303
    assert "consent: Assignment" in page_of(op.get(url))
    r = post(op, url, f"{OP}/pledges/{p.ref}/release", {"release-note": "贷款已清偿，质押已注销",
                                                        "release-confirm": "y"})
    assert r.status_code == 303
    session.expire_all()
    assert session.get(Pledge, p.id).state.value == "released"
    assert 'name="release-confirm"' not in page_of(op.get(url))


# -- the buyer's page ----------------------------------------------------------------------------------------
def test_my_money_shows_what_is_owed_and_how_to_pay(app, session, clock, world):
    deal = world.deal
    due = owed(session, deal)
    ob = settlement(session, deal).obligations[0]
    page = page_of(client_for(app, world.winner).get("/my/settlement?lang=en"))
    assert Money(due).format() in page and f"{ob.due_on.isoformat()} 23:59" in page and "Beijing time" in page
    assert "settlement account" in page and f'<b class="sha">{deal.ref}</b>' in page
    assert "Credit grade" in page
    # Chinese by default.
    zh = page_of(client_for(app, world.winner).get("/my/settlement"))
    assert "我的资金" in zh and "北京时间" in zh
    # Paid: nothing more is owed and the instructions go.
    sw.pay(session, world.w, due, PaymentPurpose.PRICE, deal.ref)
    session.commit()
    page = page_of(client_for(app, world.winner).get("/my/settlement?lang=en"))
    assert '<b data-testid="outstanding">¥0.00</b>' in page and "✔ Price held in escrow" in page
    assert f'<b class="sha">{deal.ref}</b>' not in page


def test_my_money_deposits_and_release_on_request(app, session, clock, world):
    w2 = sw.build(session, clock, buyers=1)  # a pending deposit in another listing
    reg = w2.regs[0]
    session.commit()
    pending = page_of(client_for(app, w2.buyers[0]).get("/my/settlement?lang=en"))
    assert Money(reg.deposit_fen).format() in pending and f'<b class="sha">{reg.ref}</b>' in pending
    assert "deposit account" in pending and "(Beijing time)" in pending
    loser = client_for(app, world.loser)
    ref = world.w.regs[0].ref
    page = page_of(loser.get("/my/settlement?lang=en"))
    assert "Release my deposit now" in page
    r = post(loser, "/my/settlement", f"/my/settlement/deposits/{ref}/release?lang=en", {})
    assert r.status_code == 422 and "Tick the box" in error_beside(page_of(r), f"rel-{ref}-confirm")
    r = post(loser, "/my/settlement", f"/my/settlement/deposits/{ref}/release", {f"rel-{ref}-confirm": "y"})
    assert r.status_code == 303
    session.expire_all()
    assert svc.holds.load_hold(session, ref).state.value == "released"
    # Someone else's deposit is not found for a member.
    winner_ref = world.w.regs[1].ref
    r = post(client_for(app, world.outsider), "/my/settlement", f"/my/settlement/deposits/{winner_ref}/release",
             {f"rel-{winner_ref}-confirm": "y"})
    assert r.status_code == 404
    sw.check_ledger(session)


def test_a_deal_the_seller_never_signed_shows_as_called_off(app, session, clock):
    """Buyer signed, seller did not: both parties' money pages and the operator's deal page say the
    deal was called off; the buyer's deposit shows as released; nothing can be paid out."""
    from contracts import jobs as contract_jobs
    from contracts import service as contracts

    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    contract = contracts.contract_for_deal(session, deal.id)
    contracts.sign_contract(session, Actor.of(w.buyers[1]), contract.ref, contract.text_sha256, clock=clock)
    clock.set(deal.sign_by)
    assert contract_jobs.sweep_signing_deadlines(session, clock)["seller"] == 1
    session.commit()
    buyer = page_of(client_for(app, w.buyers[1]).get("/my/settlement?lang=en"))
    assert "Called off" in buyer and "The deal was called off before it took effect." in buyer
    assert "your deposit is released" in buyer.lower() and "Released" in buyer
    assert f'<b class="sha">{deal.ref}</b>' not in buyer  # no payment instructions
    zh = page_of(client_for(app, w.buyers[1]).get("/my/settlement"))
    assert "已撤销" in zh
    seller = page_of(client_for(app, w.seller).get("/my/settlement?lang=en"))
    assert "The deal was called off before it took effect." in seller
    op = page_of(client_for(app, w.op).get(f"{OP}/deals/{deal.ref}?lang=en"))
    assert "called off before it took effect; there is nothing to pay out" in op
    # The listing ended (终结), and its seller reads why; its auction stays linked from it.
    mine = page_of(client_for(app, w.seller).get("/my/listings"))
    assert "已终结：卖方未在签约期限内签署合同" in mine
    listing_page = page_of(client_for(app, w.buyers[1]).get(f"/listings/{w.listing.ref}?lang=en"))
    assert "Go to auction AU" in listing_page
    # Calling off a deal that has taken effect is not this path's to do.
    from auctions.service import call_off_for_seller_default, deals
    from exchange.errors import StateError

    other = sw.auction_deal(session, sw.build(session, clock, buyers=2))
    deals.mark_in_force(session, Actor.system("test"), other.ref, clock=clock)
    with pytest.raises(StateError) as exc:
        call_off_for_seller_default(session, Actor.system("test"), other.ref, "x", clock=clock)
    assert exc.value.code == "deal_not_struck"


# -- escaping and the console ---------------------------------------------------------------------------------
def test_user_text_is_escaped(app, session, world):
    n = sw.pay(session, world.w, 7_700, PaymentPurpose.OTHER, None, payer=XSS)
    session.commit()
    op = client_for(app, world.op)
    for url in (f"{OP}/payments", f"{OP}/payments/{n.ref}", f"{OP}/daily"):
        page = page_of(op.get(url))
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and XSS not in page, url
    r = post(op, f"{OP}/payments/new", f"{OP}/payments/new", notification_data(bank_reference="XSS-1",
                                                                                remittance_info=XSS))
    assert r.status_code == 303
    page = page_of(op.get(r.headers["Location"]))
    assert XSS not in page and "&lt;script&gt;" in page


def test_console_counts_the_settlement_desk(app, session, clock, world):
    w, deal = world.w, world.deal
    op = client_for(app, world.op)
    page = page_of(op.get("/operator"))
    assert stat(page, "settlement_suspense") == (0, 0)
    assert stat(page, "settlement_transfers") == (1, 0)
    assert stat(page, "settlement_payouts") == (0, 0)
    assert stat(page, "settlement_refunds")[0] == 2  # the loser's deposit and the seller's forfeiture share
    assert stat(page, "settlement_obligations") == (1, 0)
    assert f'href="{OP}/payments"' in page and f'href="{OP}/transfers"' in page
    suspense_receipt(session, w, 5_000)
    sw.pay(session, w, owed(session, deal), PaymentPurpose.PRICE, deal.ref)
    svc.confirm_transfer(session, w.op_actor, deal.ref, evidence="登记完成", clock=clock)
    session.commit()
    page = page_of(op.get("/operator"))
    assert stat(page, "settlement_suspense") == (1, 0)
    assert stat(page, "settlement_transfers") == (0, 0)
    assert stat(page, "settlement_payouts") == (1, 0)
    assert stat(page, "settlement_obligations") == (0, 0)
    # A day later the receipt still waits, and the loser's release date has passed.
    clock.set(clock.now() + timedelta(days=10))
    page = page_of(op.get("/operator"))
    assert stat(page, "settlement_suspense") == (1, 1)
    assert stat(page, "settlement_refunds") == (2, 1)
    # The desk's own overview shows the same queues, to auditors too.
    assert stat(page_of(client_for(app, world.auditor).get(OP)), "settlement_payouts") == (1, 0)


def test_deal_links_from_the_auction_pages(app, world):
    page = page_of(client_for(app, world.winner).get("/my/deals"))
    assert f'href="/my/settlement#{world.deal.ref}"' in page
