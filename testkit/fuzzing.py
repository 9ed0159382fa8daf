"""Fuzzed intake messages: from the contract's own schema and far outside it.

Used by the short fuzz test in the suite and by `python -m bench fuzz` (100k bodies). Every body
is either *identifiable* (a JSON object with a string `source` and `id`: the sender can be
answered with `report_rejected`) or not (it can only be dead-lettered with a reason).
"""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kombu import Connection, Queue
from marshmallow import Schema, fields

from shared import topology
from shared.contract import INCIDENT_REPORTED

JSON_LEAVES = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
ANY_JSON = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "text/plain", "application/xml", None,
                 "application/x-msgpack"]


PLAUSIBLE_STRINGS = st.sampled_from([
    "citizen_app", "hotline_110", "cctv", "siskamling", "patrol", "open311", "laka lantas", "curanmor", "begal",
    "31.71.06.1001", "31.71.06.1004", "31.71.06.1999", "99.99.99.9999", "0812-9999-1234", "+62 812", "",
])


def from_marshmallow(schema: Schema):
    """Documents shaped like `schema` (any key may be missing), values plausible or hostile."""
    return st.fixed_dictionaries({}, optional={
        field.data_key or name: field_values(field) for name, field in schema.fields.items()})


def field_values(field: fields.Field):
    if isinstance(field, fields.Nested):
        return from_marshmallow(field.schema) | JSON_LEAVES
    if isinstance(field, fields.String):
        return PLAUSIBLE_STRINGS | st.text(max_size=40) | JSON_LEAVES
    if isinstance(field, (fields.Float, fields.Integer)):
        return st.floats(-200, 200, allow_nan=False) | st.integers(-1000, 1000) | JSON_LEAVES
    if isinstance(field, fields.Boolean):
        return st.booleans() | JSON_LEAVES
    if isinstance(field, fields.DateTime):
        return st.datetimes().map(lambda moment: moment.isoformat()) | JSON_LEAVES
    return ANY_JSON


@dataclass
class Fuzzed:
    body: bytes
    content_type: str | None
    source: str | None
    id: str | None

    @property
    def identifiable(self) -> bool:
        return bool(self.source) and bool(self.id)


def envelope(data: Any, **overrides: Any) -> dict:
    return {"specversion": "1.0", "id": f"fz-{uuid.uuid4()}", "source": "/fuzz", "type": "incident_reported",
            "time": "2026-11-23T01:00:00Z", "data": data} | overrides


def as_json(document: Any, content_type: str | None = "application/json") -> Fuzzed:
    ident = document if isinstance(document, dict) else {}
    source, id_ = ident.get("source"), ident.get("id")
    return Fuzzed(json.dumps(document).encode(), content_type,
                  source if isinstance(source, str) else None, id_ if isinstance(id_, str) else None)


@st.composite
def fuzzed_messages(draw) -> Fuzzed:
    kind = draw(st.sampled_from(["schema", "schema", "any-data", "bad-envelope", "bad-json", "huge", "content-type"]))
    if kind == "schema":  # shaped by the contract's own schema, often breaking the rules behind it
        return as_json(envelope(draw(from_marshmallow(INCIDENT_REPORTED.schema))))
    if kind == "any-data":
        return as_json(envelope(draw(ANY_JSON)))
    if kind == "bad-envelope":
        field = draw(st.sampled_from(["id", "source", "type", "time", "specversion", "data"]))
        broken = envelope({"category": "theft"})
        broken[field] = draw(JSON_LEAVES | st.lists(JSON_LEAVES, max_size=2))
        if field == "id" and isinstance(broken["id"], str):
            broken["id"] = f"fz-{uuid.uuid4()}-{broken['id']}"
        return as_json(broken)
    if kind == "bad-json":
        return Fuzzed(draw(st.binary(max_size=200)).replace(b"{", b"") + b"{", "application/json", None, None)
    if kind == "huge":
        return as_json(envelope({"source_kind": "citizen_app", "category": "theft", "description": "x" * 300_000,
                                 "location": {"village_code": "31.71.06.1001"}}))
    document = envelope({"category": "fire"})
    return as_json(document, draw(st.sampled_from(CONTENT_TYPES[2:])))


def generate(count: int) -> list[Fuzzed]:
    """`count` fuzzed messages, reproducibly (hypothesis drives generation; nothing is asserted here)."""
    found: list[Fuzzed] = []
    stream(count, found.append)
    return found[:count]


def stream(count: int, each: Callable[[Fuzzed], None]) -> None:
    """Hand `count` fuzzed messages to `each` as they are drawn, so a large run never holds them all
    (a seventh of them are 300 kB bodies) and sending overlaps drawing."""
    handed, failures = 0, []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(fuzzed_messages())
    def collect(message: Fuzzed) -> None:
        nonlocal handed
        if handed < count and not failures:
            handed += 1
            try:
                each(message)
            except Exception as exc:  # raised inside, hypothesis would replay examples to shrink it
                failures.append(exc)

    collect()
    if failures:
        raise failures[0]


def answered_id(event: dict) -> str | None:
    """Which incident an outcome event answers: its cause, or (for a dead-letter rejection) its original."""
    if event["type"] == "report_rejected":
        return event["data"]["original"]["id"]
    return event.get("causationid")


def unidentifiable_dead_letters(amqp_uri: str) -> int:
    count = 0
    with Connection(amqp_uri) as connection:
        queue = Queue(topology.DEAD_LETTER_QUEUE, no_declare=True)(connection.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            try:
                body = json.loads(message.body)
            except (ValueError, UnicodeDecodeError):
                body = None
            ident = body if isinstance(body, dict) else {}
            if not (isinstance(ident.get("source"), str) and ident["source"]
                    and isinstance(ident.get("id"), str) and ident["id"]):
                count += 1
    return count
