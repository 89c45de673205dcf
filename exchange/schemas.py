"""marshmallow schemas for the platform's JSON API."""
from __future__ import annotations

import marshmallow as ma

from exchange.models import EntityType, PartyKind, Role
from exchange.pagination import PageMetaSchema


class StrictSchema(ma.Schema):
    """Unknown fields are an error, not silently dropped: a typo must not pass unnoticed."""

    class Meta:
        unknown = ma.RAISE


class ProblemSchema(ma.Schema):
    type = ma.fields.String()
    title = ma.fields.String()
    status = ma.fields.Integer()
    code = ma.fields.String(metadata={"description": "stable machine-readable error code"})
    detail = ma.fields.String()
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Raw())
    request_id = ma.fields.String()
    details = ma.fields.Dict()


class RegisterSchema(StrictSchema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(max=256))
    display_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))
    party_kind = ma.fields.Enum(PartyKind, by_value=True, required=True)
    party_name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=200))
    entity_type = ma.fields.Enum(EntityType, by_value=True, required=True)
    id_code = ma.fields.String(required=True, validate=ma.validate.Length(min=15, max=40),
                               metadata={"description": "unified social credit code or resident ID number"})
    related_group = ma.fields.String(load_default=None, allow_none=True, validate=ma.validate.Length(max=40))


class LoginSchema(StrictSchema):
    email = ma.fields.String(required=True, validate=ma.validate.Length(max=254))
    password = ma.fields.String(required=True, load_only=True, validate=ma.validate.Length(max=256))
    token_name = ma.fields.String(load_default="API token", validate=ma.validate.Length(min=1, max=100))


class PartySchema(ma.Schema):
    ref = ma.fields.String()
    kind = ma.fields.Enum(PartyKind, by_value=True)
    entity_type = ma.fields.Enum(EntityType, by_value=True)
    name = ma.fields.String()
    id_code = ma.fields.Method("_id_code", metadata={"description": "masked for other viewers when a person's ID"})
    region_code = ma.fields.String()
    related_group = ma.fields.String(allow_none=True)

    def _id_code(self, party):  # type: ignore[no-untyped-def]
        from flask import g

        viewer = g.get("user")
        if viewer is not None and (viewer.party_id == party.id or viewer.role in (Role.operator, Role.admin, Role.auditor)):
            return party.id_code
        return party.masked_id_code


class UserSchema(ma.Schema):
    ref = ma.fields.String()
    email = ma.fields.String()
    display_name = ma.fields.String()
    role = ma.fields.Enum(Role, by_value=True)
    party = ma.fields.Nested(PartySchema)
    created_at = ma.fields.DateTime()


class TokenSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    prefix = ma.fields.String()
    created_at = ma.fields.DateTime()
    last_used_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)


class NewTokenSchema(TokenSchema):
    token = ma.fields.String(metadata={"description": "shown once; store it safely"})


class TokenCreateSchema(StrictSchema):
    name = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=100))


class PartyPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(PartySchema))
    meta = ma.fields.Nested(PageMetaSchema)


class UserPageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UserSchema))
    meta = ma.fields.Nested(PageMetaSchema)


class CalendarDaySchema(ma.Schema):
    name = ma.fields.String(required=True)
    start = ma.fields.Date()
    end = ma.fields.Date()
    date = ma.fields.Date()


class CalendarYearSchema(StrictSchema):
    year = ma.fields.Integer(required=True, validate=ma.validate.Range(min=2000, max=2100))
    source = ma.fields.String(load_default="")
    holidays = ma.fields.List(ma.fields.Dict(), required=True)
    makeup_days = ma.fields.List(ma.fields.Dict(), required=True)


class WorkingDaysArgs(StrictSchema):
    start = ma.fields.Date(required=True)
    days = ma.fields.Integer(required=True, validate=ma.validate.Range(min=0, max=2000))


class DeadlineSchema(ma.Schema):
    start = ma.fields.Date()
    days = ma.fields.Integer()
    deadline = ma.fields.Date()
    provisional = ma.fields.Boolean()


class AuditEventSchema(ma.Schema):
    seq = ma.fields.Integer()
    occurred_at = ma.fields.DateTime()
    actor = ma.fields.String()
    action = ma.fields.String()
    subject_type = ma.fields.String()
    subject_ref = ma.fields.String()
    before = ma.fields.Raw(allow_none=True)
    after = ma.fields.Raw(allow_none=True)
    reason = ma.fields.String(allow_none=True)
    prev_hash = ma.fields.String()
    hash = ma.fields.String()


class AuditQuerySchema(StrictSchema):
    after_seq = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=2**63 - 1))
    limit = ma.fields.Integer(load_default=100, validate=ma.validate.Range(min=1, max=1000))
    action = ma.fields.String(load_default=None, validate=ma.validate.Length(max=80))
    subject_ref = ma.fields.String(load_default=None, validate=ma.validate.Length(max=40))


class AuditFeedSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(AuditEventSchema))
    next_after_seq = ma.fields.Integer()


class ChainReportSchema(ma.Schema):
    ok = ma.fields.Boolean()
    checked = ma.fields.Integer()
    first_broken_seq = ma.fields.Integer(allow_none=True)
    problem = ma.fields.String(allow_none=True)


class NoticeSchema(ma.Schema):
    id = ma.fields.Integer()
    topic = ma.fields.String(metadata={"description": "stable kind of notice, e.g. registration.qualified"})
    subject = ma.fields.String(metadata={"description": "in the request's language (?lang=zh|en)"})
    body = ma.fields.String()
    link = ma.fields.String(metadata={"description": "path of the page the notice is about"})
    created_at = ma.fields.DateTime()
    emailed_at = ma.fields.DateTime(allow_none=True)


class NoticePageSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(NoticeSchema))
    meta = ma.fields.Nested(PageMetaSchema)
