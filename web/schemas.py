"""marshmallow schemas at the boundary: input separate from output."""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_dump, pre_load, validate, validates_schema

from blacklist.workflow import CASE_STATUSES


class PageQuerySchema(Schema):
    cursor = fields.String(load_default=None, metadata={"description": "`next` of the previous page"})
    limit = fields.Integer(load_default=100, validate=validate.Range(1, 1000))


class TimeAxesSchema(Schema):
    as_of = fields.Date(load_default=None, metadata={"description": "the day asked about (default today, Asia/Shanghai)"})
    known_at = fields.AwareDateTime(load_default=None, metadata={
        "description": "answer as our records stood at this moment (ISO 8601 with zone; default now)"})


class CasesQuerySchema(PageQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(CASE_STATUSES))
    uscc = fields.String(load_default=None)
    rule = fields.String(load_default=None)
    authority = fields.String(load_default=None, metadata={"description": "region code of the deciding authority"})
    overdue = fields.Boolean(load_default=False)


class NoticeSchema(Schema):
    served_on = fields.Date(required=True)


class DecisionSchema(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(("list", "reject")))
    decided_on = fields.Date(required=True)
    document_no = fields.String(load_default=None, validate=validate.Length(1, 100),
                                metadata={"description": "the written decision's number (required to list)"})
    reason = fields.String(load_default="", validate=validate.Length(0, 4000))
    statement_waived = fields.Boolean(load_default=False, metadata={
        "description": "the party waived its statement or has already stated its case "
                       "(also accepted as `waived`, `party_waived` or `party_stated`)"})

    @pre_load
    def _aliases(self, data: Any, **_kw: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            for alias in ("waived", "party_waived", "party_stated", "statement_made"):
                if alias in data:
                    value = data.pop(alias)
                    data["statement_waived"] = bool(data.get("statement_waived")) or value is True
        return data

    @validates_schema
    def _document_to_list(self, data: dict[str, Any], **_kw: Any) -> None:
        if data.get("outcome") == "list" and not data.get("document_no"):
            raise ValidationError("a decision to list needs the written decision's document_no", "document_no")


class EarlyRemovalSchema(Schema):
    applied_on = fields.Date(required=True)
    decided_on = fields.Date(required=True)
    outcome = fields.String(required=True, validate=validate.OneOf(("granted", "refused")))
    reason = fields.String(load_default="", validate=validate.Length(0, 4000))


class RestoreSchema(Schema):
    decided_on = fields.Date(required=True)
    reason = fields.String(required=True, validate=validate.Length(1, 4000))


class ListingsQuerySchema(PageQuerySchema, TimeAxesSchema):
    active = fields.Boolean(load_default=True, metadata={"description": "only listings in force on as_of"})
    uscc = fields.String(load_default=None)


class PageSchema(Schema):
    """`{"items": [...], "next": cursor or null}` (extra keys such as as_of kept)."""

    class Meta:
        unknown = INCLUDE

    items = fields.List(fields.Dict())
    next = fields.String(allow_none=True)

    @post_dump(pass_original=True)
    def _whole(self, data: dict[str, Any], original: Any, **_kw: Any) -> Any:
        return original


class ObjectSchema(Schema):
    """An object answer whose fields api.md documents; passed through as built."""

    class Meta:
        unknown = INCLUDE  # documented as open (additionalProperties), as the answers are

    id = fields.Raw()

    @post_dump(pass_original=True)
    def _whole(self, data: dict[str, Any], original: Any, **_kw: Any) -> Any:
        return original
