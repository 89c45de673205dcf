"""Web forms of the listings pages (Flask-WTF: a CSRF token on every POST form).

Amounts are typed in yuan and converted to whole fen with ``Money.parse`` (never a
float); a bad amount is a field error. The services check every rule again and
their refusals are put beside the field they name (see ``views.common.show_error``).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, IntegerField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from exchange.errors import DomainError
from exchange.form_fields import SelectField
from exchange.money import Money
from listings import domain as d
from listings.fields import TECH_FIELDS
from listings.labels import AUCTION_FORMAT_LABELS, CHECKLIST_LABELS, EVIDENCE_KIND_LABELS, choices
from listings.service.assets import EVIDENCE_KINDS


class YuanField(StringField):
    """An amount in yuan, typed as text (``1,250,000.00``), kept as whole fen in ``.fen``."""

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


def field_choices(lang: str = "zh") -> list[tuple[str, str]]:
    """Technical fields in the page's language (set on the form per request)."""
    return [(code, zh if lang == "zh" else en) for code, (zh, en) in TECH_FIELDS.items()]


def with_blank(items, label=None):  # type: ignore[no-untyped-def]
    return [("", label or _l("Any"))] + list(items)


# -- the catalogue -------------------------------------------------------------------------------
class CatalogueForm(FlaskForm):
    """The catalogue's search form (GET: no CSRF token needed, nothing changes)."""

    class Meta:
        csrf = False

    q = StringField(_l("Keywords"), validators=[Optional(), Length(max=100)])
    kind = SelectField(_l("Asset kind"), choices=with_blank(choices(d.AssetKind)), validators=[Optional()])
    technical_field = SelectField(_l("Technical field"), validators=[Optional()])
    mode = SelectField(_l("Trading mode"), choices=with_blank(choices(
        [m for m in d.TradingMode if m != d.TradingMode.OPEN_LICENCE])), validators=[Optional()])
    state = SelectField(_l("State"), validators=[Optional()], choices=with_blank(choices([
        d.ListingState.PUBLISHED, d.ListingState.SUSPENDED, d.ListingState.AWAITING_NEGOTIATION,
        d.ListingState.AWAITING_AUCTION, d.ListingState.IN_AUCTION, d.ListingState.SOLD, d.ListingState.UNSOLD,
        d.ListingState.TERMINATED])))
    min_price = YuanField(_l("Price from (yuan)"), allow_zero=True)
    max_price = YuanField(_l("Price up to (yuan)"), allow_zero=True)
    ending_within = IntegerField(_l("Publicity ends within (days)"),
                                 validators=[Optional(), NumberRange(min=0, max=365)])


# -- the seller's wizard ----------------------------------------------------------------------------
class AssetForm(FlaskForm):
    """Step 1: the asset and its number."""

    kind = SelectField(_l("Asset kind"), choices=choices(d.AssetKind), validators=[InputRequired()])
    number = StringField(_l("Patent or registration number"), validators=[Optional(), Length(max=40)])
    filing_date = DateField(_l("Filing date"), validators=[Optional()])
    title = StringField(_l("Title of the technology"), validators=[DataRequired(), Length(max=200)])
    technical_field = SelectField(_l("Technical field"), validators=[InputRequired()])
    summary = TextAreaField(_l("Public summary"), validators=[Optional(), Length(max=5000)])
    confidential_details = TextAreaField(_l("Confidential details (technical secrets only)"),
                                         validators=[Optional(), Length(max=20000)])
    employee_invention_of = StringField(_l("Employee invention of (institution's party reference)"),
                                        validators=[Optional(), Length(max=20)])


class CoOwnerForm(FlaskForm):
    """Step 2: add a co-owner, or record its consent with the written consent document."""

    party_ref = StringField(_l("Co-owner's party reference"), validators=[DataRequired(), Length(max=20)])
    share_percent = StringField(_l("Share (percent, optional)"), validators=[Optional(), Length(max=8)])
    consent_file = FileField(_l("Written consent (PDF or image)"))


