"""Credit enhancement in the database: the record and grade set the deposit and may bar a party;
instruments stand in for cash deposits up to their amount while valid; pledges block sale and
exclusive licences through the listings package's encumbrances until consent or release."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from exchange.actors import Actor
from exchange.errors import DomainError
from listings import domain as ld
from listings import service as ls
from listings.models import Encumbrance
from settlement import service as svc
from settlement.domain import CreditEventKind, HoldState
from settlement.models import InstrumentState, MatchTarget, PaymentPurpose
from settlement.service import ledger
from settlement.service.credit import record_credit_event
from tests import settlement_world as sw


def _grade_a(session, clock, party_id: int) -> None:  # type: ignore[no-untyped-def]
    for i in range(4):
        record_credit_event(session, party_id, CreditEventKind.COMPLETED_DEAL, clock.now().date(),
                            source_key=f"t:{party_id}:{i}", recorded_by="test", clock=clock)


def test_grade_sets_the_deposit_and_bars_grade_d(session, clock):
    w = sw.build(session, clock, buyers=0, register=False)
    from tests.factories import make_member

    good, bad, plain = (make_member(session, clock) for _ in range(3))
    _grade_a(session, clock, good.party_id)
    for kind in (CreditEventKind.DEFAULT, CreditEventKind.FORFEITURE):
        record_credit_event(session, bad.party_id, kind, clock.now().date(), source_key=f"t:bad:{kind}",
                            recorded_by="test", clock=clock)
    rec = svc.credit_record(session, good.party, clock=clock)
    assert rec.grade.value == "A" and rec.as_dict(with_reasons=True)["reasons"][0]["text"] == "starting score 80"
    reg = ls.register_interest(session, Actor.of(good), w.listing.ref, "符合条件", clock=clock)
    assert reg.deposit_fen == w.listing.deposit_fen * 8 // 10
    assert ls.register_interest(session, Actor.of(plain), w.listing.ref, "符合条件",
                                clock=clock).deposit_fen == w.listing.deposit_fen
    with pytest.raises(DomainError) as e:
        ls.register_interest(session, Actor.of(bad), w.listing.ref, "符合条件", clock=clock)
    assert e.value.code == "not_eligible"  # the listings rule's code for a credit bar
    bad_record = svc.credit_record(session, bad.party, clock=clock).as_dict(with_reasons=True)
    assert bad_record["grade"] == "D" and bad_record["barred"]
    assert any("default" in r["text"] for r in bad_record["reasons"])
    assert "reasons" not in svc.credit_record(session, bad.party, clock=clock).as_dict(with_reasons=False)


def test_grade_c_deposit_is_capped_at_thirty_percent_of_the_price(session, clock):
    w = sw.build(session, clock, buyers=0, register=False, deposit_fen=30_000_000)
    from tests.factories import make_member

    c = make_member(session, clock)
    record_credit_event(session, c.party_id, CreditEventKind.LATE_PAYMENT, clock.now().date(), source_key="t:c1",
                        recorded_by="t", clock=clock)
    record_credit_event(session, c.party_id, CreditEventKind.DISPUTE, clock.now().date(), source_key="t:c2",
                        recorded_by="t", clock=clock)
    assert svc.credit_record(session, c.party, clock=clock).grade.value == "C"
    q = svc.deposit_quote(session, c.party, 30_000_000, price_fen=100_000_000, clock=clock)
    assert q.required_fen == 30_000_000  # 150 % of 30 % would be 45 %: capped at 30 %
    reg = ls.register_interest(session, Actor.of(c), w.listing.ref, "符合条件", clock=clock)
    # The hold, recorded with the listing at hand, applies the cap and is what the buyer must pay.
    assert svc.holds.hold_of(session, reg.id).cash_fen == 30_000_000


def test_new_terms_requote_a_partly_covered_deposit_with_the_holds_own_cover(session, clock):
    """A pending hold half on a guarantee letter: when the deposit rises, the letter's cover the hold
    already had counts as free for its new quote (not as used by someone else); when the deposit
    falls to what the letter covers, the hold is funded at once."""
    from tests.factories import make_member

    w = sw.build(session, clock, buyers=0, register=False, price_fen=100_000_000, deposit_fen=20_000_000)
    buyer = make_member(session, clock)
    svc.create_instrument(session, w.op_actor, buyer.party.ref, {
        "kind": "guarantee_letter", "issuer": "中国银行上海市分行", "amount_fen": 15_000_000,
        "expires_on": clock.now().date() + timedelta(days=365)}, clock=clock)
    reg = ls.register_interest(session, Actor.of(buyer), w.listing.ref, "符合条件", clock=clock)
    hold = svc.holds.hold_of(session, reg.id)
    assert (reg.deposit_fen, hold.cover_fen, hold.state) == (5_000_000, 15_000_000, HoldState.PENDING)
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"deposit_fen": 25_000_000}, clock=clock)
    hold = svc.holds.hold_of(session, reg.id)
    assert (reg.deposit_fen, hold.amount_fen, hold.cash_fen, hold.cover_fen, hold.state) == \
        (10_000_000, 25_000_000, 10_000_000, 15_000_000, HoldState.PENDING)
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"deposit_fen": 12_000_000}, clock=clock)
    hold = svc.holds.hold_of(session, reg.id)
    assert (reg.deposit_fen, hold.cash_fen, hold.cover_fen, hold.state, hold.funded_by, reg.state.value) == \
        (0, 0, 12_000_000, HoldState.HELD, "instrument", "deposit_paid")
    sw.check_ledger(session)


def test_a_guarantee_letter_stands_in_for_the_deposit_while_valid(session, clock):
    w = sw.build(session, clock, buyers=0, register=False)
    from tests.factories import make_member

    buyer = make_member(session, clock)
    inst = svc.create_instrument(session, w.op_actor, buyer.party.ref, {
        "kind": "guarantee_letter", "issuer": "中国银行上海市分行", "amount_fen": 15_000_000,
        "expires_on": clock.now().date() + timedelta(days=365)}, clock=clock)
    reg = ls.register_interest(session, Actor.of(buyer), w.listing.ref, "符合条件", clock=clock)
    hold = svc.holds.hold_of(session, reg.id)
    # Fully covered: no cash due, held at once, and the registration is paid.
    assert (reg.deposit_fen, hold.cover_fen, hold.state, reg.state.value) == (0, 10_000_000, HoldState.HELD,
                                                                              "deposit_paid")
    view = svc.credit.instrument_view(session, inst, clock=clock)
    assert view["reserved_fen"] == 10_000_000 and view["available_fen"] == 5_000_000
    with pytest.raises(DomainError) as e:
        svc.revoke_instrument(session, w.op_actor, inst.ref, "returned", clock=clock)
    assert e.value.code == "instrument_in_use"
    with pytest.raises(DomainError) as e:
        svc.update_instrument(session, w.op_actor, inst.ref, {"amount_fen": 9_000_000}, clock=clock)
    assert e.value.code == "instrument_in_use"
    # A second listing: only 5,000,000 fen left on the letter; the rest in cash.
    w2 = sw.build(session, clock, buyers=0, register=False)
    reg2 = ls.register_interest(session, Actor.of(buyer), w2.listing.ref, "符合条件", clock=clock)
    hold2 = svc.holds.hold_of(session, reg2.id)
    assert (reg2.deposit_fen, hold2.cover_fen, hold2.state) == (5_000_000, 5_000_000, HoldState.PENDING)
    sw.pay_deposit(session, w2, reg2)
    assert svc.holds.hold_of(session, reg2.id).funded_by == "mixed"
    # Withdrawn after qualifying: the covered part is claimed under the letter.
    sw.qualify(session, w, reg)
    ls.withdraw_registration(session, Actor.of(buyer), reg.ref, "changed our mind", clock=clock)
    assert svc.settle_due_holds(session, clock)["forfeit"] == 1
    session.refresh(inst)
    assert inst.state == InstrumentState.CALLED and inst.claim_fen == 10_000_000
    assert ledger.balance_fen(session, ledger.receivable_key(buyer.party)) == 10_000_000
    assert ledger.available_cash_fen(session, w.seller.party) == 8_000_000
    # The bank pays the claim; the receipt is matched to the instrument.
    n = sw.pay(session, w, 10_000_000, PaymentPurpose.OTHER, None, payer="中国银行上海市分行")
    svc.match_notification(session, w.op_actor, n.ref, MatchTarget.INSTRUMENT, inst.ref, clock=clock)
    assert ledger.balance_fen(session, ledger.receivable_key(buyer.party)) == 0
    assert inst.claim_paid_fen == 10_000_000
    sw.check_ledger(session)


def test_an_expired_or_short_lived_instrument_covers_nothing(session, clock):
    w = sw.build(session, clock, buyers=0, register=False)
    from tests.factories import make_member

    buyer = make_member(session, clock)
    with pytest.raises(DomainError) as e:
        svc.create_instrument(session, w.op_actor, buyer.party.ref, {
            "kind": "ip_insurance", "issuer": "人保", "amount_fen": 1,
            "expires_on": clock.now().date() - timedelta(days=1)}, clock=clock)
    assert e.value.code == "instrument_expired"
    # Valid today but lapsing before publicity ends: no cover.
    svc.create_instrument(session, w.op_actor, buyer.party.ref, {
        "kind": "ip_insurance", "issuer": "人保", "amount_fen": 50_000_000,
        "expires_on": w.listing.publicity_end - timedelta(days=1)}, clock=clock)
    reg = ls.register_interest(session, Actor.of(buyer), w.listing.ref, "符合条件", clock=clock)
    hold = svc.holds.hold_of(session, reg.id)
    assert (hold.cover_fen, hold.cash_fen, hold.state) == (0, w.listing.deposit_fen, HoldState.PENDING)


def test_pledge_blocks_the_listing_until_consent_and_release(session, clock):
    w = sw.build(session, clock, buyers=0, register=False)
    from tests.factories import make_member

    bank = make_member(session, clock, party_name="浦发银行科技支行")
    p = svc.create_pledge(session, w.op_actor, svc.PledgeInput(
        pledgor_ref=w.seller.party.ref, pledgee_ref=bank.party.ref, pledgee_name="", secured_amount_fen=300_000_000,
        starts_on=clock.now().date(), ends_on=clock.now().date() + timedelta(days=365),
        asset_refs=[w.asset.ref], secured_debt="流动资金贷款"), clock=clock)
    enc = session.scalar(sa.select(Encumbrance).where(Encumbrance.pledge_ref == p.ref))
    assert enc.kind == ld.EncumbranceKind.PLEDGE and not enc.consent_to_transfer and enc.asset_id == w.asset.id
    with pytest.raises(DomainError) as e:
        svc.check_pledges_allow(session, w.asset.id, "assignment", clock.now().date())
    assert e.value.code == "pledged_without_consent"
    svc.check_pledges_allow(session, w.asset.id, "ordinary_licence", clock.now().date())
    # The listings rules see the pledge through the mirrored encumbrance.
    from listings.service.common import facts_for

    facts = facts_for(session, w.asset, w.seller.party_id, ld.TradingMode.ASSIGNMENT)
    assert "pledged_without_consent" in [x.code for x in ld.listing_problems(facts, clock.now().date())]
    svc.consent(session, w.op_actor, p.ref, "assignment", "质权人书面同意 2026-03-02", clock=clock)
    session.refresh(enc)
    assert enc.consent_to_transfer and p.consented_modes == ["assignment"]
    svc.check_pledges_allow(session, w.asset.id, "assignment", clock.now().date())
    with pytest.raises(DomainError):
        svc.check_pledges_allow(session, w.asset.id, "exclusive_licence", clock.now().date())
    svc.release_pledge(session, w.op_actor, p.ref, "贷款已清偿，质押登记已注销", clock=clock)
    session.refresh(enc)
    assert enc.released_on == clock.now().date() and p.state.value == "released"
    svc.check_pledges_allow(session, w.asset.id, "exclusive_licence", clock.now().date())
    assert svc.release_pledge(session, w.op_actor, p.ref, "again", clock=clock).state.value == "released"
    with pytest.raises(DomainError) as e:
        svc.consent(session, w.op_actor, p.ref, "assignment", "late", clock=clock)
    assert e.value.code == "pledge_already_released"


def test_pledge_refuses_assets_the_pledgor_does_not_hold_and_non_staff(session, clock):
    w = sw.build(session, clock, buyers=1, register=False)
    cmd = svc.PledgeInput(pledgor_ref=w.buyers[0].party.ref, pledgee_name="某银行", secured_amount_fen=1,
                          starts_on=clock.now().date(), asset_refs=[w.asset.ref])
    with pytest.raises(DomainError) as e:
        svc.create_pledge(session, w.op_actor, cmd, clock=clock)
    assert e.value.code == "pledgor_not_holder"
    with pytest.raises(DomainError) as e:
        svc.create_pledge(session, Actor.of(w.seller), cmd, clock=clock)
    assert e.value.code == "forbidden_role"
