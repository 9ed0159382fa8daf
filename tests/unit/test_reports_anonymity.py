"""The sealing rule: an anonymous report is stored with nothing that identifies its reporter; a named one is left
as its reporter gave it; a reveal needs a reason and its record says who, when, why — not what was seen."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.reports import anonymity, domain
from services.reports.settings import IntakeSettings
from shared.contract import INCIDENT_REPORTED, load_event
from tests.factories import create_incident

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
CALLER = {"name": "Sri Wahyuni", "phone": "0812-7777-4321", "anonymous": True}
CALL = {"operator_id": "op-17", "call_id": "CALL-42", "caller_number": "0813-5555-9876", "priority": "P2"}


def stored(data: dict) -> tuple[dict, dict | None, dict]:
    incident = load_event(create_incident(data=data), INCIDENT_REPORTED)
    report, contact = anonymity.sealed(domain.new_report(incident, IntakeSettings(), NOW), incident.data["reporter"],
                                       NOW)
    return report, contact, domain.received_event_data(report)


def test_an_anonymous_110_call_keeps_the_callers_number_and_name_sealed():
    report, contact, received = stored({"source_kind": "hotline_110", "reporter": CALLER, "details": CALL})
    assert report["anonymous"] and report["contact_sealed"] and report["reporter"] is None
    assert report["source_details"] == {"operator_id": "op-17", "priority": "P2"}
    assert contact == {"_id": report["_id"], "number": report["number"], "sealed_at": NOW,
                       "reporter": {"name": "Sri Wahyuni", "phone": "+6281277774321"},
                       "details": {"call_id": "CALL-42", "caller_number": "+6281355559876"}}
    assert "Wahyuni" not in str(report) + str(received) and "55559876" not in str(report) + str(received)


def test_an_open311_request_without_name_or_phone_is_anonymous_and_its_ids_are_sealed():
    details = {"service_code": "traffic_accident", "client": "kota-app", "email": "a@example.org",
               "device_id": "dev-1", "account_id": "acc-1", "media_url": "https://example.org/1.jpg"}
    report, contact, _ = stored({"source_kind": "open311", "reporter": {"anonymous": True}, "details": details})
    assert report["source_details"] == {"service_code": "traffic_accident", "client": "kota-app",
                                         "media_url": "https://example.org/1.jpg"}
    assert contact["reporter"] is None
    assert contact["details"] == {"email": "a@example.org", "device_id": "dev-1", "account_id": "acc-1"}


def test_a_named_report_and_an_anonymous_one_with_nothing_to_seal_are_left_as_they_are():
    named, contact, _ = stored({"source_kind": "hotline_110", "reporter": {"name": "Budi", "anonymous": False},
                                "details": CALL})
    assert contact is None and named["contact_sealed"] is False
    assert named["source_details"]["caller_number"] == "+6281355559876"
    cctv, contact, _ = stored({"source_kind": "cctv", "reporter": {"anonymous": True},
                               "details": {"camera_id": "KS-03", "label": "fire", "confidence": 0.9}})
    assert contact is None and cctv["contact_sealed"] is False and cctv["source_details"]["camera_id"] == "KS-03"


@pytest.mark.parametrize("reason, kept", [
    (None, None), ("   ", None), ("perlu", None), ("x" * 301, None),
    ("  Korban perlu   dihubungi ulang  ", "Korban perlu dihubungi ulang"),
])
def test_a_reveal_needs_a_reason_that_says_something(reason, kept):
    assert anonymity.reveal_reason(reason) == kept


def test_the_reveal_record_says_who_when_why_and_which_report_never_the_contact():
    report, contact, _ = stored({"source_kind": "hotline_110", "reporter": CALLER, "details": CALL})
    record = anonymity.reveal_record(report, contact, "Korban perlu dihubungi ulang", "kanit.menteng", "31.71.06",
                                     "r-1", NOW)
    assert record == {"_id": "r-1", "report_id": report["_id"], "number": report["number"], "polsek": "31.71.06",
                      "by": "kanit.menteng", "reason": "Korban perlu dihubungi ulang", "at": NOW,
                      "outcome": "revealed"}
    assert anonymity.revealed(report, contact)["details"]["caller_number"] == "+6281355559876"
