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
    assert _topics(session, winner.party_id) == ["registration.qualified", "deal.struck_buyer"]
    assert _topics(session, loser.party_id) == ["registration.qualified", "deposit.released"]
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
    """Records what would have been sent; ``fail_for`` makes sending to one address fail."""

    sent: list = []
    fail_for: str | None = None

    def __init__(self, host, port, timeout=None):  # type: ignore[no-untyped-def]
        self.host, self.port = host, port

    def starttls(self):  # type: ignore[no-untyped-def]
        pass

    def login(self, user, password):  # type: ignore[no-untyped-def]
        self.login_as = user

    def send_message(self, mail):  # type: ignore[no-untyped-def]
        if mail["To"] == FakeSmtp.fail_for:
            raise smtplib.SMTPRecipientsRefused({mail["To"]: (550, b"no such user")})
        FakeSmtp.sent.append(mail)

    def quit(self):  # type: ignore[no-untyped-def]
        pass


@pytest.fixture()
def smtp(app, monkeypatch):  # type: ignore[no-untyped-def]
    FakeSmtp.sent, FakeSmtp.fail_for = [], None
    monkeypatch.setattr(nt.smtplib, "SMTP", FakeSmtp)
    monkeypatch.setitem(app.config, "SMTP_URL", "smtp://robot:s%40cret@mail.example.com:587?starttls=1")
    return FakeSmtp


def test_unsent_notices_are_mailed_once_in_each_users_language(app, session, clock, smtp):
    w = sw.build(session, clock, buyers=2)
    w.buyers[0].locale = "en"
    smtp.fail_for = w.buyers[1].email
    sw.pay_deposit(session, w, w.regs[0])
    sw.pay_deposit(session, w, w.regs[1])
    sw.qualify(session, w, w.regs[0])
    sw.qualify(session, w, w.regs[1])
    with app.app_context():
        assert nt.deliver_notices(session, clock) == {"sent": 1, "failed": 1}
        [mail] = smtp.sent
        assert mail["To"] == w.buyers[0].email and mail["Subject"] == f"You are qualified to buy {w.listing.ref}"
        assert f"/my/registrations#{w.regs[0].ref}" in mail.get_content()
        # The failed one is tried again; the sent one is not sent again.
        smtp.fail_for = None
        assert nt.deliver_notices(session, clock) == {"sent": 1, "failed": 0}
        assert smtp.sent[1]["To"] == w.buyers[1].email and smtp.sent[1]["Subject"].startswith("您已取得")
        assert nt.deliver_notices(session, clock) == {"sent": 0, "failed": 0}
    assert session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.sent_at.is_(None))) == 0


def test_without_smtp_nothing_is_mailed_and_notices_stay_in_the_inbox(app, session, clock, monkeypatch):
    monkeypatch.setitem(app.config, "SMTP_URL", "")
    w = sw.build(session, clock, buyers=1)
    sw.pay_deposit(session, w, w.regs[0])
    sw.qualify(session, w, w.regs[0])
    with app.app_context():
        assert nt.deliver_notices(session, clock) == {"sent": 0, "failed": 0}
    assert session.scalar(sa.select(OutboxMessage.sent_at).where(
        OutboxMessage.recipient_party_id == w.buyers[0].party_id)) is None


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
