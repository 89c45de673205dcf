"""Contracts through the services: drafted from every deal, signed over one exact text,
in force with the second signature, and the default paths when a side does not sign."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa

from auctions.models import DealMethod, DealState
from auctions.service import deals as deal_service
from contracts import jobs
from contracts import service as svc
from contracts.service import contracts as contract_service
from contracts.domain import ContractState, ContractSubtype, ContractType, contract_text_fingerprint
from exchange.actors import Actor
from exchange.clock import BUSINESS_TZ
from exchange.errors import ConflictError, NotFoundError, PermissionDeniedError, RuleViolationError, StateError
from exchange.models import AuditEvent
from tests.factories import make_member
from tests.integration.test_contracts_support import (
    buyer_user,
    contract_of,
    make_deal,
    operator,
    seller_user,
    sign_both,
)


def actions(session, ref: str) -> list[str]:  # type: ignore[no-untyped-def]
    return list(session.scalars(sa.select(AuditEvent.action).where(AuditEvent.subject_ref == ref)
                                .order_by(AuditEvent.seq)))


def test_every_struck_deal_gets_its_contract_with_a_deterministic_text(session, clock):
    deal = make_deal(session, clock, price_fen=123_456_789)
    contract = contract_of(session, deal)
    assert contract.state is ContractState.DRAFTED
    assert (contract.contract_type, contract.subtype) == (ContractType.TRANSFER, ContractSubtype.TRANSFER_PATENT_RIGHT)
    text = contract.text
    for expected in (deal.seller.name, deal.seller.id_code, deal.buyer.name, deal.buyer.id_code, deal.asset.title,
                     deal.asset.number, "¥1,234,567.89", "转让方 Seller", "受让方 Buyer", "第八条 合同生效", deal.ref,
                     contract.ref):
        assert expected in text
    assert contract.text_sha256 == contract_text_fingerprint(text)
    assert actions(session, contract.ref) == ["contract.drafted"]
    # The same records give the same text, character for character.
    again = svc.regenerate_text(session, operator(session, clock), contract.ref, clock=clock)
    assert again.text == text and again.text_sha256 == contract.text_sha256
    # Drafting twice for one deal gives the one contract.
    assert svc.draft_contract(session, deal, clock=clock).id == contract.id


@pytest.mark.parametrize("mode, kind, subtype, words", [
    ("exclusive_licence", "invention_patent", ContractSubtype.LICENCE_EXCLUSIVE, ["许可方 Licensor", "独占性", "60个月"]),
    ("sole_licence", "utility_model", ContractSubtype.LICENCE_SOLE, ["排他", "备案"]),
    ("ordinary_licence", "design_patent", ContractSubtype.LICENCE_ORDINARY, ["甲方可以自行实施"]),
    ("assignment", "technical_secret", ContractSubtype.TRANSFER_TECHNICAL_SECRET, ["不得再使用或向他人披露"]),
    ("capital_contribution", "patent_application_right", ContractSubtype.TRANSFER_PATENT_APPLICATION_RIGHT,
     ["作价出资"]),
])
def test_the_text_follows_mode_and_scope(session, clock, mode, kind, subtype, words):
    deal = make_deal(session, clock, mode=mode, kind=kind)
    contract = contract_of(session, deal)
    assert contract.subtype is subtype
    for word in words:
        assert word in contract.text


def test_open_licence_deal_contract(session, clock):
    deal = make_deal(session, clock, mode="open_licence", method=DealMethod.OPEN_LICENCE, price_fen=5_000_000,
                     terms={"open_licence": "OL2026-000001", "fee_kind": "lump_sum", "royalty_rate": None,
                            "term_start": "2026-03-01", "term_end": "2028-02-29"})
    contract = contract_of(session, deal)
    assert contract.subtype is ContractSubtype.LICENCE_ORDINARY
    assert "2026-03-01 至 2028-02-29" in contract.text and "OL2026-000001" in contract.text


def test_both_signatures_put_the_contract_and_the_deal_in_force(session, clock):
    deal = make_deal(session, clock)
    contract = contract_of(session, deal)
    clock.advance(hours=2)
    first = svc.sign_contract(session, Actor.of(buyer_user(deal)), contract.ref, contract.text_sha256, clock=clock)
    assert first.state is ContractState.PARTLY_SIGNED and deal.state is DealState.STRUCK
    clock.advance(hours=1)
    second = svc.sign_contract(session, Actor.of(seller_user(deal)), contract.ref, contract.text_sha256, clock=clock)
    assert second.state is ContractState.IN_FORCE and second.in_force_at == clock.now()
    assert [(s.side.value, s.text_sha256) for s in second.signatures] == [("buyer", contract.text_sha256),
                                                                         ("seller", contract.text_sha256)]
    session.refresh(deal)
    assert deal.state is DealState.IN_FORCE and deal.in_force_at == clock.now()
    assert actions(session, contract.ref) == ["contract.drafted", "contract.signed", "contract.signed"]
    assert "deal.in_force" in actions(session, deal.ref)


def test_signature_refusals(session, clock):
    deal = make_deal(session, clock)
    contract = contract_of(session, deal)
    seller = Actor.of(seller_user(deal))
    with pytest.raises(ConflictError) as exc:
        svc.sign_contract(session, seller, contract.ref, "0" * 64, clock=clock)
    assert exc.value.code == "contract_text_mismatch"
    svc.sign_contract(session, seller, contract.ref, contract.text_sha256, clock=clock)
    with pytest.raises(ConflictError) as exc:
        svc.sign_contract(session, seller, contract.ref, contract.text_sha256, clock=clock)
    assert exc.value.code == "already_signed"
    stranger = Actor.of(make_member(session, clock))
    with pytest.raises(NotFoundError) as exc:
        svc.sign_contract(session, stranger, contract.ref, contract.text_sha256, clock=clock)
    assert exc.value.code == "contract_not_found"
    with pytest.raises(PermissionDeniedError) as exc:
        svc.sign_contract(session, operator(session, clock), contract.ref, contract.text_sha256, clock=clock)
    assert exc.value.code == "not_a_party"


def test_the_text_can_change_until_the_first_signature(session, clock):
    deal = make_deal(session, clock)
    contract = contract_of(session, deal)
    op = operator(session, clock)
    old = contract.text_sha256
    edited = svc.edit_text(session, op, contract.ref, contract.text + "\n补充条款：双方另行约定培训一次。", "双方协商补充",
                           clock=clock)
    assert edited.text_edited and edited.text_sha256 != old
    # A signature over the old text is refused: the signer saw another text.
    with pytest.raises(ConflictError) as exc:
        svc.sign_contract(session, Actor.of(seller_user(deal)), contract.ref, old, clock=clock)
    assert exc.value.code == "contract_text_mismatch"
    # Items are listed in the generated text: refused while the text is a hand edit.
    with pytest.raises(StateError) as exc:
        svc.set_non_technical_items(session, op, contract.ref, [svc.ItemInput("设备", 100)], clock=clock)
    assert exc.value.code == "contract_text_edited"
    svc.sign_contract(session, Actor.of(seller_user(deal)), contract.ref, edited.text_sha256, clock=clock)
    for attempt in (lambda: svc.edit_text(session, op, contract.ref, "另一个文本", "改", clock=clock),
                    lambda: svc.regenerate_text(session, op, contract.ref, clock=clock),
                    lambda: svc.set_non_technical_items(session, op, contract.ref, [], clock=clock)):
        with pytest.raises(StateError) as exc:
            attempt()
        assert exc.value.code == "contract_text_locked"
    assert actions(session, contract.ref) == ["contract.drafted", "contract.text_edited", "contract.signed"]


def test_non_technical_items_are_listed_and_reduce_the_technology_amount(session, clock):
    deal = make_deal(session, clock, price_fen=100_000_000)
    contract = contract_of(session, deal)
    op = operator(session, clock)
    svc.set_non_technical_items(session, op, contract.ref, [svc.ItemInput("中试设备一套", 15_000_000),
                                                            svc.ItemInput("原材料", 5_000_000)], clock=clock)
    assert [i.description for i in contract.non_technical_items] == ["中试设备一套", "原材料"]
    assert svc.technology_amount_of(contract).fen == 80_000_000
    assert "中试设备一套：¥150,000.00" in contract.text and "技术交易额 Technology transaction amount：¥800,000.00" \
        in contract.text
    assert contract.text_sha256 == contract_text_fingerprint(contract.text)
    with pytest.raises(RuleViolationError) as exc:
        svc.set_non_technical_items(session, op, contract.ref, [svc.ItemInput("设备", 100_000_001)], clock=clock)
    assert exc.value.code == "non_technical_exceeds_deal"
    svc.set_non_technical_items(session, op, contract.ref, [], clock=clock)
    assert svc.technology_amount_of(contract).fen == 100_000_000 and "无非技术性项目" in contract.text


def test_a_buyer_that_does_not_sign_defaults(session, clock):
    deal = make_deal(session, clock)
    contract = contract_of(session, deal)
    svc.sign_contract(session, Actor.of(seller_user(deal)), contract.ref, contract.text_sha256, clock=clock)
    clock.set(deal.sign_by)
    # The deadline holds as soon as it passes, whether or not the sweep has run.
    with pytest.raises(StateError) as exc:
        svc.sign_contract(session, Actor.of(buyer_user(deal)), contract.ref, contract.text_sha256, clock=clock)
    assert exc.value.code == "signing_deadline_passed"
    assert jobs.sweep_signing_deadlines(session, clock) == {"buyer": 1, "seller": 0}
    session.refresh(deal)
    assert deal.state is DealState.DEFAULTED and "买方未在签约期限内签署合同" in deal.close_reason
    assert contract.state is ContractState.CANCELLED and contract.closed_at == clock.now()
    assert jobs.sweep_signing_deadlines(session, clock) == {"buyer": 0, "seller": 0}  # safe to run twice
    assert actions(session, contract.ref)[-1] == "contract.cancelled"


def test_a_seller_that_does_not_sign_cancels_the_deal_and_releases_the_buyer(session, clock, monkeypatch):
    released = []
    monkeypatch.setattr(contract_service, "ON_SELLER_FAILED_TO_SIGN", [lambda s, d, c: released.append(d.ref)])
    deal = make_deal(session, clock)
    contract = contract_of(session, deal)
    svc.sign_contract(session, Actor.of(buyer_user(deal)), contract.ref, contract.text_sha256, clock=clock)
    clock.set(deal.sign_by - timedelta(seconds=1))
    assert jobs.sweep_signing_deadlines(session, clock) == {"buyer": 0, "seller": 0}  # not yet
    clock.set(deal.sign_by)
    assert jobs.sweep_signing_deadlines(session, clock) == {"buyer": 0, "seller": 1}
    session.refresh(deal)
    assert deal.state is DealState.CANCELLED and "卖方未在签约期限内签署合同" in deal.close_reason
    assert contract.state is ContractState.CANCELLED and "卖方" in contract.close_reason
    assert released == [deal.ref]
    assert "contract.seller_default" in actions(session, contract.ref)


def test_signing_deadline_counts_working_days_across_national_day(session, clock):
    # Struck on Wed 30 Sep 2026: 1-7 Oct are holidays, Sat 10 Oct is a make-up working day,
    # so the third working day is Sat 10 Oct and signing stays open until its end.
    clock.set(datetime(2026, 9, 30, 15, 0, tzinfo=BUSINESS_TZ))
    deal = make_deal(session, clock)
    assert deal.sign_by == datetime(2026, 10, 11, 0, 0, tzinfo=BUSINESS_TZ)
    contract = contract_of(session, deal)
    clock.set(datetime(2026, 10, 10, 23, 59, tzinfo=BUSINESS_TZ))
    assert jobs.sweep_signing_deadlines(session, clock) == {"buyer": 0, "seller": 0}
    sign_both(session, clock, deal)
    assert contract.state is ContractState.IN_FORCE
    clock.set(datetime(2026, 10, 12, 9, 0, tzinfo=BUSINESS_TZ))
    assert jobs.sweep_signing_deadlines(session, clock) == {"buyer": 0, "seller": 0}


def test_a_default_after_taking_effect_terminates_the_contract(session, clock):
    deal = make_deal(session, clock)
    contract = sign_both(session, clock, deal)
    deal_service.record_default(session, Actor.system("test"), deal.ref, "买方未按期付款", clock=clock)
    assert contract.state is ContractState.TERMINATED and "买方未按期付款" in contract.close_reason


def test_an_operator_terminates_a_contract_in_force_only(session, clock):
    deal = make_deal(session, clock)
    contract = contract_of(session, deal)
    op = operator(session, clock)
    with pytest.raises(StateError) as exc:
        svc.terminate_contract(session, op, contract.ref, "协议解除", clock=clock)
    assert exc.value.code == "invalid_contract_transition"
    sign_both(session, clock, deal)
    svc.terminate_contract(session, op, contract.ref, "双方协议解除", clock=clock)
    assert contract.state is ContractState.TERMINATED and contract.close_reason == "双方协议解除"


def test_lists_filter_and_members_see_their_own(session, clock):
    d1 = make_deal(session, clock)
    d2 = make_deal(session, clock, mode="exclusive_licence")
    sign_both(session, clock, d2)
    items, meta = svc.list_contracts(session, svc.ContractQuery(state=ContractState.IN_FORCE), page=1, per_page=50)
    assert contract_of(session, d2) in items and contract_of(session, d1) not in items
    items, _ = svc.list_contracts(session, svc.ContractQuery(contract_type=ContractType.LICENCE), page=1, per_page=50)
    assert all(c.contract_type is ContractType.LICENCE for c in items) and contract_of(session, d2) in items
    mine, meta = svc.list_contracts(session, svc.ContractQuery(), page=1, per_page=50, party_id=d1.buyer_party_id)
    assert [c.ref for c in mine] == [contract_of(session, d1).ref] and meta["total"] == 1
    items, _ = svc.list_contracts(session, svc.ContractQuery(party_ref=d2.seller.ref), page=1, per_page=50)
    assert [c.ref for c in items] == [contract_of(session, d2).ref]
