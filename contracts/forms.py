"""Web forms of the contracts pages (Flask-WTF: a CSRF token on every POST form).

Amounts are typed in yuan and kept as whole fen (``Money.parse``, never a float).
Every action that changes a record asks for a ticked confirm box; refusals and
revocations ask for a reason. The filter forms of the auditor pages are GET
forms without a CSRF token: they change nothing.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    IntegerField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp
from wtforms.validators import ValidationError as FieldError
from wtforms.widgets import CheckboxInput, ListWidget

from contracts import domain as cd
from contracts.pages.labels import (
    CERTIFICATE_STATE,
    CONTRACT_STATE,
    CONTRACT_TYPE,
    REFUSAL_REASON,
    REGISTRATION_STATE,
)
from exchange.errors import DomainError
from exchange.form_fields import SelectField, SelectMultipleField
from exchange.money import Money
from exchange.text import clean_text

_CONFIRM = _l("Tick the box to confirm.")
_PARTY = _l("Party (reference, e.g. P2026-000001)")
_REASON = _l("Give a reason.")


class YuanField(StringField):
    """An amount in yuan typed as text (``1,250,000.00``), kept as whole fen in ``.fen``."""

    def __init__(self, *args, allow_zero: bool = False, **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.allow_zero = allow_zero
        self.fen: int | None = None

    def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
        super().process_formdata(valuelist)
        self.fen = None
        text = (self.data or "").strip()
        if not text:
            return
        try:
            money = Money.parse(text, "CNY")
        except DomainError:
            raise ValueError(_l("Enter an amount in yuan, e.g. 1250000 or 1,250,000.00.")) from None
        if money.fen < 0 or (money.fen == 0 and not self.allow_zero):
            raise ValueError(_l("The amount must be more than zero."))
        if money.fen >= 10**15:
            raise ValueError(_l("The amount is too large."))
        self.fen = money.fen


class MultiCheckboxField(SelectMultipleField):
    """Several choices as a list of checkboxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def plain_text(form, field) -> None:  # type: ignore[no-untyped-def]
    """Refuse control and direction characters (a NUL would not even reach the database)."""
    if field.data:
        try:
            clean_text(field.data, field.name, max_length=10_000, min_length=0, multiline=True)
        except DomainError:
            raise FieldError(_l("The text contains control or direction characters.")) from None


def sane_date(form, field) -> None:  # type: ignore[no-untyped-def]
    """Dates far outside the exchange's life are typos (and overflow time-zone arithmetic)."""
    if field.data and not date(1990, 1, 1) <= field.data <= date(2199, 12, 31):
        raise FieldError(_l("Enter a date between 1990 and 2199."))


def _blank(choices, label=None):  # type: ignore[no-untyped-def]
    return [("", label or _l("Any"))] + list(choices)


# -- member -------------------------------------------------------------------------------------------
class SignForm(FlaskForm):
    """The signature: the SHA-256 of the text the signer was shown travels with the form, so a
    text changed in between is refused (``contract_text_mismatch``) instead of being signed unseen."""

    text_sha256 = HiddenField(validators=[DataRequired(_l("The form lost the text fingerprint; reload the page.")),
                                          Regexp(r"^[0-9a-f]{64}$",
                                                 message=_l("The form lost the text fingerprint; reload the page."))])
    agree = BooleanField(_l("I have read the full text above and sign it exactly as it stands."),
                         validators=[DataRequired(_l("Tick the box to sign."))])


class SubmitRegistrationForm(FlaskForm):
    """Submit the contract for technology contract registration (技术合同认定登记)."""

    licence_term_years = StringField(_l("Licence term in years (licences only; leave empty to take it from the "
                                        "contract)"), validators=[Optional(), Length(max=12), plain_text])
    export_controlled = BooleanField(_l("The technology is export-controlled"))
    export_licence_obtained = BooleanField(_l("An export licence has been obtained"))
    disputed = BooleanField(_l("The contract is disputed"))
    wholly_related = BooleanField(_l("Seller and buyer are wholly (100%) related"))
    confirm = BooleanField(_l("Submit the contract for registration"), validators=[DataRequired(_CONFIRM)])


# -- operator -----------------------------------------------------------------------------------------
class ConfirmForm(FlaskForm):
    confirm = BooleanField(_l("Yes, I have checked and want to do this."), validators=[DataRequired(_CONFIRM)])


class ReasonForm(ConfirmForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(_REASON), Length(max=2000)])


class NoteForm(ConfirmForm):
    note = TextAreaField(_l("Decision note (optional)"), validators=[Optional(), Length(max=2000)])


class ReviewForm(FlaskForm):
    """What the reviewer found; a dispute lengthens the review to 30 working days."""

    export_controlled = BooleanField(_l("Export-controlled technology"))
    export_licence_obtained = BooleanField(_l("Export licence obtained"))
    restrictive_clauses_flagged = BooleanField(_l("Illegal restrictive clauses found (Civil Code art. 850)"))
    disputed = BooleanField(_l("Disputed"))
    wholly_related = BooleanField(_l("Wholly related parties"))


