"""The event envelope every Siaga message travels in: CloudEvents 1.0 plus correlation.

`source` + `id` is the idempotency key. An event derived from another gets a deterministic
id (a UUIDv5 of its cause), so re-running a handler republishes the same event, not a new one.
"""
from __future__ import annotations

import json
import math
import re
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


# What a body may be: JSON as I-JSON (RFC 7493) narrows it, and small and shallow enough that reading it is
# cheap. The largest real incident is a few kB and five levels deep.
MAX_BODY_BYTES = 1024 * 1024
MAX_DEPTH = 32
# The database keeps integers as BSON int64, and a longer digit string would cost a quadratic conversion.
MAX_INTEGER = 2**63 - 1
_SURROGATE = re.compile("[\ud800-\udfff]")


class _Unreadable(ValueError):
    """A JSON text that breaks one of the body's rules; its message is the reason."""


def decode_body(body: bytes | str, content_type: str | None) -> dict[str, Any]:
    """Parse a raw AMQP body; anything but a JSON object within the body's rules is an InvalidMessage."""
    media_type = (content_type or "").split(";")[0].strip().lower()
    if media_type != CONTENT_TYPE:
        raise InvalidMessage({"content_type": f"expected {CONTENT_TYPE}, got {content_type!r}"})
    parsed = parse_json(body)
    if not isinstance(parsed, dict):
        raise InvalidMessage({"body": f"expected a JSON object, got {type(parsed).__name__}"})
    return parsed


def parse_json(body: bytes | str, exact_numbers: bool = True) -> Any:
    """The one reading of a JSON body, for every consumer: UTF-8, at most MAX_BODY_BYTES and MAX_DEPTH
    levels, integers within int64, no NaN or Infinity, no lone surrogates, no repeated keys.

    `exact_numbers=False` lets numbers out of range and NaN through, for a reader that only needs to
    know who sent a body refused for them (the dead letter's answer to its sender).

    A repeated key is refused rather than resolved: JSON leaves open which one counts, so two readers
    of the same bytes (a handler, the dead-letter reader, an auditor's tool) could see two different
    messages, e.g. an `id` that is deduplicated under one value and answered under the other."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidMessage({"body": f"larger than {MAX_BODY_BYTES} bytes"})
    try:
        text = body.decode("utf-8") if isinstance(body, (bytes, bytearray)) else body
    except UnicodeDecodeError as exc:
        raise InvalidMessage({"body": f"not UTF-8 text (byte {exc.start})"}) from None
    try:
        parsed = (_DECODER if exact_numbers else _ANY_NUMBERS_DECODER).decode(text)
        _check_tree(parsed)
    except _Unreadable as exc:
        raise InvalidMessage({"body": str(exc)}) from None
    except RecursionError:
        raise InvalidMessage({"body": f"nested deeper than {MAX_DEPTH} levels"}) from None
    except ValueError as exc:
        raise InvalidMessage({"body": f"not valid JSON: {exc}"}) from None
    return parsed


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > len(str(MAX_INTEGER)) or not -MAX_INTEGER - 1 <= (value := int(text)) <= MAX_INTEGER:
        raise _Unreadable("a number is out of range (integers must fit in 64 bits)")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _Unreadable("a number is out of range (beyond a double's)")
    return value


def _not_json(name: str) -> None:
    raise _Unreadable("NaN and Infinity are not JSON numbers")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document = dict(pairs)
    if len(document) != len(pairs):
        raise _Unreadable("an object repeats a key, which makes it ambiguous")
    return document


_DECODER = json.JSONDecoder(object_pairs_hook=_object, parse_int=_integer, parse_float=_finite,
                            parse_constant=_not_json)
_ANY_NUMBERS_DECODER = json.JSONDecoder(object_pairs_hook=_object)


def _check_tree(value: Any) -> None:
    """Depth and text rules the parser's hooks cannot see, walked without recursion."""
    containers = [(value, 1)] if isinstance(value, (dict, list)) else []
    if isinstance(value, str):
        _check_text(value)
    while containers:
        container, depth = containers.pop()
        if depth > MAX_DEPTH:
            raise _Unreadable(f"nested deeper than {MAX_DEPTH} levels")
        items = container.items() if isinstance(container, dict) else enumerate(container)
        for key, item in items:
            if isinstance(key, str):
                _check_text(key)
            if isinstance(item, (dict, list)):
                containers.append((item, depth + 1))
            elif isinstance(item, str):
                _check_text(item)


def _check_text(text: str) -> None:
    if _SURROGATE.search(text):
        raise _Unreadable("text is not valid Unicode (a lone surrogate)")


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
