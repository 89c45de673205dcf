"""Reconciliation pages: the desk's overview, the trial balance with the ledger check, and the daily
report of expected against received. CSV downloads are the JSON API's CSV routes (same session)."""
from __future__ import annotations

from flask import render_template, request

from exchange.auth import READERS, access
from exchange.context import get_clock
from exchange.db import get_session
from settlement import service as svc
from settlement.forms import DayForm
from settlement.service import reports
from settlement.service.common import today
from settlement.views import settlement_web
from settlement.views.queues import operator_queues


@settlement_web.get("/operator/settlement")
@access(*READERS)
def index():
    """The settlement desk: what waits, and the way to every page."""
    session = get_session()
    return render_template("settlement/index.html", queues=operator_queues(session, get_clock()))


@settlement_web.get("/operator/settlement/trial-balance")
@access(*READERS)
def trial_balance():
    """Every account's debits, credits and balance, the totals per currency, and the ledger check."""
    session = get_session()
    return render_template("settlement/trial_balance.html", tb=reports.trial_balance(session),
                           check=svc.verify_ledger(session))


@settlement_web.get("/operator/settlement/daily")
@access(*READERS)
def daily():
    """What was due on a day (payments and deposits) against what arrived that day."""
    form = DayForm(request.args)
    ok = form.validate()
    day = (form.day.data if ok else None) or today(get_clock())
    status = 200 if ok else 422
    return render_template("settlement/daily.html", form=form, day=day,
                           rep=reports.daily_report(get_session(), day)), status
