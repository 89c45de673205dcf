"""Notices: written in the transaction of the change they announce, shown in the reader's language,
and mailed after the commit by a job (a fake SMTP server stands in for the real one)."""
from __future__ import annotations

import smtplib
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from exchange import notifications as nt
from exchange.models import OutboxMessage
from listings import service as ls
from settlement import service as svc
from tests import settlement_world as sw


def _topics(session, party_id):  # type: ignore[no-untyped-def]
    return [m.topic for m in session.scalars(sa.select(OutboxMessage).where(
        OutboxMessage.recipient_party_id == party_id).order_by(OutboxMessage.id))]


def test_a_deal_from_qualification_to_deposits_tells_each_party(app, session, clock):
    w = sw.build(session, clock, buyers=3)
    winner, loser, rejected = w.buyers
    for reg in w.regs:
        sw.pay_deposit(session, w, reg)
    sw.qualify(session, w, w.regs[0])
    sw.qualify(session, w, w.regs[1])
    ls.decide_registration(session, w.op_actor, w.regs[2].ref, qualify=False, reason="营业执照已过期。", clock=clock)
    sw.end_publicity(session, w)
    price = w.listing.price_fen
    sw.run_auction(session, w, [(1, price), (0, price + w.listing.increment_fen)])
    deal = sw.deal_of(session, w)
    clock.set(clock.now() + timedelta(days=14))
    svc.settle_due_holds(session, clock)
    assert _topics(session, winner.party_id) == ["registration.qualified", "auction.invited", "deal.struck_buyer"]
    assert _topics(session, loser.party_id) == ["registration.qualified", "auction.invited", "deposit.released"]
    assert _topics(session, rejected.party_id) == ["registration.rejected", "deposit.released"]
    assert _topics(session, w.seller.party_id) == ["deal.struck_seller"]
    with app.test_request_context("/?lang=en"), force_locale("en"):
        [struck] = [n for n in nt.notices_page(session, winner.party_id)[0] if n.topic == "deal.struck_buyer"]
        assert struck.subject == f"Deal {deal.ref}: you are the buyer" and struck.link == "/my/deals"
        assert "¥1,010,000.00" in struck.body and nt.deadline(deal.sign_by) in struck.body and nt.deadline(deal.sign_by).endswith("23:59")
        [no] = nt.notices_page(session, rejected.party_id)[0][1:]
        assert "营业执照已过期。" in no.body and w.regs[2].ref in no.subject + no.body
    with app.test_request_context("/"), force_locale("zh"):
        released = nt.notices_page(session, loser.party_id)[0][0]
        assert released.subject == f"保证金已释放：{w.regs[1].ref}" and "¥100,000.00" in released.body


def test_changed_terms_tell_every_standing_registrant(app, session, clock):
    w = sw.build(session, clock, buyers=2)
    sw.pay_deposit(session, w, w.regs[0])
    sw.qualify(session, w, w.regs[0])
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"price_fen": 120_000_000}, clock=clock)
    assert _topics(session, w.buyers[0].party_id)[-1] == "registration.terms_changed"
    assert _topics(session, w.buyers[1].party_id) == ["registration.terms_changed"]
    ls.update_terms(session, w.actor(w.seller), w.listing.ref, {"qualification_conditions": "须有量产业绩"}, clock=clock)
    assert _topics(session, w.buyers[1].party_id)[-1] == "registration.declare_again"
    with app.test_request_context("/"), force_locale("en"):
        n = nt.notices_page(session, w.buyers[1].party_id)[0][0]
        assert n.link == f"/my/registrations#{w.regs[1].ref}" and "declare again" in n.body


def test_a_notice_needs_a_known_topic_and_all_its_parameters(session, clock):
    w = sw.build(session, clock, buyers=0, register=False)
    before = session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage))
    with pytest.raises(KeyError):
        nt.notify(session, party_id=w.seller.party_id, topic="no.such.topic", params={}, clock=clock)
    with pytest.raises(KeyError):
        nt.notify(session, party_id=w.seller.party_id, topic="registration.qualified", params={"listing": "L"},
                  clock=clock)
    session.flush()
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) == before