class EncumbranceForm(FlaskForm):
    """Step 2: a pledge, an existing exclusive or sole licence, or a court freeze."""

    kind = SelectField(_l("Kind"), choices=choices(d.EncumbranceKind), validators=[InputRequired()])
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    ends_on = DateField(_l("Ends on (optional)"), validators=[Optional()])
    holder_party_ref = StringField(_l("Holder's party reference (optional)"), validators=[Optional(), Length(max=20)])
    holder_name = StringField(_l("Holder's name (pledgee, licensee or court)"), validators=[Optional(), Length(max=200)])
    consent_to_transfer = BooleanField(_l("The holder consents to this transfer"))
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class EvidenceForm(FlaskForm):
    """Step 3: upload evidence (multipart)."""

    kind = SelectField(_l("Kind of document"), choices=[(k, EVIDENCE_KIND_LABELS[k]) for k in EVIDENCE_KINDS],
                       validators=[InputRequired()])
    file = FileField(_l("File (PDF, PNG, JPEG or WebP)"), validators=[FileRequired(_l("Choose a file."))])
    public = BooleanField(_l("Visitors of the listing may download it"))


class CostValuationForm(FlaskForm):
    """Step 4: the cost method (the seller's floor)."""

    replacement_cost = YuanField(_l("Replacement cost (yuan)"), validators=[DataRequired()], allow_zero=True)
    physical_depreciation = YuanField(_l("Physical depreciation (yuan)"), allow_zero=True)
    functional_depreciation = YuanField(_l("Functional depreciation (yuan)"), allow_zero=True)
    economic_depreciation = YuanField(_l("Economic depreciation (yuan)"), allow_zero=True)


class IncomeValuationForm(FlaskForm):
    """Step 4: the income method (the usual one for patents)."""

    yearly_revenue = TextAreaField(_l("Projected yearly revenue (yuan, one year per line)"),
                                   validators=[DataRequired(), Length(max=2000)])
    royalty_share = StringField(_l("Royalty share (e.g. 0.25)"), validators=[DataRequired(), Length(max=12)])
    discount_rate = StringField(_l("Discount rate (e.g. 0.10)"), validators=[DataRequired(), Length(max=12)])
    economic_life_years = IntegerField(_l("Economic life (years)"), validators=[InputRequired(),
                                                                                NumberRange(min=1, max=50)])


