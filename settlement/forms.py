"""Web forms of the settlement pages (Flask-WTF: a CSRF token on every POST form).

Amounts are typed in yuan and parsed exactly into fen by the listings package's
``YuanField`` (``Money.parse``, never a float). Actions that move money or change a
record ask for a ticked confirmation box and, where the audit trail needs one, a
reason. Forms that create something carry a one-time ``form_token`` so that a
second submission of the same rendered form creates nothing more.
"""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp, ValidationError
from exchange.form_fields import SelectField

from listings.domain import TradingMode
from listings.forms import ConfirmForm, YuanField
from listings.labels import choices as listing_choices
from settlement.domain import CreditEventKind, InstrumentKind
from settlement.models import MatchTarget, NotificationState, PaymentPurpose
from settlement.labels import LABELS

_REASON = _l("Give a reason.")
# The exchange's references (P2026-000001, R2026-000001, D2026-000001...): letters, digits, hyphens.
REF = Regexp(r"^\s*[A-Za-z0-9][A-Za-z0-9-]*\s*$", message=_l("A reference has letters, digits and hyphens only."))


def _choices(kind: str, values) -> list[tuple[str, object]]:  # type: ignore[no-untyped-def]
    return [(v.value, LABELS[kind][v.value]) for v in values]


class OnceForm(FlaskForm):
    """A form that creates something: ``form_token`` names this rendering of it."""

    form_token = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])


# -- money in --------------------------------------------------------------------------------------------
class NotificationForm(FlaskForm):
    """An incoming bank credit keyed in from the bank statement (idempotent by the bank's reference)."""

    bank_reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=64)])
    payer_name = StringField(_l("Payer"), validators=[DataRequired(), Length(max=200)])
    payer_account = StringField(_l("Payer's account (optional)"), validators=[Optional(), Length(max=64)])
    payer_party_ref = StringField(_l("Payer's party reference (optional)"),
                                  validators=[Optional(), Length(max=20), REF])
    amount = YuanField(_l("Amount (yuan)"), validators=[DataRequired()])
    purpose = SelectField(_l("Purpose"), choices=_choices("purpose", PaymentPurpose), validators=[InputRequired()])
    purpose_ref = StringField(_l("Reference quoted by the payer (registration or deal)"),
                              validators=[Optional(), Length(max=20), REF])
    value_date = DateField(_l("Value date (empty: today)"), validators=[Optional()])
    remittance_info = StringField(_l("Remittance text"), validators=[Optional(), Length(max=200)])


