"""Web forms of the platform pages (Flask-WTF: CSRF token on every form)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from exchange.form_fields import SelectField


class LoginForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])


class SignupForm(FlaskForm):
    # The address is checked by accounts.normalise_email, as for the API (wtforms' Email()
    # needs the email_validator package, which is not installed: every sign-up was a 500).
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=256)])
    display_name = StringField(_l("Your name"), validators=[DataRequired(), Length(max=100)])
    party_kind = SelectField(_l("You act for"), choices=[("organisation", _l("An organisation")),
                                                        ("individual", _l("Myself (a person)"))])
    entity_type = SelectField(_l("Type"), choices=[
        ("enterprise", _l("Enterprise")), ("state_owned_enterprise", _l("State-owned enterprise")),
        ("university", _l("University")), ("research_institute", _l("Research institute")),
        ("other_organisation", _l("Other organisation")), ("individual", _l("Individual"))])
    party_name = StringField(_l("Name of the organisation or person"), validators=[DataRequired(), Length(max=200)])
    id_code = StringField(_l("Unified social credit code or resident ID number"),
                          validators=[DataRequired(), Length(max=40)])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)])


class EmptyForm(FlaskForm):
    """Just the CSRF token, for buttons that post."""
