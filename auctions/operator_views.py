"""The operator's auction monitor and its actions: reschedule, close when due, publish the
result, and the winner-default path (record the default, offer to the runner-up, relist).

Every action is a confirmation page: a GET shows what will happen, the POST needs the
``confirm`` box ticked (and a reason where the rules ask for one). No JavaScript confirm().
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from auctions import domain as ad
from auctions import service as svc
from auctions.forms import ConfirmForm, ReasonConfirmForm, RescheduleForm
from auctions.models import Auction, Deal, Negotiation, NegotiationState
from auctions.service.bidding import _records
from auctions.views import _states, auctions_label, auctions_web, js_config, parse_yuan, show_error
from exchange.actors import Actor
from exchange.auth import STAFF, access, current_user, require_user
from exchange.clock import BUSINESS_TZ, UTC, format_deadline, format_local
from exchange.context import get_clock
from exchange.db import get_session
from exchange.errors import DomainError, StateError
from exchange.money import Money
from exchange.views import OPERATOR_QUEUES, Queue


@auctions_web.get("/operator/auctions")
@access(*STAFF)
def monitor():
    """Every scheduled and running auction with live figures, results to publish, deals needing attention."""
    session, now = get_session(), get_clock().now()
    running = list(session.scalars(sa.select(Auction).where(Auction.state.in_(["scheduled", "open"]))
                                   .order_by(Auction.effective_end_at).limit(200)))
    to_publish = list(session.scalars(sa.select(Auction).where(Auction.state == "closed",
                                                               Auction.result_published_at.is_(None))
                                      .order_by(Auction.closed_at.desc()).limit(100)))
    deals = list(session.scalars(sa.select(Deal).where(Deal.state.in_(["struck", "in_force", "defaulted"]))
                                 .order_by(Deal.sign_by, Deal.id).limit(300)))
    negotiations = list(session.scalars(sa.select(Negotiation).where(
        Negotiation.state.in_([NegotiationState.OPEN.value, NegotiationState.BUYER_CONFIRMED.value]))
        .order_by(Negotiation.id).limit(200)))
    user = current_user()
    return render_template("auctions/monitor.html", running=_states(running, user),
                           to_publish=_states(to_publish, user), deals=deals, negotiations=negotiations, now=now,
                           is_due=lambda a: svc.bidding.is_due(a, get_clock()),
                           config=js_config(server_time=now.isoformat(), reload_on_close=True))


def operator_queues(session: Any, clock: Any) -> list[Queue]:
    """The auction desk's lines on the operator console; "overdue" marks what needs a hand now."""
    now = clock.now()

    def count(*where: Any, model: Any = Auction) -> int:
        return session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0

    running = (Auction.state.in_(["scheduled", "open"]),)
    return [
        Queue("auctions_running", _l("Auctions scheduled or running"), count(*running), "auctions_web.monitor",
              overdue=count(*running, Auction.effective_end_at <= now)),
        Queue("auction_results", _l("Auction results to publish"),
              count(Auction.state == "closed", Auction.result_published_at.is_(None)), "auctions_web.monitor"),
        Queue("deals_to_sign", _l("Deals awaiting signatures"), count(Deal.state == "struck", model=Deal),
              "auctions_web.monitor", overdue=count(Deal.state == "struck", Deal.sign_by <= now, model=Deal)),
        Queue("deals_defaulted", _l("Defaulted deals: runner-up or relist"),
              count(Deal.state == "defaulted", model=Deal), "auctions_web.monitor"),
        Queue("negotiations", _l("Negotiated transfers awaiting a result"),
              count(Negotiation.state.in_([NegotiationState.OPEN.value, NegotiationState.BUYER_CONFIRMED.value]),
                    model=Negotiation), "auctions_web.monitor"),
    ]


if operator_queues not in OPERATOR_QUEUES:
    OPERATOR_QUEUES.append(operator_queues)


