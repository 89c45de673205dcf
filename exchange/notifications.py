"""Notices to the parties: written in the business transaction, read in the member's inbox, and
emailed after the commit by a job.

A service calls ``notify`` inside its transaction, so a notice exists exactly when the change it
announces was committed. The stored notice is data (a topic and neutral parameters: references,
titles, amounts and times already formatted), and its words are chosen when it is shown or sent,
in the reader's language.

``deliver_notices`` mails them when an SMTP server is configured, without holding the database
while it talks to the mail server: it claims a batch and commits, sends, then records the outcome
in a second short transaction. A notice whose mail fails for a passing reason is tried again later
(backing off); one refused for good, or too old to be worth mailing, is given up and stays in the
inbox. A crash between a mail and the record of it can send that mail twice, never lose it.
"""
from __future__ import annotations

import logging
import smtplib
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy.orm import Session

from exchange.clock import Clock, format_deadline, format_local
from exchange.models import OutboxMessage, User
from exchange.money import Money

log = logging.getLogger("exchange.notifications")


@dataclass(frozen=True)
class Topic:
    """What a notice says: a subject and a body in English with ``%(name)s`` parameters (gettext
    msgids, translated in each package's catalogue), and the page it points to (a path template)."""

    name: str
    subject: str
    body: str
    link: str


_TOPICS: dict[str, Topic] = {}


def register_topic(name: str, *, subject: str, body: str, link: str) -> Topic:
    topic = Topic(name, subject, body, link)
    _TOPICS[name] = topic
    return topic


def topics() -> dict[str, Topic]:
    return dict(_TOPICS)


def money(fen: int, currency: str = "CNY") -> str:
    """An amount as notices show it, the same in every language."""
    return Money(fen, currency).format()


def when(value: datetime) -> str:
    """A time as notices show it: Beijing time, to the minute."""
    return format_local(value, "%Y-%m-%d %H:%M")


def deadline(value: datetime) -> str:
    """An exclusive deadline as notices show it: the last minute that still counts, Beijing time."""
    return format_deadline(value, "%Y-%m-%d %H:%M")


def notify(session: Session, *, party_id: int, topic: str, params: Mapping[str, Any], clock: Clock) -> OutboxMessage:
    """Record a notice for a party in the current transaction."""
    if topic not in _TOPICS:
        raise KeyError(f"unknown notice topic {topic!r}")
    clean = {k: (v if isinstance(v, (int, str)) else str(v)) for k, v in params.items()}
    t = _TOPICS[topic]
    for text in (t.subject, t.body, t.link):
        text % clean  # a missing parameter fails here, in the service, not when the notice is read or mailed
    msg = OutboxMessage(topic=topic, recipient_party_id=party_id, payload={"params": clean}, created_at=clock.now(),
                        mails_sent=0, attempts=0)
    session.add(msg)
    return msg


@dataclass(frozen=True)
class Notice:
    id: int
    topic: str
    subject: str
    body: str
    link: str
    created_at: datetime
    emailed_at: datetime | None


def render(msg: OutboxMessage) -> Notice:
    """The notice in the current language. A stored notice that no longer fits its topic's text
    (a topic retired or reworded since) is shown by its topic name rather than failing the inbox."""
    emailed = msg.sent_at if msg.mails_sent else None
    topic = _TOPICS.get(msg.topic)
    params = dict((msg.payload or {}).get("params") or {})
    try:
        if topic is None:
            raise KeyError(msg.topic)
        return Notice(msg.id, msg.topic, gettext(topic.subject) % params, gettext(topic.body) % params,
                      topic.link % params, msg.created_at, emailed)
    except (KeyError, TypeError, ValueError):
        log.warning("notice %s (%s) no longer renders with its parameters", msg.id, msg.topic)
        return Notice(msg.id, msg.topic, msg.topic, "", "", msg.created_at, emailed)


def notices_page(session: Session, party_id: int, page: int = 1, per_page: int = 20) -> tuple[list[Notice], dict]:
    """One page of a party's notices, newest first, in the current language."""
    from exchange.pagination import paginate

    stmt = (sa.select(OutboxMessage).where(OutboxMessage.recipient_party_id == party_id)
            .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc()))
    items, meta = paginate(session, stmt, page, per_page)
    return [render(m) for m in items], meta