REVIEW_FLAGS = ("export_controlled", "export_licence_obtained", "restrictive_clauses_flagged", "disputed",
                "wholly_related")


class RefuseForm(ConfirmForm):
    """Refusal (未予登记): the reasons are the domain's; each must be one the data supports."""

    reasons = MultiCheckboxField(_l("Reasons for refusal"),
                                 choices=[(r.value, REFUSAL_REASON[r]) for r in cd.RefusalReason])
    note = TextAreaField(_l("Note to the parties"), validators=[Optional(), Length(max=2000)])


class ChangeForm(ConfirmForm):
    """A registered change (变更登记): the values as they should stand now, and why."""

    contract_name = StringField(_l("Contract name"), validators=[DataRequired(), Length(max=200)])
    subject = TextAreaField(_l("Subject"), validators=[Optional(), Length(max=500)])
    asset_refs = StringField(_l("Identifiers of the rights (comma separated)"), validators=[Optional(),
                                                                                          Length(max=1300)])
    deal_amount = YuanField(_l("Deal amount (yuan)"), validators=[DataRequired()])
    tech_amount = YuanField(_l("Technology transaction amount (yuan)"), allow_zero=True,
                            validators=[DataRequired()])
    licence_term_years = StringField(_l("Licence term (years)"), validators=[Optional(), Length(max=12), plain_text])
    term_start = DateField(_l("Term starts"), validators=[Optional(), sane_date])
    term_end = DateField(_l("Term ends"), validators=[Optional(), sane_date])
    export_controlled = BooleanField(_l("Export-controlled technology"))
    export_licence_obtained = BooleanField(_l("Export licence obtained"))
    wholly_related = BooleanField(_l("Wholly related parties"))
    reason = TextAreaField(_l("Reason for the change"), validators=[DataRequired(_REASON), Length(max=2000)])


class ItemRowForm(Form):
    description = StringField(_l("Item"), validators=[Optional(), Length(max=500)])
    amount = YuanField(_l("Amount (yuan)"), allow_zero=True)


class ItemsForm(FlaskForm):
    """The non-technical items of the price (equipment, materials); empty rows are ignored."""

    items = FieldList(FormField(ItemRowForm), min_entries=0, max_entries=50)


# -- auditor filters (GET) ------------------------------------------------------------------------------
class _GetForm(FlaskForm):
    class Meta:
        csrf = False


class ContractFilterForm(_GetForm):
    date_from = DateField(_l("Drafted from"), validators=[Optional(), sane_date])
    date_to = DateField(_l("Drafted to"), validators=[Optional(), sane_date])
    state = SelectField(_l("State"), choices=_blank((s.value, CONTRACT_STATE[s]) for s in cd.ContractState),
                        validators=[Optional()])
    contract_type = SelectField(_l("Contract type"), choices=_blank((t.value, CONTRACT_TYPE[t])
                                                                   for t in cd.ContractType),
                                validators=[Optional()])
    party = StringField(_PARTY, validators=[Optional(), Length(max=20), plain_text])


class RegistrationFilterForm(_GetForm):
    date_from = DateField(_l("Submitted from"), validators=[Optional(), sane_date])
    date_to = DateField(_l("Submitted to"), validators=[Optional(), sane_date])
    state = SelectField(_l("State"), choices=_blank((s.value, REGISTRATION_STATE[s])
                                                    for s in cd.RegistrationState), validators=[Optional()])
    overdue = SelectField(_l("Decision deadline"), choices=[("", _l("Any")), ("yes", _l("Overdue")),
                                                            ("no", _l("Not overdue"))], validators=[Optional()])
    registration_number = StringField(_l("Registration number"), validators=[Optional(), Length(max=30), plain_text])
    party = StringField(_PARTY, validators=[Optional(), Length(max=20), plain_text])


class CertificateFilterForm(_GetForm):
    date_from = DateField(_l("Issued from"), validators=[Optional(), sane_date])
    date_to = DateField(_l("Issued to"), validators=[Optional(), sane_date])
    state = SelectField(_l("State"), choices=_blank((s.value, CERTIFICATE_STATE[s]) for s in cd.CertificateState),
                        validators=[Optional()])
    deal = StringField(_l("Deal"), validators=[Optional(), Length(max=20), plain_text])
    party = StringField(_PARTY, validators=[Optional(), Length(max=20), plain_text])


class MyContractsFilterForm(_GetForm):
    state = SelectField(_l("State"), choices=_blank((s.value, CONTRACT_STATE[s]) for s in cd.ContractState),
                        validators=[Optional()])


class TrailFilterForm(_GetForm):
    action = StringField(_l("Action"), validators=[Optional(), Length(max=80), plain_text])
    subject_ref = StringField(_l("Subject reference"), validators=[Optional(), Length(max=40), plain_text])
    after_seq = IntegerField(_l("After seq"), validators=[Optional(), NumberRange(min=0, max=2**62)])


class BundleForm(_GetForm):
    start = DateField(_l("From"), validators=[InputRequired(_l("Give a date.")), sane_date])
    end = DateField(_l("To"), validators=[InputRequired(_l("Give a date.")), sane_date])
