"""Intake rules: categories, phones, reference-data checks, the stored report."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from services.reports import domain
from shared.categories import categorise
from shared.contract import INCIDENT_REPORTED, load_event
from shared.phones import mask_phone, normalise_phone
from tests.factories import create_incident

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)


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


def test_unknown_village_and_bad_phone_are_each_a_reason():
    incident = load_event(create_incident(data={
        "location": {"village_code": "31.71.06.1999"}, "reporter": {"phone": "0812-1"}}), INCIDENT_REPORTED)
    assert set(domain.rejection_reasons(incident.data)) == {"location.village_code", "reporter.phone"}


def test_valid_incident_has_no_reasons():
    assert domain.rejection_reasons(load_event(create_incident(), INCIDENT_REPORTED).data) == {}


def test_anonymous_report_keeps_no_reporter_details():
    incident = load_event(create_incident(data={
        "reporter": {"name": "Budi", "phone": "0812-9999-1234", "anonymous": True}}), INCIDENT_REPORTED)
    report = domain.new_report(incident, NOW)
    assert report["anonymous"] is True and report["reporter"] is None


def test_report_normalises_category_phone_and_names_the_village():
    report = domain.new_report(load_event(create_incident(), INCIDENT_REPORTED), NOW)
    assert (report["category"], report["priority"]) == ("traffic_accident", "P1")
    assert report["reporter"]["phone"] == "+6281299991234"
    assert report["place"]["village_name"] == "Menteng"
    assert report["number"] == report["_id"].replace("-", "")[:6].upper()


def test_the_same_upstream_message_always_becomes_the_same_report_id():
    document = create_incident()
    first = domain.report_id_for(load_event(document, INCIDENT_REPORTED))
    assert first == domain.report_id_for(load_event(dict(document), INCIDENT_REPORTED))
    assert first != domain.report_id_for(load_event(create_incident(), INCIDENT_REPORTED))


@pytest.mark.parametrize("location, field", [
    ({"lat": -6.2}, "lon"), ({"lon": 106.8}, "lat"), ({}, "village_code"), ({"lat": 40.0, "lon": 106.8}, "lat"),
    ({"village_code": "31.71.6.1001"}, "village_code"),
])
def test_location_schema_reasons(location, field):
    errors = INCIDENT_REPORTED.schema.validate(create_incident(data={"location": location})["data"])
    assert field in errors["location"]