class NotificationFilterForm(FlaskForm):
    """The filters of the receipts list (GET: nothing changes, no CSRF token)."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), choices=[("", _l("All"))] + _choices("notification", NotificationState),
                        validators=[Optional()])
    flag = SelectField(_l("Amount against what was due"), validators=[Optional()],
                       choices=[("", _l("All")), ("flagged", _l("Any difference (short, over, nothing due)")),
                                ("short", LABELS["flag"]["short"]), ("over", LABELS["flag"]["over"]),
                                ("unexpected", LABELS["flag"]["unexpected"])])


class MatchForm(ConfirmForm):
    target = SelectField(_l("What it pays"), choices=_choices("target", MatchTarget), validators=[InputRequired()])
    target_ref = StringField(_l("Reference of what it pays"), validators=[DataRequired(), Length(max=20), REF])
    note = TextAreaField(_l("Reason"), validators=[DataRequired(_REASON), Length(max=2000)])


class ReasonForm(ConfirmForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_REASON), Length(max=2000)])


class NoteForm(ConfirmForm):
    note = TextAreaField(_l("Note for the record"), validators=[DataRequired(_REASON), Length(max=2000)])


# -- deals ---------------------------------------------------------------------------------------------
class PlanForm(ConfirmForm):
    """Instalments instead of the lump sum (before anything is paid)."""

    down_ratio = StringField(_l("Down payment share (e.g. 0.30)"), validators=[DataRequired(), Length(max=12)])
    count = IntegerField(_l("Number of payments, down payment included"), default=2,
                         validators=[InputRequired(), NumberRange(min=2, max=24)])
    interval_months = IntegerField(_l("Months between payments"), default=1,
                                   validators=[InputRequired(), NumberRange(min=1, max=12)])
    first_due = DateField(_l("Down payment due (empty: the lump sum's deadline)"), validators=[Optional()])

    def validate_down_ratio(self, field) -> None:  # type: ignore[no-untyped-def]
        try:
            ratio = Decimal((field.data or "").strip())
        except InvalidOperation:
            ratio = Decimal("NaN")
        if not ratio.is_finite() or not 0 < ratio < 1:
            raise ValidationError(_l("A share is a fraction above 0 and below 1, e.g. 0.30."))


class TransferForm(ConfirmForm):
    evidence = TextAreaField(_l("Evidence of the transfer"), validators=[DataRequired(), Length(max=2000)])
    document_sha256 = StringField(_l("SHA-256 of the document (optional)"), validators=[Optional(), Length(max=64)])


class RefundForm(ConfirmForm):
    amount = YuanField(_l("Amount to refund (yuan)"), validators=[DataRequired()])
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_REASON), Length(max=2000)])
    form_token = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])


# -- reports -------------------------------------------------------------------------------------------
class DayForm(FlaskForm):
    class Meta:
        csrf = False

    day = DateField(_l("Day"), validators=[Optional()])


class PartyForm(FlaskForm):
    class Meta:
        csrf = False

    party = StringField(_l("Party reference"), validators=[Optional(), Length(max=20), REF])


# -- credit --------------------------------------------------------------------------------------------
class CreditEventForm(ConfirmForm):
    """An event for a party's record; sent twice, it must not count twice against the party."""

    form_token = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    kind = SelectField(_l("Event"), choices=_choices("credit_event", CreditEventKind), default="dispute",
                       validators=[InputRequired()])
    occurred_on = DateField(_l("Occurred on (empty: today)"), validators=[Optional()])
    note = TextAreaField(_l("What happened"), validators=[DataRequired(), Length(max=2000)])


class InstrumentForm(OnceForm):
    party_ref = StringField(_l("Party it stands behind (party reference)"), validators=[DataRequired(),
                                                                                      Length(max=20), REF])
    kind = SelectField(_l("Kind"), choices=_choices("instrument_kind", InstrumentKind), validators=[InputRequired()])
    issuer = StringField(_l("Issuer"), validators=[DataRequired(), Length(max=200)])
    reference = StringField(_l("Issuer's reference (optional)"), validators=[Optional(), Length(max=60)])
    amount = YuanField(_l("Amount (yuan)"), validators=[DataRequired()])
    issued_on = DateField(_l("Issued on (optional)"), validators=[Optional()])
    expires_on = DateField(_l("Expires on"), validators=[InputRequired()])
    document_sha256 = StringField(_l("SHA-256 of the document (optional)"), validators=[Optional(), Length(max=64)])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])


class PledgeForm(OnceForm):
    pledgor_ref = StringField(_l("Pledgor (party reference)"), validators=[DataRequired(), Length(max=20), REF])
    pledgee_ref = StringField(_l("Pledgee's party reference (optional)"), validators=[Optional(), Length(max=20), REF])
    pledgee_name = StringField(_l("Pledgee (e.g. the lending bank)"), validators=[Optional(), Length(max=200)])
    asset_refs = TextAreaField(_l("Pledged assets (asset references, one per line)"),
                               validators=[DataRequired(), Length(max=2000)])
    secured_amount = YuanField(_l("Secured amount (yuan)"), validators=[DataRequired()])
    secured_debt = TextAreaField(_l("Secured debt (optional)"), validators=[Optional(), Length(max=2000)])
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on (optional)"), validators=[Optional()])
    registration_number = StringField(_l("Pledge registration number (optional)"),
                                      validators=[Optional(), Length(max=60)])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=2000)])

    def asset_ref_list(self) -> list[str]:
        text = (self.asset_refs.data or "").replace(",", "\n").replace("，", "\n")
        return [part.strip() for part in text.split() if part.strip()]


class ConsentForm(ConfirmForm):
    mode = SelectField(_l("The pledgee consents to"), choices=listing_choices(TradingMode),
                       validators=[InputRequired()])
    note = TextAreaField(_l("The consent document or letter"), validators=[DataRequired(_REASON), Length(max=2000)])