class FakeSmtp:
    """Records what would have been sent. ``refuse`` addresses fail for good, ``flaky`` ones for now;
    ``down`` makes connecting fail."""

    sent: list = []
    refuse: set = set()
    flaky: set = set()
    greylist: set = set()
    explode: set = set()
    on_send = None
    down = False

    def __init__(self, host, port, timeout=None):  # type: ignore[no-untyped-def]
        if FakeSmtp.down:
            raise ConnectionRefusedError("connection refused")
        self.host, self.port = host, port

    def starttls(self):  # type: ignore[no-untyped-def]
        pass

    def login(self, user, password):  # type: ignore[no-untyped-def]
        pass

    def send_message(self, mail):  # type: ignore[no-untyped-def]
        if FakeSmtp.on_send is not None:
            FakeSmtp.on_send(mail)
        if mail["To"] in FakeSmtp.explode:
            raise UnicodeEncodeError("ascii", "地址", 0, 1, "not a mailbox this server takes")
        if mail["To"] in FakeSmtp.greylist:
            raise smtplib.SMTPRecipientsRefused({mail["To"]: (450, b"greylisted, try again later")})
        if mail["To"] in FakeSmtp.refuse:
            raise smtplib.SMTPRecipientsRefused({mail["To"]: (550, b"no such user")})
        if mail["To"] in FakeSmtp.flaky:
            raise smtplib.SMTPServerDisconnected("connection lost")
        FakeSmtp.sent.append(mail)

    def quit(self):  # type: ignore[no-untyped-def]
        pass

    def close(self):  # type: ignore[no-untyped-def]
        pass


@pytest.fixture()
def smtp(app, monkeypatch):  # type: ignore[no-untyped-def]
    FakeSmtp.sent, FakeSmtp.refuse, FakeSmtp.flaky, FakeSmtp.down = [], set(), set(), False
    FakeSmtp.greylist, FakeSmtp.explode, FakeSmtp.on_send = set(), set(), None
    monkeypatch.setattr(nt.smtplib, "SMTP", FakeSmtp)
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://robot:s%40cret@mail.example.com:587?starttls=1")
    return FakeSmtp


def _deliver(app, session, clock):  # type: ignore[no-untyped-def]
    with app.app_context():
        return nt.deliver_notices(session, clock)


def _row(session, party_id):  # type: ignore[no-untyped-def]
    session.expire_all()
    return session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient_party_id == party_id)
                           .order_by(OutboxMessage.id.desc())).first()


def _qualified(session, clock, buyers=2):  # type: ignore[no-untyped-def]
    w = sw.build(session, clock, buyers=buyers)
    for reg in w.regs:
        sw.pay_deposit(session, w, reg)
        sw.qualify(session, w, reg)
    return w


def test_notices_are_mailed_once_in_each_users_language(app, session, clock, smtp):
    w = _qualified(session, clock)
    w.buyers[0].locale = "en"
    assert _deliver(app, session, clock) == {"sent": 2, "retry": 0, "failed": 0}
    by_to = {m["To"]: m for m in smtp.sent}
    mail = by_to[w.buyers[0].email]
    assert mail["Subject"] == f"You are qualified to buy {w.listing.ref}" and mail["Date"]
    assert mail["Auto-Submitted"] == "auto-generated" and f"/my/registrations#{w.regs[0].ref}" in mail.get_content()
    assert by_to[w.buyers[1].email]["Subject"].startswith("您已取得")
    assert _row(session, w.buyers[0].party_id).mails_sent == 1
    assert _deliver(app, session, clock) == {"sent": 0, "retry": 0, "failed": 0} and len(smtp.sent) == 2