# -- delivery by email ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool
    ssl: bool
    sender: str

    @classmethod
    def parse(cls, url: str, sender: str) -> SmtpSettings:
        """``smtp://user:password@host:587?starttls=1`` or ``smtps://host:465``."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:password@host:587?starttls=1 or smtps://host:465")
        query = parse_qs(parts.query)
        ssl = parts.scheme == "smtps"
        return cls(host=parts.hostname, port=parts.port or (465 if ssl else 25),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   starttls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"), ssl=ssl, sender=sender)


def smtp_settings(config: Mapping[str, Any]) -> SmtpSettings | None:
    url = config.get("SMTP_URL") or ""
    return SmtpSettings.parse(url, config.get("MAIL_FROM") or "noreply@localhost") if url else None


#: A notice not mailed within this time is not mailed at all (it stays in the inbox): switching
#: SMTP on, or a long outage, must not flood members with deadlines long past.
MAX_AGE = timedelta(days=2)
#: Tries (each claim counts, so a sender that keeps crashing gives up too), waiting longer each time.
MAX_ATTEMPTS = 8
#: A claimed notice is its sender's until then; a sender stops starting new mails well before, and
#: one that died releases its batch this way.
CLAIM = timedelta(minutes=10)


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(minutes=2 ** attempts), timedelta(hours=6))


@dataclass
class _Outcome:
    mails: list[EmailMessage]
    sent: int = 0
    errors: list[str] = field(default_factory=list)
    permanent: bool = False  # refused for good (or cannot be sent at all): do not try again


def _email(msg: OutboxMessage, user: User, s: SmtpSettings, base_url: str, default_locale: str,
           now: datetime) -> EmailMessage:
    with force_locale(user.locale or default_locale):
        notice = render(msg)
    if not notice.body:
        raise ValueError(f"notice {msg.id} does not render")
    mail = EmailMessage()
    mail["From"] = s.sender
    mail["To"] = user.email
    mail["Subject"] = notice.subject
    mail["Date"] = format_datetime(now)
    mail["Message-ID"] = f"<notice-{msg.id}-{user.id}@{s.host}>"  # a resend after a crash has the same id
    mail["Auto-Submitted"] = "auto-generated"
    mail.set_content(f"{notice.body}\n\n{base_url.rstrip('/')}{notice.link}\n")
    return mail


def _undelivered() -> sa.ColumnElement[bool]:
    return sa.and_(OutboxMessage.sent_at.is_(None), OutboxMessage.failed_at.is_(None))


def _claim(session: Session, clock: Clock, s: SmtpSettings, limit: int, token: str) -> dict[int, _Outcome]:
    """Give up the stale notices, then take a batch of due ones and build their mails (one per active
    user of the party, in that user's language)."""
    now = clock.now()
    # In one statement, so a backlog of old notices never crowds fresh ones out of the batch.
    session.execute(sa.update(OutboxMessage).where(_undelivered(), OutboxMessage.created_at < now - MAX_AGE)
                    .values(failed_at=now, last_error="too old to mail; left in the inbox")
                    .execution_options(synchronize_session=False))
    due = sa.and_(_undelivered(),
                  sa.or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now),
                  sa.or_(OutboxMessage.claimed_until.is_(None), OutboxMessage.claimed_until <= now))
    batch = list(session.scalars(sa.select(OutboxMessage).where(due).order_by(OutboxMessage.id).limit(limit)
                                 .with_for_update(skip_locked=True).execution_options(populate_existing=True)))
    base_url = current_app.config.get("PUBLIC_BASE_URL", "")
    default_locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    claimed: dict[int, _Outcome] = {}
    for msg in batch:
        users = list(session.scalars(sa.select(User).where(User.party_id == msg.recipient_party_id,
                                                           User.is_active.is_(True)).order_by(User.id)))
        if not users:
            msg.failed_at, msg.last_error = now, "no active user to mail"
            continue
        try:
            mails = [_email(msg, u, s, base_url, default_locale, now) for u in users]
        except Exception as exc:  # noqa: BLE001 - a notice that cannot be built must not stop the others
            msg.failed_at, msg.last_error = now, f"cannot build the mail: {exc}"
            continue
        msg.claimed_by, msg.claimed_until, msg.attempts = token, now + CLAIM, msg.attempts + 1
        claimed[msg.id] = _Outcome(mails)
    return claimed


