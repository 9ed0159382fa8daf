"""The event envelope every Siaga message travels in: CloudEvents 1.0 plus correlation.

`source` + `id` is the idempotency key. An event derived from another gets a deterministic
id (a UUIDv5 of its cause), so re-running a handler republishes the same event, not a new one.
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"
_DERIVED_NAMESPACE = uuid.UUID("6f1e9a52-6b39-4c57-9d0e-5e1f2c0a7a11")


class InvalidMessage(Exception):
    """A message that can never be processed; `reasons` says why, field by field."""

    def __init__(self, reasons: dict[str, Any], source: str | None = None, id: str | None = None):
        super().__init__(json.dumps(reasons, ensure_ascii=False, default=str))
        self.reasons = reasons
        self.source = source
        self.id = id


class EnvelopeSchema(Schema):
    """CloudEvents 1.0 attributes Siaga uses, plus the correlation/causation chain."""

    class Meta:
        unknown = EXCLUDE  # other CloudEvents extensions are allowed and ignored

    specversion = fields.String(required=True, validate=validate.Equal(SPECVERSION))
    id = fields.String(required=True, validate=validate.Length(min=1, max=200))
    source = fields.String(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    time = fields.AwareDateTime(required=True, format="iso", default_timezone=timezone.utc)
    datacontenttype = fields.String(load_default=CONTENT_TYPE, validate=validate.Equal(CONTENT_TYPE))
    correlationid = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    causationid = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    data = fields.Dict(required=True)


@dataclass(frozen=True)
class Event:
    """A loaded, validated event as handlers see it."""

    id: str
    source: str
    type: str
    time: datetime
    data: dict[str, Any]
    correlationid: str | None = None
    causationid: str | None = None
    specversion: str = field(default=SPECVERSION)
    # The party that sent it, as the broker vouched for it (see shared.trust); None when not read from the broker.
    sender: str | None = None

    @property
    def key(self) -> str:
        """The idempotency key: unique per source."""
        return f"{self.source}|{self.id}"


def derived_id(cause: Event | str, event_type: str, discriminator: str = "") -> str:
    """Deterministic id for an event caused by `cause` (an Event or its `source|id` key)."""
    key = cause if isinstance(cause, str) else cause.key
    return str(uuid.uuid5(_DERIVED_NAMESPACE, f"{key}|{event_type}|{discriminator}"))


def to_millisecond(at: datetime) -> datetime:
    """A time as the database keeps it (BSON dates hold milliseconds): an event said first from memory
    and again from the database must carry the same time."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def decode_body(body: bytes | str, content_type: str | None) -> dict[str, Any]:
    """Parse a raw AMQP body; anything but a JSON object is an InvalidMessage."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != CONTENT_TYPE:
        raise InvalidMessage({"content_type": f"expected {CONTENT_TYPE}, got {content_type!r}"})
    try:
        parsed = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidMessage({"body": f"not valid JSON: {exc}"}) from None
    if not isinstance(parsed, dict):
        raise InvalidMessage({"body": f"expected a JSON object, got {type(parsed).__name__}"})
    return parsed


# One instance for every message: building a schema costs more than using it.
ENVELOPE = EnvelopeSchema()


def load_envelope(document: dict[str, Any]) -> dict[str, Any]:
    try:
        return ENVELOPE.load(document)
    except ValidationError as exc:
        raise InvalidMessage(
            {"envelope": exc.messages},
            source=_str_or_none(document.get("source")),
            id=_str_or_none(document.get("id")),
        ) from None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