def test_a_passing_failure_is_retried_later_and_a_refusal_is_given_up(app, session, clock, smtp):
    w = _qualified(session, clock)
    smtp.flaky, smtp.refuse = {w.buyers[0].email}, {w.buyers[1].email}
    assert _deliver(app, session, clock) == {"sent": 0, "retry": 1, "failed": 1}
    flaky, refused = _row(session, w.buyers[0].party_id), _row(session, w.buyers[1].party_id)
    assert flaky.attempts == 1 and flaky.next_attempt_at > clock.now() and "connection lost" in flaky.last_error
    assert refused.failed_at is not None and "no such user" in refused.last_error
    # Not due yet: nothing is tried. Once due, it goes.
    assert _deliver(app, session, clock) == {"sent": 0, "retry": 0, "failed": 0}
    smtp.flaky = set()
    clock.advance(minutes=5)
    assert _deliver(app, session, clock) == {"sent": 1, "retry": 0, "failed": 0}
    assert [m["To"] for m in smtp.sent] == [w.buyers[0].email]
    # The web inbox says 'emailed' only for what was mailed.
    with app.test_request_context("/?lang=en"), force_locale("en"):
        assert nt.notices_page(session, w.buyers[0].party_id)[0][0].emailed_at is not None
        assert nt.notices_page(session, w.buyers[1].party_id)[0][0].emailed_at is None


def test_a_notice_mailed_to_some_of_a_partys_users_is_not_mailed_again(app, session, clock, smtp):
    from tests.factories import make_member

    w = _qualified(session, clock, buyers=1)
    colleague = make_member(session, clock)
    colleague.party_id = w.buyers[0].party_id  # a second user of the buyer's company
    session.flush()
    smtp.refuse = {colleague.email}
    assert _deliver(app, session, clock) == {"sent": 1, "retry": 0, "failed": 0}
    row = _row(session, w.buyers[0].party_id)
    assert row.mails_sent == 1 and colleague.email in row.last_error
    assert _deliver(app, session, clock)["sent"] == 0 and [m["To"] for m in smtp.sent] == [w.buyers[0].email]


def test_an_unreachable_server_keeps_notices_for_later_and_gives_up_in_the_end(app, session, clock, smtp):
    w = _qualified(session, clock, buyers=1)
    smtp.down = True
    for _ in range(nt.MAX_ATTEMPTS - 1):
        assert _deliver(app, session, clock) == {"sent": 0, "retry": 1, "failed": 0}
        clock.advance(hours=7)
    row = _row(session, w.buyers[0].party_id)
    assert row.attempts == nt.MAX_ATTEMPTS - 1 and row.failed_at is None
    clock.set(row.created_at + timedelta(hours=1))  # keep it young enough to be mailed
    row.next_attempt_at = None
    session.flush()
    assert _deliver(app, session, clock) == {"sent": 0, "retry": 0, "failed": 1}
    assert _row(session, w.buyers[0].party_id).failed_at is not None


def test_stale_notices_and_parties_without_users_are_not_mailed(app, session, clock, smtp):
    w = _qualified(session, clock, buyers=2)
    w.buyers[1].is_active = False
    session.flush()
    clock.advance(days=3)
    assert _deliver(app, session, clock) == {"sent": 0, "retry": 0, "failed": 0}
    assert "too old" in _row(session, w.buyers[0].party_id).last_error
    clock.advance(days=-3)
    nt.notify(session, party_id=w.buyers[1].party_id, topic="registration.qualified", clock=clock,
              params={"registration": "R", "listing": "L", "title": "T"})
    session.flush()
    _deliver(app, session, clock)
    assert _row(session, w.buyers[1].party_id).last_error == "no active user to mail" and smtp.sent == []


def test_a_notice_that_no_longer_renders_does_not_stop_the_others(app, session, clock, smtp):
    w = _qualified(session, clock)
    broken = _row(session, w.buyers[0].party_id)
    broken.payload = {"params": {"listing": "L"}}  # as if its topic's text had gained a parameter since
    session.flush()
    assert _deliver(app, session, clock) == {"sent": 1, "retry": 0, "failed": 0}
    assert "cannot build" in _row(session, w.buyers[0].party_id).last_error
    with app.test_request_context("/"), force_locale("en"):
        shown = nt.notices_page(session, w.buyers[0].party_id)[0][0]  # the inbox still answers
    assert shown.subject == "registration.qualified"


