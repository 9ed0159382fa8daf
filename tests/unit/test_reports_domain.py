"""Intake rules: categories, phones, per-source details, reasons in two languages, the stored report."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.reports import dedup, domain, reasons
from services.reports.settings import DedupWindow, IntakeSettings
from shared.categories import categorise
from shared.contract import INCIDENT_REPORTED, REPORT_RECEIVED, dump_event, load_event
from shared.phones import mask_phone, normalise_phone
from shared.settings import load
from tests.factories import create_incident
from tests.factories.reports import create_source_incident

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
RULES = IntakeSettings()


def loaded(document: dict):
    return load_event(document, INCIDENT_REPORTED)


def reasons_for(document: dict, now: datetime = NOW) -> dict:
    return domain.rejection_reasons(loaded(document).data, RULES, now)


@pytest.mark.parametrize("word, code, priority", [
    ("traffic_accident", "traffic_accident", "P1"), ("laka lantas", "traffic_accident", "P1"),
    ("Laka  Lantas", "traffic_accident", "P1"), ("curanmor", "theft", "P3"), ("begal", "robbery", "P1"),
    ("TAWURAN", "brawl", "P1"), ("kebakaran", "fire", "P1"), ("banjir", "disaster", "P2"),
    ("kdrt", "domestic_violence", "P1"), ("sesuatu yang aneh", "other", "P4"),
])
def test_category_from_code_or_bahasa_synonym_with_its_default_priority(word, code, priority):
    category = categorise(word)
    assert (category.code, category.priority) == (code, priority)


@pytest.mark.parametrize("typed", ["0812-9999-1234", "62812 9999 1234", "+62 812 9999 1234", "(0812) 99991234"])
def test_phone_numbers_as_people_type_them_become_e164(typed):
    assert normalise_phone(typed) == "+6281299991234"


@pytest.mark.parametrize("typed", ["0812-1", "hello", "+1 555"])
def test_invalid_phone_numbers_are_refused(typed):
    with pytest.raises(ValueError):
        normalise_phone(typed)


def test_masked_phone_keeps_prefix_and_last_digits_only():
    assert mask_phone("+6281299991234") == "+62812*****234"


def test_every_reason_is_listed_at_once_in_english_and_indonesian():
    explained = reasons_for(create_incident(data={
        "location": {"village_code": "31.71.06.1999"}, "reporter": {"phone": "0812-1"},
        "occurred_at": (NOW + timedelta(hours=1)).isoformat()}))
    assert set(explained) == {"location.village_code", "reporter.phone", "occurred_at"}
    assert all(text["en"] and text["id"] and text["en"] != text["id"] for text in explained.values())
    assert explained["location.village_code"]["id"] == "31.71.06.1999 bukan kode desa/kelurahan Kemendagri"


def test_rejection_keeps_reasons_in_english_and_adds_explanations_and_the_reporter_phone():
    document = create_incident(data={"location": {"village_code": "31.71.06.1999"}})
    explained = reasons_for(document)
    rejected = domain.rejection(document["source"], document["id"], explained, loaded(document).data)
    assert rejected["reasons"] == {"location.village_code": "31.71.06.1999 is not a Kemendagri village code"}
    assert rejected["explanations"] == explained
    assert rejected["reporter_phone"] == "+6281299991234"


def test_occurred_at_within_the_allowed_clock_skew_is_fine_beyond_it_is_a_reason():
    assert reasons_for(create_incident(data={"occurred_at": (NOW + timedelta(minutes=4)).isoformat()})) == {}
    assert "occurred_at" in reasons_for(create_incident(data={"occurred_at": (NOW + timedelta(minutes=6)).isoformat()}))
    strict = IntakeSettings(max_clock_skew=timedelta(0))
    document = create_incident(data={"occurred_at": (NOW + timedelta(seconds=30)).isoformat()})
    assert "occurred_at" in domain.rejection_reasons(loaded(document).data, strict, NOW)


def test_valid_incident_has_no_reasons():
    assert reasons_for(create_incident()) == {}


@pytest.mark.parametrize("kind", ["citizen_app", "hotline_110", "cctv", "siskamling", "patrol", "open311"])
def test_each_source_with_its_details_is_accepted(kind):
    assert reasons_for(create_source_incident(kind)) == {}


@pytest.mark.parametrize("kind, details, fields", [
    ("cctv", {}, {"details.camera_id", "details.label", "details.confidence"}),
    ("cctv", {"camera_id": "KS-03", "label": "fire", "confidence": 1.7}, {"details.confidence"}),
    ("patrol", {}, {"details.officer_nrp"}),
    ("patrol", {"officer_nrp": "12ab"}, {"details.officer_nrp"}),
    ("citizen_app", {"media": ["not a url"]}, {"details.media.0"}),
    ("hotline_110", {"priority": "P9", "caller_number": "12"}, {"details.priority", "details.caller_number"}),
    ("siskamling", {"guard_phone": "nope"}, {"details.guard_phone"}),
    ("open311", {}, {"details.service_code"}),
])
def test_each_source_details_reason(kind, details, fields):
    explained = reasons_for(create_source_incident(kind, details=details))
    assert set(explained) == fields
    assert all(text["id"] for text in explained.values())


def test_marshmallow_messages_are_translated_and_unknown_ones_still_name_the_field():
    explained = reasons.explain_messages({"description": ["Shorter than minimum length 1."],
                                          "location": {"lat": ["lies outside Indonesia (latitude -11.5 to 6.5)"]},
                                          "odd": ["Something new."]})
    assert explained["description"]["id"] == "tidak boleh kosong"
    assert explained["location.lat"]["id"] == "di luar wilayah Indonesia (lintang -11.5 to 6.5)"
    assert explained["odd"] == {"en": "Something new.", "id": "data tidak valid (Something new.)"}


def test_dead_letter_rejection_keeps_the_raw_reasons_and_explains_them_without_the_data_prefix():
    raw = {"data": {"description": ["Shorter than minimum length 1."], "source_kind": ["Must be one of: a, b."]}}
    rejected = domain.dead_letter_rejection("/app", "1", raw, {"reporter": {"phone": "0812-9999-1234"}}, RULES, NOW)
    assert rejected["reasons"] == raw
    assert rejected["explanations"]["source_kind"]["id"] == "harus salah satu dari: a, b"
    assert rejected["reporter_phone"] == "+6281299991234"


def test_a_schema_violation_still_gets_every_other_reason_from_the_valid_part():
    data = create_incident(data={"description": "", "location": {"village_code": "31.71.06.1999"},
                                 "reporter": {"phone": "0812-1"}})["data"]
    assert set(domain.every_reason(data, RULES, NOW)) == {"description", "location.village_code", "reporter.phone"}
    raw = {"data": {"description": ["Shorter than minimum length 1."]}}
    rejected = domain.dead_letter_rejection("/app", "1", raw, data, RULES, NOW)
    assert set(rejected["explanations"]) == {"description", "location.village_code", "reporter.phone"}


def test_anonymous_report_keeps_no_reporter_details():
    reporter = {"name": "Budi", "phone": "0812-9999-1234", "anonymous": True}
    incident = loaded(create_incident(data={"reporter": reporter}))
    report = domain.new_report(incident, RULES, NOW)
    assert report["anonymous"] is True and report["reporter"] is None


def test_report_normalises_category_phone_and_names_the_village():
    report = domain.new_report(loaded(create_incident()), RULES, NOW)
    assert (report["category"], report["priority"], report["status"]) == ("traffic_accident", "P1", "received")
    assert report["reporter"]["phone"] == "+6281299991234"
    assert report["place"]["village_name"] == "Menteng"
    assert report["number"] == report["_id"].replace("-", "")[:6].upper()


def test_the_same_upstream_message_always_becomes_the_same_report_id():
    document = create_incident()
    first = domain.report_id_for(loaded(document))
    assert first == domain.report_id_for(loaded(dict(document)))
    assert first != domain.report_id_for(loaded(create_incident()))


def test_hotline_operator_priority_wins_and_the_caller_can_be_told():
    report = domain.new_report(loaded(create_source_incident(
        "hotline_110", details={"priority": "P2", "caller_number": "0813 8888 4321"}, reporter={})), RULES, NOW)
    assert report["priority"] == "P2"
    assert report["reporter"] == {"name": None, "phone": "+6281388884321"}
    assert report["source_details"]["caller_number"] == "+6281388884321"


@pytest.mark.parametrize("confidence, priority, status", [
    (0.95, "P1", "received"), (0.7, "P2", "received"), (0.3, "P2", "needs_review")])
def test_cctv_confidence_lowers_priority_and_below_the_floor_waits_for_a_person(confidence, priority, status):
    incident = create_source_incident("cctv", data={"category": "kebakaran"},
                                      details={"camera_id": "KS-03", "label": "fire", "confidence": confidence})
    report = domain.new_report(loaded(incident), RULES, NOW)
    assert (report["priority"], report["status"]) == (priority, status)
    assert (dedup.dedup_query(report, RULES) is None) == (status == "needs_review")


def test_patrol_report_names_its_officer_for_dispatch():
    report = domain.new_report(loaded(create_source_incident("patrol", details={"officer_nrp": "90120344"})),
                               RULES, NOW)
    assert domain.received_event_data(report)["reporting_officer_nrp"] == "90120344"


@pytest.mark.parametrize("location, field", [
    ({"lat": -6.2}, "lon"), ({"lon": 106.8}, "lat"), ({}, "village_code"), ({"lat": 40.0, "lon": 106.8}, "lat"),
    ({"village_code": "31.71.6.1001"}, "village_code"), ({"lat": -6.2, "lon": 20.0}, "lon"),
])
def test_location_schema_reasons(location, field):
    errors = INCIDENT_REPORTED.schema.validate(create_incident(data={"location": location})["data"])
    assert field in errors["location"]


def test_settings_come_from_config_with_defaults_for_what_is_missing():
    rules = load(IntakeSettings, {"CCTV_REVIEW_FLOOR": "0.6", "DEDUP_WINDOWS": {"fire": [500, 90]},
                                  "MAX_CLOCK_SKEW_SECONDS": "60", "CCTV_LOW_CONFIDENCE": ""})
    assert rules.cctv_review_floor == 0.6 and rules.cctv_low_confidence == 0.8
    assert rules.max_clock_skew == timedelta(seconds=60) and RULES.max_clock_skew == timedelta(minutes=5)
    assert rules.window_for("fire") == DedupWindow(500, 90)
    assert rules.window_for("traffic_accident") == DedupWindow(150, 30)
    assert rules.window_for("no_such_category") == rules.window_for("other")


def test_a_swept_report_is_said_again_under_the_id_its_report_received_first_had():
    incident = load_event(create_incident(), INCIDENT_REPORTED)
    report = domain.new_report(incident, IntakeSettings(), datetime.now(timezone.utc))
    first = dump_event(REPORT_RECEIVED, domain.received_event_data(report), source="/siaga/reports", cause=incident)
    assert domain.received_event_id(report) == first["id"]
    reviewed = report | {"review": {"decision": "dispatch"}}
    assert domain.received_event_id(reviewed) == domain.review_event_id(report["_id"])
