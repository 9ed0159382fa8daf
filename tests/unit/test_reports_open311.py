"""Open311's pure half: keys, forms, filters, views and both renderings."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from xml.etree import ElementTree

import pytest

from services.reports import open311
from services.reports.settings import IntakeSettings, Open311Settings
from shared.settings import load

NOW = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
RULES = IntakeSettings()
SETTINGS = load(Open311Settings, {"API_KEYS": f"kota-app:{open311.hash_key('s3cret')}, bad-entry"})
FORM = {"api_key": "s3cret", "service_code": "fire", "lat": "-6.19", "long": "106.83", "description": "Asap",
        "first_name": "Dewi", "phone": "0812-3333-4444", "attribute[rw]": "5"}


def test_keys_are_stored_as_digests_and_checked_against_them():
    assert SETTINGS.key_digests == {open311.hash_key("s3cret"): "kota-app"}
    assert open311.client_for(SETTINGS, "s3cret") == "kota-app"
    for key in (None, "", "S3cret"):
        with pytest.raises(open311.Open311Error) as error:
            open311.client_for(SETTINGS, key)
        assert error.value.status == 403


def test_a_form_becomes_an_open311_incident_with_a_deterministic_id():
    incident = open311.incident_from_form(FORM, "kota-app", RULES, NOW)
    assert incident.source == "/open311/kota-app"
    assert incident.data["location"] == {"lat": -6.19, "lon": 106.83, "village_code": None, "rw": 5, "address": None}
    assert incident.data["reporter"] == {"name": "Dewi", "phone": "0812-3333-4444", "anonymous": False}
    assert incident.data["details"]["client"] == "kota-app" and "api_key" not in incident.data["details"]
    assert incident.id == open311.incident_from_form(dict(FORM, api_key="other"), "kota-app", RULES, NOW).id
    assert incident.id != open311.incident_from_form(dict(FORM, description="Api"), "kota-app", RULES, NOW).id


@pytest.mark.parametrize("changes, count", [
    ({"service_code": ""}, 1), ({"service_code": "ufo"}, 1), ({"lat": "", "long": ""}, 1),
    ({"lat": "91", "description": "", "phone": "12"}, 3),
])
def test_a_bad_form_is_a_400_with_every_reason(changes, count):
    with pytest.raises(open311.Open311Error) as error:
        open311.incident_from_form(FORM | changes, "kota-app", RULES, NOW)
    assert error.value.status == 400 and len(error.value.descriptions) == count
    assert all(" / " in text for text in error.value.descriptions)  # English / Indonesian


def test_open311_settings_come_from_config_with_one_default_each():
    assert (SETTINGS.jurisdiction_id, SETTINGS.hidden_categories) == ("siaga", ("domestic_violence",))
    settings = load(Open311Settings, {"JURISDICTION_ID": "jakarta", "HIDDEN_CATEGORIES": "domestic_violence, theft",
                                      "API_KEYS": ""})
    assert (settings.jurisdiction_id, settings.hidden_categories, settings.key_digests) == (
        "jakarta", ("domestic_violence", "theft"), {})


def test_request_filters_default_to_ninety_days_and_map_status():
    query = open311.request_filters({"status": "closed", "service_code": "fire,theft"}, NOW, SETTINGS)
    assert query["received_at"]["$lte"] == NOW and (NOW - query["received_at"]["$gte"]).days == 90
    assert query["status"] == {"$in": ["resolved", "cancelled", "duplicate"]}
    assert query["category"] == {"$nin": ["domestic_violence"], "$in": ["fire", "theft"]}
    with pytest.raises(open311.Open311Error) as error:
        open311.request_filters({"status": "maybe", "end_date": "kemarin", "service_code": "ufo"}, NOW, SETTINGS)
    assert len(error.value.descriptions) == 3


def test_jurisdiction_mismatch_is_404_and_none_is_fine():
    open311.check_jurisdiction(SETTINGS, None)
    open311.check_jurisdiction(SETTINGS, "siaga")
    with pytest.raises(open311.Open311Error) as error:
        open311.check_jurisdiction(SETTINGS, "jakarta")
    assert error.value.status == 404


def test_xml_and_json_render_the_same_requests_and_escape_text():
    items = [{"service_request_id": "r1", "description": "<b>api & asap</b>", "lat": None, "metadata": True}]
    content_type, body = open311.render("xml", "service_requests", items)
    assert content_type.startswith("text/xml")
    [request] = ElementTree.fromstring(body)
    assert request.tag == "request" and request.findtext("description") == "<b>api & asap</b>"
    assert request.findtext("metadata") == "true" and request.find("lat").text is None
    assert json.loads(open311.render("json", "service_requests", items)[1]) == items


def test_errors_render_in_the_spec_format():
    _, body = open311.render_error("xml", open311.Open311Error(404, ["not found"]))
    [error] = ElementTree.fromstring(body)
    assert (error.tag, error.findtext("code"), error.findtext("description")) == ("error", "404", "not found")