def _connect(s: SmtpSettings) -> smtplib.SMTP:
    conn: smtplib.SMTP = (smtplib.SMTP_SSL if s.ssl else smtplib.SMTP)(s.host, s.port, timeout=30)
    try:
        if s.starttls:
            conn.starttls()
        if s.username:
            conn.login(s.username, s.password or "")
    except BaseException:
        conn.close()
        raise
    return conn


def _send_one(conn: smtplib.SMTP, outcome: _Outcome) -> None:
    """Mail one notice to its users; a refusal with a 5xx code is for good, anything else passes."""
    for mail in outcome.mails:
        try:
            conn.send_message(mail)
            outcome.sent += 1
        except smtplib.SMTPRecipientsRefused as exc:  # greylisting answers 4xx: try again later
            outcome.errors.append(f"{mail['To']}: {exc.recipients}")
            outcome.permanent |= all(code >= 500 for code, _ in exc.recipients.values())
        except smtplib.SMTPResponseException as exc:
            outcome.errors.append(f"{mail['To']}: {exc.smtp_code} {exc.smtp_error!r}")
            outcome.permanent |= exc.smtp_code >= 500
        except (smtplib.SMTPException, OSError) as exc:
            outcome.errors.append(f"{mail['To']}: {exc}")
        except Exception as exc:  # noqa: BLE001 - not the server's doing: this mail cannot be sent at all
            outcome.errors.append(f"{mail['To']}: {exc!r}")
            outcome.permanent = True


def _record(session: Session, clock: Clock, msg_id: int, token: str, outcome: _Outcome | None) -> str | None:
    """Record one notice's outcome, if it is still this sender's (a lease that ran out may have passed
    it to another sender). ``None``: not tried after all; the claim is handed back."""
    now = clock.now()
    msg = session.get(OutboxMessage, msg_id, with_for_update=True, populate_existing=True)
    if msg is None or msg.claimed_by != token or msg.sent_at is not None or msg.failed_at is not None:
        return None
    msg.claimed_by = msg.claimed_until = None
    if outcome is None:
        msg.attempts -= 1
        return None
    msg.last_error = "; ".join(outcome.errors)[:2000] or None
    if outcome.sent:
        # Mailed to some of the party's users: done. Trying again would mail the others twice.
        msg.sent_at, msg.mails_sent = now, outcome.sent
        return "sent"
    if outcome.permanent or msg.attempts >= MAX_ATTEMPTS:
        msg.failed_at = now
        return "failed"
    msg.next_attempt_at = now + _backoff(msg.attempts)
    return "retry"


def deliver_notices(session: Session, clock: Clock, *, limit: int = 100) -> dict[str, int]:
    """Mail due notices when ``SMTP_URL`` is set; without it nothing is sent (members read notices in
    their inbox).

    This job commits part-way on purpose, because the mail server's pace must not hold the database
    (on SQLite every transaction takes the write lock): it claims a batch and commits, then mails one
    notice at a time with no transaction open, committing each outcome as soon as it is known. A
    claim is leased to this run (``claimed_by``); whatever it has not started when its lease nears
    its end, or when something unexpected stops it, is handed back.
    """
    counts = {"sent": 0, "retry": 0, "failed": 0}
    settings = smtp_settings(current_app.config)
    if settings is None:
        return counts
    token = uuid.uuid4().hex
    claimed = _claim(session, clock, settings, limit, token)
    session.commit()
    if not claimed:
        return counts
    started = time.monotonic()
    pending = list(claimed)
    try:
        try:
            conn = _connect(settings)
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("cannot reach the mail server %s:%s: %s", settings.host, settings.port, exc)
            for msg_id in pending:
                claimed[msg_id].errors.append(f"mail server: {exc}")
                result = _record(session, clock, msg_id, token, claimed[msg_id])
                if result:
                    counts[result] += 1
            pending = []
            return counts
        try:
            while pending and time.monotonic() - started < CLAIM.total_seconds() * 0.8:
                msg_id = pending.pop(0)
                _send_one(conn, claimed[msg_id])
                result = _record(session, clock, msg_id, token, claimed[msg_id])
                session.commit()
                if result:
                    counts[result] += 1
        finally:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()
    finally:
        for msg_id in pending:  # not started: hand the claims back at once
            _record(session, clock, msg_id, token, None)
        session.commit()
    return counts