def test_a_claimed_notice_is_left_to_its_sender(app, session, clock, smtp):
    w = _qualified(session, clock, buyers=1)
    row = _row(session, w.buyers[0].party_id)
    row.claimed_until = clock.now() + timedelta(minutes=5)
    session.flush()
    assert _deliver(app, session, clock)["sent"] == 0
    clock.advance(minutes=6)  # the other sender died: its lease runs out
    assert _deliver(app, session, clock)["sent"] == 1


def test_greylisting_is_retried_and_an_unexpected_error_stops_only_its_notice(app, session, clock, smtp):
    w = _qualified(session, clock, buyers=3)
    smtp.greylist, smtp.explode = {w.buyers[0].email}, {w.buyers[1].email}
    assert _deliver(app, session, clock) == {"sent": 1, "retry": 1, "failed": 1}
    assert _row(session, w.buyers[0].party_id).next_attempt_at is not None
    assert "UnicodeEncodeError" in _row(session, w.buyers[1].party_id).last_error
    assert [m["To"] for m in smtp.sent] == [w.buyers[2].email]


def test_a_notice_deleted_or_taken_over_meanwhile_is_left_alone(app, session, clock, smtp):
    w = _qualified(session, clock, buyers=2)
    gone, taken = _row(session, w.buyers[0].party_id).id, _row(session, w.buyers[1].party_id).id

    def meanwhile(mail):  # type: ignore[no-untyped-def]
        if mail["To"] == w.buyers[0].email:
            session.execute(sa.delete(OutboxMessage).where(OutboxMessage.id == gone))
            session.execute(sa.update(OutboxMessage).where(OutboxMessage.id == taken)
                            .values(claimed_by="another-sender"))
            session.commit()

    smtp.on_send = meanwhile
    assert _deliver(app, session, clock) == {"sent": 0, "retry": 0, "failed": 0}
    session.expire_all()
    row = session.get(OutboxMessage, taken)
    assert row.claimed_by == "another-sender" and row.sent_at is None  # the other sender records it


def test_a_run_out_of_time_hands_its_claims_back(app, session, clock, smtp, monkeypatch):
    w = _qualified(session, clock, buyers=2)
    monkeypatch.setattr(nt, "CLAIM", timedelta(0))
    assert _deliver(app, session, clock) == {"sent": 0, "retry": 0, "failed": 0} and smtp.sent == []
    rows = [_row(session, b.party_id) for b in w.buyers]
    assert [(r.claimed_by, r.attempts) for r in rows] == [(None, 0), (None, 0)]
    monkeypatch.undo()
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://mail.example.com")
    monkeypatch.setattr(nt.smtplib, "SMTP", FakeSmtp)
    assert _deliver(app, session, clock)["sent"] == 2