def confirm_page(form_cls: type, *, title: str, facts: list[tuple[str, str]], submit: str,
                 perform: Callable[[Any], str], done: str, fields: tuple[str, ...] = (), danger: bool = False,
                 prefill: dict[str, Any] | None = None, note: str | None = None):  # type: ignore[no-untyped-def]
    """GET: what will happen and the form. POST: check the form, do it, flash and go back (303);
    a refusal is shown beside its field with the refusal's status."""
    posted = request.method == "POST"
    form = form_cls() if posted else form_cls(formdata=None, **(prefill or {}))
    status = 200
    if posted:
        if form.validate_on_submit():
            try:
                message = perform(form)
            except DomainError as err:
                get_session().rollback()
                show_error(form, err)
                status = err.status
            else:
                flash(message, "ok")
                return redirect(done, 303)
        else:
            status = 422
    return render_template("auctions/confirm.html", form=form, title=title, facts=facts, submit=submit,
                           fields=fields, danger=danger, back=url_for("auctions_web.monitor"), note=note), status


def _auction_facts(a: Auction) -> list[tuple[str, str]]:
    return [(_("Auction"), f"{a.ref} · {a.listing.title}"), (_("Format"), auctions_label("format", a.format)),
            (_("State"), auctions_label("state", a.state)),
            (_("Starts"), format_local(a.starts_at, "%Y-%m-%d %H:%M:%S")),
            (_("Ends"), format_local(a.effective_end_at, "%Y-%m-%d %H:%M:%S")),
            (_("Bids"), str(a.bid_count))]


def _deal_facts(d: Deal) -> list[tuple[str, str]]:
    title = d.listing.title if d.listing is not None else d.asset.title
    return [(_("Deal"), f"{d.ref} · {title}"), (_("State"), auctions_label("deal", d.state)),
            (_("Transferee"), d.buyer.name), (_("Transferor"), d.seller.name), (_("Price"), Money(d.price_fen).format()),
            (_("Sign by"), format_deadline(d.sign_by))]


def _actor() -> Actor:
    return Actor.of(require_user())


@auctions_web.route("/operator/auctions/<ref>/reschedule", methods=["GET", "POST"])
@access(*STAFF)
def reschedule(ref: str):
    """Move the start of an auction that has not started (and set descending or sealed settings)."""
    a = svc.load_auction(get_session(), ref)
    fields: tuple[str, ...] = ("starts_at",)
    if a.format == ad.AuctionFormat.DESCENDING:
        fields += ("step_down", "step_interval_seconds", "floor_price")
    elif a.format == ad.AuctionFormat.SEALED:
        fields += ("sealed_minutes",)

    def perform(form: RescheduleForm) -> str:
        starts = form.starts_at.data.replace(tzinfo=BUSINESS_TZ).astimezone(UTC)
        money = {name: parse_yuan(getattr(form, name).data, name) if getattr(form, name).data else None
                 for name in ("step_down", "floor_price")}
        done = svc.reschedule_auction(get_session(), _actor(), ref, svc.Schedule(
            starts_at=starts, step_down_fen=money["step_down"], floor_price_fen=money["floor_price"],
            step_interval_seconds=form.step_interval_seconds.data, sealed_minutes=form.sealed_minutes.data),
            clock=get_clock())
        return _("Auction %(ref)s now starts at %(at)s.", ref=ref, at=format_local(done.starts_at))

    return confirm_page(RescheduleForm, title=_("Reschedule auction %(ref)s", ref=ref), facts=_auction_facts(a),
                        submit=_("Reschedule"), perform=perform, done=url_for("auctions_web.monitor"), fields=fields,
                        prefill={"starts_at": a.starts_at.astimezone(BUSINESS_TZ).replace(tzinfo=None)},
                        note=_("Only an auction that has not started can be moved. Times are Beijing time."))


@auctions_web.route("/operator/auctions/<ref>/close", methods=["GET", "POST"])
@access(*STAFF)
def close(ref: str):
    """Close an auction whose bidding has ended (the sweep does the same; closing twice changes nothing)."""
    a = svc.load_auction(get_session(), ref)

    def perform(_form: ConfirmForm) -> str:
        session, clock = get_session(), get_clock()
        current = svc.load_auction(session, ref)
        if current.state != ad.AuctionState.CLOSED and not svc.bidding.is_due(current, clock):
            raise StateError("Bidding has not ended yet.", code="auction_not_due")
        closed = svc.close_if_due(session, ref, clock=clock)
        if closed.unsold or not closed.winner_bidder_no:
            return _("Auction %(ref)s is closed: unsold.", ref=ref)
        return _("Auction %(ref)s is closed: %(bidder)s wins at %(amount)s.", ref=ref, bidder=closed.winner_bidder_no,
                 amount=Money(closed.hammer_price_fen).format())

    return confirm_page(ConfirmForm, title=_("Close auction %(ref)s", ref=ref), facts=_auction_facts(a),
                        submit=_("Close the auction"), perform=perform, done=url_for("auctions_web.monitor"),
                        note=_("An auction closes only once its bidding has ended; the winner is the highest "
                               "bid, the earlier one on a tie."))


