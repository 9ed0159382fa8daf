"""Open311's pure half: keys, forms, filters, views and both renderings."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from xml.etree import ElementTree

import pytest

from services.reports import domain, open311
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


def test_a_token_names_the_report_its_client_posted_and_nothing_once_that_client_has_no_key():
    incident = open311.incident_from_form(FORM, "kota-app", RULES, NOW)
    two_clients = load(Open311Settings, {"API_KEYS": f"kota-app:{open311.hash_key('s3cret')},"
                                                     f"desa-app:{open311.hash_key('other')}"})
    assert domain.report_id_for(incident) in open311.token_report_ids(two_clients, incident.id)
    assert len(open311.token_report_ids(two_clients, incident.id)) == 2
    withdrawn = load(Open311Settings, {"API_KEYS": f"desa-app:{open311.hash_key('other')}"})
    assert domain.report_id_for(incident) not in open311.token_report_ids(withdrawn, incident.id)
    assert open311.token_report_ids(load(Open311Settings, {}), incident.id) == []


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


def stored_report(kind: str, source: str) -> dict:
    received = datetime(2026, 11, 23, 1, 0, tzinfo=timezone.utc)
    return {"_id": "r1", "category": "fire", "status": "received", "source_kind": kind,
            "origin": {"source": source, "id": "e1"}, "description": "Asap dari rumah no. 9",
            "place": {"lat": -6.19, "lon": 106.83, "village_code": "31.71.06.1001", "village_name": "Menteng",
                      "rw": 5, "address": "Jl. Teuku Umar 9"},
            "source_details": {"media_url": "https://m.example.id/1.jpg", "media": ["https://m.example.id/2.jpg"],
                               "email": "a@example.id", "device_id": "dev-1", "caller_number": "0813-1"},
            "reporter": {"name": "Ani", "phone": "+628131"}, "received_at": received, "updated_at": received}


@pytest.mark.parametrize("kind, source", [("hotline_110", "/hotline-110/jakarta-pusat"),
                                          ("citizen_app", "/citizen-app/android"),
                                          ("open311", "/citizen-app/android")])  # a kind claimed, not posted here
def test_the_public_sees_category_status_kelurahan_and_times_of_a_report_from_elsewhere(kind, source):
    view = open311.request_view(stored_report(kind, source))
    assert (view["service_code"], view["status"], view["address"], view["address_id"]) == (
        "fire", "open", "Menteng", "31.71.06.1001")
    assert view["requested_datetime"] == "2026-11-23T01:00:00Z"
    assert (view["lat"], view["long"], view["description"], view["media_url"]) == (None, None, None, None)


def test_the_public_sees_what_an_open311_reporter_posted_but_never_their_contact():
    view = open311.request_view(stored_report("open311", "/open311/kota-app"))
    assert (view["lat"], view["long"], view["description"], view["address"], view["media_url"]) == (
        -6.19, 106.83, "Asap dari rumah no. 9", "Jl. Teuku Umar 9, Menteng", "https://m.example.id/1.jpg")
    shown = json.dumps(view)
    assert not any(contact in shown for contact in ("Ani", "628131", "a@example.id", "dev-1", "0813"))


@pytest.mark.parametrize("value", ["0001-01-01", "1969-12-31T23:59:59Z", "0001-01-01T00:00:00+23:59",
                                   "9999-12-31T23:59:59-12:00", "2026-02-30", "kemarin"])
def test_a_date_out_of_range_or_unreadable_is_a_400_naming_the_parameter(value):
    with pytest.raises(open311.Open311Error) as error:
        open311.request_filters({"end_date": value}, NOW, SETTINGS)
    [description] = error.value.descriptions
    assert error.value.status == 400 and description.startswith("end_date:") and value not in description


@pytest.mark.parametrize("changes, location", [
    ({"address_id": "31.71.06.1003"}, {"village_code": "31.71.06.1003", "address": None}),
    ({"address_string": "Kel. Cikini, Jakpus"}, {"village_code": None, "address": "Kel. Cikini, Jakpus"}),
])
def test_an_address_id_or_an_address_string_alone_is_a_place(changes, location):
    form = {key: value for key, value in FORM.items() if key not in ("lat", "long")} | changes
    incident = open311.incident_from_form(form, "kota-app", RULES, NOW)
    assert incident.data["location"] == {"lat": None, "lon": None, "rw": 5} | location


def test_errors_name_the_open311_parameters():
    with pytest.raises(open311.Open311Error) as error:
        open311.incident_from_form(FORM | {"long": ""}, "kota-app", RULES, NOW)
    assert error.value.descriptions[0].startswith("long: lat and lon come together")
    assert open311.describe({"location.address": {"en": "x", "id": "y"}, "reporter.phone": {"en": "x", "id": "y"}}) \
        == ["address_string: x / y", "phone: x / y"]


def test_get_says_the_same_notice_as_the_post_and_names_the_polsek():
    report = stored_report("citizen_app", "/citizen-app/android")
    view = open311.request_view(report)
    assert view["service_notice"] == open311.post_response(report | {"origin": {"id": "t"}}, None)[0]["service_notice"]
    assert view["agency_responsible"] == "Polsek Metro Menteng"
    other = report | {"place": report["place"] | {"village_code": "31.71.01.1001"}}
    assert open311.request_view(other)["agency_responsible"] == "Polsek Gambir"


def test_the_poster_of_a_hidden_category_sees_its_status_and_nothing_of_what_or_where():
    report = stored_report("open311", "/open311/kota-app") | {"category": "domestic_violence"}
    assert open311.posted_by(report, SETTINGS, "s3cret")
    assert not open311.posted_by(report, SETTINGS, "wrong") and not open311.posted_by(report, SETTINGS, None)
    assert not open311.posted_by(stored_report("citizen_app", "/citizen-app/android"), SETTINGS, "s3cret")
    view = open311.poster_view(report)
    assert (view["status"], view["service_code"]) == ("open", "domestic_violence")
    assert all(view[key] is None for key in ("description", "address", "address_id", "lat", "long", "media_url"))