def test_without_smtp_nothing_is_mailed_and_notices_stay_in_the_inbox(app, session, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", "")
    w = _qualified(session, clock, buyers=1)
    assert _deliver(app, session, clock) == {"sent": 0, "retry": 0, "failed": 0}
    row = _row(session, w.buyers[0].party_id)
    assert row is not None and row.sent_at is None and row.attempts == 0


def test_every_topic_has_chinese_words_with_the_same_parameters() -> None:
    import re
    from pathlib import Path

    from babel.messages.pofile import read_po

    import auctions.notices  # noqa: F401
    import listings.notices  # noqa: F401
    import settlement.notices  # noqa: F401

    root = Path(__file__).resolve().parents[2]
    catalogue = {}
    for pkg in ("exchange", "listings", "auctions", "settlement", "contracts"):
        with open(root / pkg / "translations" / "zh" / "LC_MESSAGES" / "messages.po", "rb") as f:
            catalogue.update({m.id: m.string for m in read_po(f) if m.id and m.string})
    names = re.compile(r"%\((\w+)\)s")
    assert len(nt.topics()) >= 12
    for topic in nt.topics().values():
        for text in (topic.subject, topic.body):
            assert text in catalogue, (topic.name, text)
            assert sorted(names.findall(catalogue[text])) == sorted(names.findall(text)), (topic.name, text)


def test_auction_and_negotiation_invite_their_buyers(app, session, clock):
    w = sw.build(session, clock, buyers=1)
    sw.pay_deposit(session, w, w.regs[0])
    sw.qualify(session, w, w.regs[0])
    sw.end_publicity(session, w)
    assert _topics(session, w.buyers[0].party_id)[-1] == "negotiation.invited"
    with app.test_request_context("/"), force_locale("en"):
        n = nt.notices_page(session, w.buyers[0].party_id)[0][0]
    assert n.link.startswith("/negotiations/N") and "¥1,000,000.00" in n.body


def test_a_deposit_fully_covered_by_a_guarantee_sends_no_refund_notice(session, clock):
    from exchange.actors import Actor
    from settlement.domain import HoldState
    from tests.factories import make_member

    w = sw.build(session, clock, buyers=0, register=False)
    buyer = make_member(session, clock)
    svc.create_instrument(session, w.op_actor, buyer.party.ref, {
        "kind": "guarantee_letter", "issuer": "中国银行上海市分行", "amount_fen": 15_000_000,
        "expires_on": clock.now().date() + timedelta(days=365)}, clock=clock)
    reg = ls.register_interest(session, Actor.of(buyer), w.listing.ref, "符合条件", clock=clock)
    assert svc.holds.hold_of(session, reg.id).cash_fen == 0
    ls.withdraw_registration(session, Actor.of(buyer), reg.ref, "退出", clock=clock)
    svc.settle_due_holds(session, clock)
    assert svc.holds.hold_of(session, reg.id).state == HoldState.RELEASED
    assert "deposit.released" not in _topics(session, buyer.party_id)


def test_smtp_settings_come_from_one_url() -> None:
    s = nt.SmtpSettings.parse("smtp://robot:s%40cret@mail.example.com:587?starttls=1", "exchange@example.com")
    assert (s.host, s.port, s.username, s.password, s.starttls, s.ssl) == (
        "mail.example.com", 587, "robot", "s@cret", True, False)
    s = nt.SmtpSettings.parse("smtps://mail.example.com", "x@example.com")
    assert (s.port, s.ssl, s.username) == (465, True, None)
    for bad in ("http://mail.example.com", "smtp://", "mail.example.com:25"):
        with pytest.raises(ValueError):
            nt.SmtpSettings.parse(bad, "x@example.com")


def test_the_inbox_is_newest_first_by_time(app, session, clock):
    """Notices recorded out of time order (a job catching up on a past deadline) are read by time."""
    w = sw.build(session, clock, buyers=0, register=False)
    party = w.seller.party_id
    params = {"registration": "R1", "listing": "L1", "title": "标题"}
    nt.notify(session, party_id=party, topic="registration.qualified", params={**params, "listing": "LATE"}, clock=clock)
    clock.advance(days=-2)
    nt.notify(session, party_id=party, topic="registration.qualified", params={**params, "listing": "EARLY"},
              clock=clock)
    session.flush()
    with app.test_request_context("/"), force_locale("en"):
        items, meta = nt.notices_page(session, party)
    assert [n.subject[-5:] for n in items[:2]] == [" LATE", "EARLY"] and meta["total"] == 2


def test_listing_events_tell_the_buyers_whose_registrations_stand(app, session, clock):
    w = sw.build(session, clock, buyers=3)
    paid, unpaid, gone = w.regs
    sw.pay_deposit(session, w, paid)
    ls.withdraw_registration(session, w.actor(w.buyers[2]), gone.ref, "退出", clock=clock)
    ls.suspend_listing(session, w.op_actor, w.listing.ref, "权属争议待核实。", clock=clock)
    clock.advance(days=2)
    ls.resume_listing(session, w.op_actor, w.listing.ref, "争议已解决。", clock=clock)
    assert _topics(session, w.buyers[0].party_id) == ["listing.suspended", "listing.resumed"]
    assert _topics(session, w.buyers[2].party_id) == []  # withdrawn: nothing stands
    assert _topics(session, w.seller.party_id) == ["listing.suspended_seller", "listing.resumed_seller"]
    with app.test_request_context("/"), force_locale("zh"):
        suspended = nt.notices_page(session, w.buyers[0].party_id)[0][1]
        to_seller = nt.notices_page(session, w.seller.party_id)[0][1]
    # The exchange's reason goes to the seller, not to the buyers.
    assert "权属争议" not in suspended.body and suspended.link == f"/listings/{w.listing.ref}"
    assert "权属争议待核实。" in to_seller.body
    # The unpaid one got until the new end of publicity, and lapses when that passes.
    session.refresh(unpaid)
    assert unpaid.deposit_due_at == w.listing.publicity_ends_at
    clock.set(unpaid.deposit_due_at + timedelta(seconds=1))
    ls.apply_due(session, ls.load_listing(session, w.listing.ref, for_update=True), clock)
    assert _topics(session, w.buyers[1].party_id)[-1] == "registration.lapsed"


def test_termination_tells_the_registered_buyers(session, clock):
    w = sw.build(session, clock, buyers=2)
    ls.terminate_listing(session, w.op_actor, w.listing.ref, "转让方主体资格存疑。", clock=clock)
    for buyer in w.buyers:
        assert _topics(session, buyer.party_id) == ["listing.terminated"]
    assert _topics(session, w.seller.party_id) == ["listing.terminated_seller"]


def test_a_deadline_that_passed_during_a_suspension_is_moved(session, clock):
    w = sw.build(session, clock, buyers=1)
    reg = w.regs[0]
    ls.suspend_listing(session, w.op_actor, w.listing.ref, "核实中", clock=clock)
    clock.set(reg.deposit_due_at + timedelta(days=3))
    ls.resume_listing(session, w.op_actor, w.listing.ref, "核实完毕", clock=clock)
    ls.apply_due(session, ls.load_listing(session, w.listing.ref, for_update=True), clock)
    session.refresh(reg)
    assert reg.state.value == "pending_deposit" and reg.deposit_due_at == w.listing.publicity_ends_at > clock.now()
    assert "registration.lapsed" not in _topics(session, w.buyers[0].party_id)


def test_a_rescheduled_auction_tells_its_bidders(session, clock):
    from auctions import service as asvc
    from auctions.models import Auction

    w = sw.build(session, clock, buyers=2)
    for reg in w.regs:
        sw.pay_deposit(session, w, reg)
        sw.qualify(session, w, reg)
    sw.end_publicity(session, w)
    a = session.scalar(sa.select(Auction).where(Auction.listing_id == w.listing.id))
    asvc.reschedule_auction(session, w.op_actor, a.ref, asvc.Schedule(starts_at=a.starts_at + timedelta(days=1)),
                            clock=clock)
    for buyer in w.buyers:
        assert _topics(session, buyer.party_id)[-2:] == ["auction.invited", "auction.rescheduled"]


def test_a_default_tells_both_parties(session, clock):
    from auctions import service as asvc

    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    asvc.deals.record_default(session, w.op_actor, deal.ref, "未按期签约", clock=clock)
    buyer = deal.buyer_party_id
    told = _topics(session, buyer)
    assert told.index("deal.struck_buyer") < told.index("deal.defaulted_buyer")
    assert _topics(session, w.seller.party_id)[-1] == "deal.defaulted_seller"
    asvc.deals.cancel_deal(session, w.op_actor, deal.ref, "转给次高出价人", clock=clock)
    assert _topics(session, w.seller.party_id)[-1] == "deal.cancelled" and _topics(session, buyer)[-1] == \
        "deal.cancelled"


def test_the_runner_up_is_told_it_takes_over_a_defaulted_deal(app, session, clock):
    from auctions import service as asvc

    w = sw.build(session, clock, buyers=2)
    price = w.listing.price_fen
    deal = sw.auction_deal(session, w, bids=[(0, price), (1, price + w.listing.increment_fen)])
    asvc.deals.record_default(session, w.op_actor, deal.ref, "未按期签约", clock=clock)
    new = asvc.offer_to_runner_up(session, w.op_actor, deal.ref, clock=clock)
    runner_up = new.buyer_party_id
    assert _topics(session, runner_up)[-1] == "deal.runner_up_buyer"
    assert "deal.struck_buyer" not in _topics(session, runner_up)
    assert _topics(session, w.seller.party_id)[-2:] == ["deal.cancelled", "deal.runner_up_seller"]
    note = session.scalars(sa.select(OutboxMessage).where(OutboxMessage.recipient_party_id == runner_up)
                           .order_by(OutboxMessage.id.desc())).first()
    with app.test_request_context(), force_locale("zh"):
        shown = nt.render(note)
    assert new.ref in shown.subject and "次高出价人" in shown.subject and "最后报价" in shown.body


def test_a_deal_in_force_tells_the_buyer_what_to_pay_and_by_when(app, session, clock):
    from settlement.models import PaymentObligation

    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    assert _topics(session, deal.buyer_party_id)[-1] == "payment.due"
    ob = session.scalars(sa.select(PaymentObligation).where(PaymentObligation.deal_id == deal.id)).one()
    with app.test_request_context("/"), force_locale("en"):
        n = nt.notices_page(session, deal.buyer_party_id)[0][0]
    assert n.subject == f"Deal {deal.ref}: pay {nt.money(ob.amount_fen)} by {ob.due_on.isoformat()}"
    assert deal.ref in n.body and n.link == "/my/settlement"
    # A new instalment plan tells the plan's first payment.
    svc.set_instalment_plan(session, w.op_actor, deal.ref, {"count": 3}, clock=clock)
    assert _topics(session, deal.buyer_party_id)[-1] == "payment.plan"
    with app.test_request_context("/"), force_locale("zh"):
        plan = nt.notices_page(session, deal.buyer_party_id)[0][0]
    assert "分 3 期支付" in plan.body


def test_an_overdue_payment_is_told(app, session, clock):
    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    [ob] = svc.obligations.load_for_update(session, deal.ref)[1].obligations
    clock.set(sw.shanghai_end(ob.due_on) + timedelta(hours=1))
    svc.flag_overdue(session, clock)
    told = _topics(session, deal.buyer_party_id)
    assert told.count("payment.overdue") == 1
    with app.test_request_context("/"), force_locale("en"):
        [overdue] = [n for n in nt.notices_page(session, deal.buyer_party_id)[0] if n.topic == "payment.overdue"]
    assert overdue.subject == f"Deal {deal.ref}: {nt.money(ob.amount_fen)} overdue"
    assert ob.due_on.isoformat() in overdue.body
    svc.flag_overdue(session, clock)  # a second run tells nothing more
    assert _topics(session, deal.buyer_party_id).count("payment.overdue") == 1


def test_the_seller_is_told_of_its_payout_once(session, clock):
    from settlement.models import PaymentPurpose

    w = sw.build(session, clock, buyers=2)
    deal = sw.auction_deal(session, w)
    sw.in_force(session, w, deal)
    [ob] = svc.obligations.load_for_update(session, deal.ref)[1].obligations
    sw.pay(session, w, ob.amount_fen, PaymentPurpose.PRICE, deal.ref)
    svc.confirm_transfer(session, w.op_actor, deal.ref, evidence="专利权转让登记已办理", clock=clock)
    svc.pay_out(session, w.op_actor, deal.ref, clock=clock)
    assert _topics(session, w.seller.party_id)[-1] == "payout.made"
    svc.pay_out(session, w.op_actor, deal.ref, clock=clock)  # a replay tells nothing more
    assert _topics(session, w.seller.party_id).count("payout.made") == 1