@auctions_web.route("/operator/auctions/<ref>/publish", methods=["GET", "POST"])
@access(*STAFF)
def publish(ref: str):
    """Publish the result: from then on the winner's name is shown in the room."""
    a = svc.close_if_due(get_session(), ref, clock=get_clock())
    facts = _auction_facts(a) + [(_("Hammer price"), Money(a.hammer_price_fen).format() if a.hammer_price_fen
                                  else "-"), (_("Winner's bidder number"), a.winner_bidder_no or "-")]

    def perform(_form: ConfirmForm) -> str:
        svc.publish_result(get_session(), _actor(), ref, clock=get_clock())
        return _("The result of auction %(ref)s is published.", ref=ref)

    return confirm_page(ConfirmForm, title=_("Publish the result of auction %(ref)s", ref=ref), facts=facts,
                        submit=_("Publish the result"), perform=perform,
                        done=url_for("auctions_web.room", ref=ref),
                        note=_("Publishing shows the winner's name to everyone. It cannot be undone."))


@auctions_web.route("/operator/deals/<ref>/default", methods=["GET", "POST"])
@access(*STAFF)
def record_default(ref: str):
    """Record that the buyer did not sign or pay in time: the deal is defaulted, the deposit forfeited."""
    d = svc.deals.load_deal(get_session(), ref)

    def perform(form: ReasonConfirmForm) -> str:
        svc.deals.record_default(get_session(), _actor(), ref, form.reason.data, clock=get_clock())
        return _("Deal %(ref)s is recorded as defaulted.", ref=ref)

    return confirm_page(ReasonConfirmForm, title=_("Record the default of deal %(ref)s", ref=ref),
                        facts=_deal_facts(d), submit=_("Record the default"), perform=perform,
                        done=url_for("auctions_web.monitor"), fields=("reason",), danger=True,
                        note=_("The buyer's deposit is forfeited. Afterwards you may offer the deal to the "
                               "runner-up or relist."))


@auctions_web.route("/operator/deals/<ref>/runner-up", methods=["GET", "POST"])
@access(*STAFF)
def runner_up(ref: str):
    """After a default, give the deal to the runner-up at its last bid."""
    session = get_session()
    d = svc.deals.load_deal(session, ref)
    facts = _deal_facts(d)
    if d.auction_id is not None:
        a = session.get(Auction, d.auction_id)
        defaulted = {b.bidder_no for b in a.bidders if b.defaulted}
        best = ad.winner([r for r in _records(session, a) if r.bidder_no not in defaulted])
        facts.append((_("Runner-up"), f"{best.bidder_no} · {Money(best.amount).format()}" if best else _("none")))

    def perform(_form: ConfirmForm) -> str:
        new = svc.offer_to_runner_up(get_session(), _actor(), ref, clock=get_clock())
        return _("Deal %(new)s struck with the runner-up at %(amount)s.", new=new.ref,
                 amount=Money(new.price_fen).format())

    return confirm_page(ConfirmForm, title=_("Offer deal %(ref)s to the runner-up", ref=ref), facts=facts,
                        submit=_("Offer to the runner-up"), perform=perform, done=url_for("auctions_web.monitor"),
                        note=_("The defaulted deal is cancelled and a new deal is struck at the runner-up's "
                               "last bid."))


@auctions_web.route("/operator/deals/<ref>/relist", methods=["GET", "POST"])
@access(*STAFF)
def relist(ref: str):
    """After a default, send the listing back to unsold so that the seller can relist it."""
    d = svc.deals.load_deal(get_session(), ref)

    def perform(form: ReasonConfirmForm) -> str:
        svc.relist_after_default(get_session(), _actor(), ref, form.reason.data, clock=get_clock())
        return _("Deal %(ref)s is cancelled; the listing can be relisted.", ref=ref)

    return confirm_page(ReasonConfirmForm, title=_("Relist after the default of deal %(ref)s", ref=ref),
                        facts=_deal_facts(d), submit=_("Cancel the deal and relist"), perform=perform,
                        done=url_for("auctions_web.monitor"), fields=("reason",), danger=True)