class TermsForm(FlaskForm):
    """Step 5: the listing terms."""

    title = StringField(_l("Listing title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10000)])
    mode = SelectField(_l("Trading mode"), choices=choices(
        [m for m in d.TradingMode if m != d.TradingMode.OPEN_LICENCE]), validators=[InputRequired()])
    licence_term_months = IntegerField(_l("Licence term (months)"), validators=[Optional(),
                                                                               NumberRange(min=1, max=600)])
    territory = StringField(_l("Licence territory"), validators=[Optional(), Length(max=200)])
    price = YuanField(_l("Listing price (yuan)"), validators=[DataRequired()])
    deposit = YuanField(_l("Deposit (yuan, at most 30 percent of the price)"), validators=[DataRequired()])
    increment = YuanField(_l("Bidding increment (yuan)"), validators=[DataRequired()])
    auction_format = SelectField(_l("Bidding method"), choices=list(AUCTION_FORMAT_LABELS.items()),
                                 validators=[InputRequired()])
    free_bidding_minutes = IntegerField(_l("Free-bidding period (minutes)"), default=60,
                                        validators=[InputRequired(), NumberRange(min=1, max=7 * 24 * 60)])
    countdown_seconds = IntegerField(_l("Countdown (seconds)"), default=300,
                                     validators=[InputRequired(), NumberRange(min=30, max=3600)])
    hard_end_minutes = IntegerField(_l("Hard end after (minutes, optional)"), validators=[Optional()])
    leader_may_raise = BooleanField(_l("The leading bidder may raise its own bid"))
    qualification_conditions = TextAreaField(_l("Qualification conditions for buyers"),
                                             validators=[Optional(), Length(max=5000)])
    disclosures = TextAreaField(_l("Disclosures (known defects, obligations, risks)"),
                                validators=[Optional(), Length(max=10000)])
    publicity_working_days = IntegerField(_l("Publicity (working days)"), default=d.DEFAULT_PUBLICITY_WORKING_DAYS,
                                          validators=[InputRequired(), NumberRange(min=1, max=120)])
    allows_extension = BooleanField(_l("Extend publicity by 5 working days when nobody qualifies"), default=True)
    max_extensions = IntegerField(_l("Extensions at most"), default=3,
                                  validators=[InputRequired(), NumberRange(min=0, max=20)])


class OpenLicenceForm(FlaskForm):
    fee_kind = SelectField(_l("Fee"), choices=choices(d.OpenLicenceFeeKind), validators=[InputRequired()])
    lump_sum = YuanField(_l("Lump sum (yuan)"))
    entry_fee = YuanField(_l("Entry fee (yuan)"))
    royalty_rate = StringField(_l("Royalty rate (e.g. 0.035)"), validators=[Optional(), Length(max=12)])
    term_start = DateField(_l("Licence term starts"), validators=[InputRequired()])
    term_end = DateField(_l("Licence term ends"), validators=[InputRequired()])


class NoticeForm(FlaskForm):
    notice = TextAreaField(_l("Written notice to the patentee"), validators=[DataRequired(), Length(max=5000)])
    accept = BooleanField(_l("I accept the declared fee and term"), validators=[DataRequired(
        _l("Tick this box to accept the declared terms."))])


# -- lifecycle actions ------------------------------------------------------------------------------------
class ConfirmForm(FlaskForm):
    """A button that changes something important: it asks for a ticked 'confirm' box."""

    confirm = BooleanField(_l("Yes, I am sure"), validators=[DataRequired(_l("Tick the box to confirm."))])


class ReasonForm(ConfirmForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=2000)])


class WithdrawRegistrationForm(ReasonForm):
    # What the page told the buyer about its deposit ("1": forfeited, "0": refunded); the withdrawal is
    # refused if that changed before the buyer confirmed.
    expect_forfeit = HiddenField()


class RelistForm(FlaskForm):
    price = YuanField(_l("New listing price (yuan)"), validators=[DataRequired()])
    deposit = YuanField(_l("Deposit (yuan, at most 30 percent of the price)"), validators=[DataRequired()])
    increment = YuanField(_l("Bidding increment (yuan)"), validators=[DataRequired()])


class RegisterInterestForm(FlaskForm):
    declaration = TextAreaField(_l("Your declaration"), validators=[DataRequired(), Length(max=5000)])
    meets_conditions = BooleanField(_l("I declare that we meet the published qualification conditions"),
                                    validators=[DataRequired(_l("Tick the box to make the declaration."))])


# -- operator ---------------------------------------------------------------------------------------------
class ReviewForm(FlaskForm):
    """Rights confirmation (确权): the five checklist items, reasons, and the decision."""

    ownership = BooleanField(CHECKLIST_LABELS["ownership"])
    legal_status = BooleanField(CHECKLIST_LABELS["legal_status"])
    consents = BooleanField(CHECKLIST_LABELS["consents"])
    encumbrances = BooleanField(CHECKLIST_LABELS["encumbrances"])
    evidence = BooleanField(CHECKLIST_LABELS["evidence"])
    checklist = HiddenField()  # carries the refusals about the checklist as a whole
    reasons = TextAreaField(_l("Reasons"), validators=[DataRequired(), Length(max=5000)])
    confirm_rights = SubmitField(_l("Confirm the rights"))
    reject_rights = SubmitField(_l("Refuse confirmation"))


class AppraisalForm(FlaskForm):
    appraiser = StringField(_l("Appraiser"), validators=[DataRequired(), Length(max=200)])
    report_number = StringField(_l("Report number"), validators=[DataRequired(), Length(max=60)])
    value = YuanField(_l("Appraised value (yuan)"), validators=[DataRequired()])
    report_date = DateField(_l("Report date"), validators=[InputRequired()])
