"""Notices to the parties: written in the business transaction, read in the member's inbox, and
emailed after the commit by a job.

A service calls ``notify`` inside its transaction, so a notice exists exactly when the change it
announces was committed. The stored notice is data (a topic and neutral parameters: references,
titles, amounts and times already formatted), and its words are chosen when it is shown or sent,
in the reader's language. The delivery job (``deliver_notices``) mails unsent notices when an SMTP
server is configured and marks them sent; a crash between the mail and the commit can send one
twice, never lose one.
"""
from __future__ import annotations

import logging
import smtplib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from sqlalchemy.orm import Session

from exchange.clock import Clock, format_deadline, format_local
from exchange.models import OutboxMessage, User
from exchange.money import Money

log = logging.getLogger("exchange.notifications")


@dataclass(frozen=True)
class Topic:
    """What a notice says: a subject and a body with ``%(name)s`` parameters (lazy gettext strings),
    and the page it points to (a path template with the same parameters)."""

    name: str
    subject: Any
    body: Any
    link: str


_TOPICS: dict[str, Topic] = {}


def register_topic(name: str, *, subject: Any, body: Any, link: str) -> Topic:
    topic = Topic(name, subject, body, link)
    _TOPICS[name] = topic
    return topic


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
    _TOPICS[topic].link % clean  # a missing parameter fails here, in the service, not when the notice is read
    msg = OutboxMessage(topic=topic, recipient_party_id=party_id, payload={"params": clean}, created_at=clock.now())
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
    """The notice in the current request's language."""
    topic = _TOPICS.get(msg.topic)
    params = dict((msg.payload or {}).get("params") or {})
    if topic is None:  # a topic retired since: show what is stored rather than fail the inbox
        return Notice(msg.id, msg.topic, msg.topic, "", "", msg.created_at, msg.sent_at)
    return Notice(msg.id, msg.topic, str(topic.subject) % params, str(topic.body) % params, topic.link % params,
                  msg.created_at, msg.sent_at)


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


def _connect(s: SmtpSettings) -> smtplib.SMTP:
    conn: smtplib.SMTP = (smtplib.SMTP_SSL if s.ssl else smtplib.SMTP)(s.host, s.port, timeout=30)
    if s.starttls:
        conn.starttls()
    if s.username:
        conn.login(s.username, s.password or "")
    return conn


def _email(msg: OutboxMessage, user: User, s: SmtpSettings, base_url: str, default_locale: str) -> EmailMessage:
    with force_locale(user.locale or default_locale):
        notice = render(msg)
    mail = EmailMessage()
    mail["From"] = s.sender
    mail["To"] = user.email
    mail["Subject"] = notice.subject
    mail["Message-ID"] = f"<notice-{msg.id}-{user.id}@{s.host}>"  # a resend after a crash has the same id
    mail.set_content(f"{notice.body}\n\n{base_url.rstrip('/')}{notice.link}\n")
    return mail


def deliver_notices(session: Session, clock: Clock, *, limit: int = 100) -> dict[str, int]:
    """Mail unsent notices to the active users of their party, oldest first, and mark them sent.

    Without ``SMTP_URL`` nothing is sent (members read notices in their inbox). Rows are locked
    with SKIP LOCKED, so two schedulers never mail the same notice; a notice whose mail fails
    stays unsent and is tried again at the next run.
    """
    settings = smtp_settings(current_app.config)
    if settings is None:
        return {"sent": 0, "failed": 0}
    batch = list(session.scalars(sa.select(OutboxMessage).where(OutboxMessage.sent_at.is_(None))
                                 .order_by(OutboxMessage.id).limit(limit).with_for_update(skip_locked=True)))
    if not batch:
        return {"sent": 0, "failed": 0}
    base_url = current_app.config.get("PUBLIC_BASE_URL", "")
    default_locale = current_app.config.get("BABEL_DEFAULT_LOCALE", "zh")
    sent = failed = 0
    conn = _connect(settings)
    try:
        for msg in batch:
            users = list(session.scalars(sa.select(User).where(User.party_id == msg.recipient_party_id,
                                                               User.is_active.is_(True)).order_by(User.id)))
            try:
                for user in users:
                    conn.send_message(_email(msg, user, settings, base_url, default_locale))
            except (smtplib.SMTPException, OSError):
                log.exception("notice %s could not be mailed; it stays unsent", msg.id)
                failed += 1
                continue
            msg.sent_at = clock.now()
            sent += 1
    finally:
        try:
            conn.quit()
        except (smtplib.SMTPException, OSError):
            pass
    session.flush()
    return {"sent": sent, "failed": failed}
