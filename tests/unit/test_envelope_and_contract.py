"""The envelope and the contract registry: what every producer dumps and every consumer loads."""
from __future__ import annotations

import json

import pytest

from shared.contract import EVENT_TYPES, INCIDENT_REPORTED, REPORT_REJECTED, dump_event, load_event
from shared.envelope import InvalidMessage, decode_body, derived_id, load_envelope
from tests.factories import create_incident


def loaded_incident(**overrides):
    return load_event(create_incident(**overrides), INCIDENT_REPORTED)


def test_derived_id_is_the_same_for_the_same_cause_and_differs_per_type_and_discriminator():
    cause = loaded_incident()
    assert derived_id(cause, "report_received") == derived_id(cause, "report_received")
    assert derived_id(cause, "report_received") != derived_id(cause, "report_rejected")
    assert derived_id(cause, "sms", "+62811") != derived_id(cause, "sms", "+62812")
    assert derived_id(cause, "x") == derived_id(cause.key, "x")


def test_derived_event_inherits_correlation_and_names_its_cause():
    cause = loaded_incident(correlationid="report-1")
    body = dump_event(REPORT_REJECTED, {"original": {"source": "s", "id": "i"}, "reasons": {"a": "b"}},
                      source="/siaga/reports", cause=cause)
    assert body["causationid"] == cause.id
    assert body["correlationid"] == "report-1"
    assert body["id"] == derived_id(cause, "report_rejected")
    assert json.loads(json.dumps(body)) == body  # JSON-ready as it stands


def test_dump_refuses_data_that_breaks_the_contract():
    with pytest.raises(ValueError, match="breaks the contract"):
        dump_event(REPORT_REJECTED, {"reasons": {}}, source="/siaga/reports", id="1")


def test_dump_needs_an_id_or_a_cause():
    with pytest.raises(ValueError, match="explicit id or a cause"):
        dump_event(REPORT_REJECTED, {"original": {"source": "s", "id": "i"}, "reasons": {}}, source="/x")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/xml", "application/x-msgpack"])
def test_only_json_bodies_are_accepted(content_type):
    with pytest.raises(InvalidMessage) as caught:
        decode_body(b"{}", content_type)
    assert "content_type" in caught.value.reasons


def test_json_with_charset_parameter_is_accepted():
    assert decode_body(b'{"a": 1}', "application/json; charset=utf-8") == {"a": 1}


@pytest.mark.parametrize("missing", ["id", "source", "type", "time", "specversion", "data"])
def test_envelope_without_a_required_attribute_is_invalid_and_keeps_what_identifies_the_sender(missing):
    document = create_incident()
    del document[missing]
    with pytest.raises(InvalidMessage) as caught:
        load_envelope(document)
    assert missing in caught.value.reasons["envelope"]
    assert caught.value.source == document.get("source")


def test_an_event_of_another_type_is_refused_by_a_handler_of_this_type():
    with pytest.raises(InvalidMessage) as caught:
        load_event(create_incident(type="report_received"), INCIDENT_REPORTED)
    assert "type" in caught.value.reasons


def test_every_registered_event_type_resolves_its_schema_and_is_named_in_the_past_tense():
    for name, event_type in EVENT_TYPES.items():
        assert event_type.schema is not None
        assert name.endswith("ed"), name
