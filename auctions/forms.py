"""Web forms of the auction pages (Flask-WTF: a CSRF token on every form).

Amounts are typed in yuan and parsed exactly by ``exchange.money.Money.parse``
into fen in the view, never through a float.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateTimeLocalField, HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from exchange.form_fields import SelectField

_CONFIRM = _l("Tick the box to confirm.")


class BidForm(FlaskForm):
    """An ascending or sealed bid. ``form_token`` is a one-time key per rendered form: a second
    submission of the same form (double click, reload after a lost answer) is recognised."""

    amount = StringField(_l("Your bid (yuan)"), validators=[DataRequired(_l("Enter an amount.")), Length(max=40)])
    form_token = HiddenField(validators=[DataRequired(), Length(min=8, max=64)])


class AcceptForm(FlaskForm):
    """Accepting the current price of a descending auction."""

    form_token = HiddenField(validators=[DataRequired(), Length(min=8, max=64)])


class PriceForm(FlaskForm):
    price = StringField(_l("Price you confirm (yuan)"), validators=[DataRequired(_l("Enter an amount.")),
                                                                  Length(max=40)])


class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("I have checked and want to do this."), validators=[DataRequired(_CONFIRM)])


class ReasonConfirmForm(ConfirmForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_l("Give a reason.")), Length(max=2000)])


class ResultForm(ConfirmForm):
    outcome = SelectField(_l("Outcome"), choices=[("concluded", _l("Concluded: strike the deal at the confirmed price")),
                                                  ("failed", _l("Failed: the listing ends unsold"))])
    note = TextAreaField(_l("Note"), validators=[Length(max=2000)])


class RescheduleForm(ConfirmForm):
    starts_at = DateTimeLocalField(_l("New start (Beijing time)"), format=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"],
                                   validators=[InputRequired(_l("Give the new start time."))])
    # Descending and sealed settings; empty keeps the listing's settings.
    step_down = StringField(_l("Price step down (yuan)"), validators=[Optional(), Length(max=40)])
    step_interval_seconds = IntegerField(_l("Seconds between steps"),
                                         validators=[Optional(), NumberRange(min=1, max=86_400)])
    floor_price = StringField(_l("Floor price (yuan)"), validators=[Optional(), Length(max=40)])
    sealed_minutes = IntegerField(_l("Minutes to submit sealed bids"),
                                  validators=[Optional(), NumberRange(min=1, max=60 * 24 * 30)])
