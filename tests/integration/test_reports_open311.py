"""Open311 GeoReport v2 over real HTTP against a real reports container, in JSON and in XML."""
from __future__ import annotations

import secrets
from datetime import datetime, timezone
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests
from nameko.testing.utils import find_free_port

from services.reports.open311 import STATUS_NOTES, hash_key
from services.reports.service import ReportsService
from siaga import boundaries as boundaries_command
from tests.factories import create_incident, of_type, wait_until
from tests.factories.reports import dispatch_event_at

pytestmark = pytest.mark.integration

BOGOR_SAMPLE = Path(__file__).parent.parent / "data" / "boundaries" / "32.01.02.geojsonl"
API_KEY = secrets.token_urlsafe(16)  # made per run: no key lives in the repository
FORMATS = ["json", "xml"]


@pytest.fixture
def events(declared, tap):
    return tap(("reports.events", "#"))


@pytest.fixture
def base_url(declared, container_factory, config_for):
    address = f"127.0.0.1:{find_free_port()}"
    config = config_for("reports", WEB_SERVER_ADDRESS=address,
                        OPEN311={"JURISDICTION_ID": "siaga", "API_KEYS": f"kota-app:{hash_key(API_KEY)}"})
    container_factory(ReportsService, config).start()
    return f"http://{address}/open311/v2"


def parse(response: requests.Response, fmt: str):
    """The body as Python: JSON as is; XML as a list of {tag: text} per item (or the root element)."""
    if fmt == "json":
        assert response.headers["Content-Type"].startswith("application/json")
        return response.json()
    assert response.headers["Content-Type"].startswith("text/xml")
    return ElementTree.fromstring(response.content)


def xml_items(root) -> list[dict[str, str | None]]:
    return [{child.tag: child.text for child in item} for item in root]


def items(response, fmt) -> list[dict]:
    body = parse(response, fmt)
    return body if fmt == "json" else xml_items(body)


def post(base_url: str, fmt: str, **form) -> requests.Response:
    fields = {"api_key": API_KEY, "jurisdiction_id": "siaga", "service_code": "traffic_accident",
              "lat": "-6.1966", "long": "106.8322", "description": "Tabrakan beruntun di depan halte",
              "first_name": "Dewi", "last_name": "Kartika", "phone": "0812-3333-4444",
              "email": "dewi@example.id", "attribute[rw]": "5"} | form
    return requests.post(f"{base_url}/requests.{fmt}", data={k: v for k, v in fields.items() if v is not None},
                         timeout=10)


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_list_offers_every_category(base_url, fmt):
    response = requests.get(f"{base_url}/services.{fmt}", timeout=10)
    assert response.status_code == 200
    services = items(response, fmt)
    codes = {service["service_code"] for service in services}
    assert {"traffic_accident", "fire", "theft", "other"} <= codes
    fire = next(service for service in services if service["service_code"] == "fire")
    assert fire["service_name"] == "kebakaran" and fire["type"] == "realtime"
    assert str(fire["metadata"]).lower() == "true"


@pytest.mark.parametrize("fmt", FORMATS)
def test_service_definition_and_unknown_service(base_url, fmt):
    response = requests.get(f"{base_url}/services/fire.{fmt}", timeout=10)
    assert response.status_code == 200
    body = parse(response, fmt)
    if fmt == "json":
        codes = [attribute["code"] for attribute in body["attributes"]]
    else:
        assert body.tag == "service_definition" and body.findtext("service_code") == "fire"
        codes = [attribute.findtext("code") for attribute in body.find("attributes")]
    assert codes == ["village_code", "rw"]
    missing = requests.get(f"{base_url}/services/ufo.{fmt}", timeout=10)
    assert missing.status_code == 404
    assert items(missing, fmt)[0]["code"] in (404, "404")


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_request_becomes_a_report_like_any_other_source(base_url, events, fmt):
    response = post(base_url, fmt)
    assert response.status_code == 200, response.text
    [created] = items(response, fmt)
    received = events.wait_for(of_type("report_received", report_id=created["service_request_id"]))
    assert received["data"]["source_kind"] == "open311"
    assert received["data"]["reporter"] == {"name": "Dewi Kartika", "phone": "+6281233334444"}
    assert received["causationid"] == created["token"]

    again = post(base_url, fmt)  # a client retrying the same form gets the same request back
    assert items(again, fmt)[0]["service_request_id"] == created["service_request_id"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_post_near_an_open_report_is_a_duplicate_and_closed(base_url, events, publish_raw, fmt):
    incident = create_incident()
    publish_raw(incident)
    original = events.wait_for(lambda e: e.get("causationid") == incident["id"])["data"]
    response = post(base_url, fmt, lat="-6.1970", description="Ada kecelakaan motor")
    [created] = items(response, fmt)
    duplicate = events.wait_for(of_type("duplicate_reported", report_id=created["service_request_id"]))
    assert duplicate["data"]["original_report_id"] == original["report_id"]
    [request] = items(requests.get(f"{base_url}/requests/{created['service_request_id']}.{fmt}", timeout=10), fmt)
    assert request["status"] == "closed"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("form, status, words", [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "wrong-key"}, 403, "api_key"),
    ({"jurisdiction_id": "elsewhere"}, 404, "jurisdiction_id"),
    ({"service_code": None}, 400, "service_code"),
    ({"lat": None, "long": None}, 400, "address_string"),
    ({"description": None, "phone": "0812-1", "attribute[village_code]": "31.71.06.1999"}, 400,
     "description"),
], ids=["no-key", "wrong-key", "other-jurisdiction", "no-service", "no-place", "every-reason"])
def test_post_errors_use_the_spec_format_and_codes(base_url, events, fmt, form, status, words):
    response = post(base_url, fmt, **form)
    assert response.status_code == status
    errors = items(response, fmt)
    assert all(str(error["code"]) == str(status) for error in errors)
    assert any(words in error["description"] for error in errors)
    if form.get("attribute[village_code]"):  # every reason listed, each in English / Indonesian
        descriptions = " ".join(error["description"] for error in errors)
        assert len(errors) == 3 and "phone: " in descriptions and "bukan kode desa" in descriptions
        assert "reporter.phone" not in descriptions and "address_id: " in descriptions  # Open311's own names


def test_post_with_address_and_village_instead_of_coordinates(base_url, events):
    response = post(base_url, "json", lat=None, long=None, address_string="Jl. Cikini Raya 45",
                    **{"attribute[village_code]": "31.71.06.1003"})
    assert response.status_code == 200, response.text
    [created] = response.json()
    [request] = requests.get(f"{base_url}/requests/{created['service_request_id']}.json", timeout=10).json()
    assert request["address"] == "Jl. Cikini Raya 45, Cikini" and request["address_id"] == "31.71.06.1003"
    assert request["lat"] is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_requests_with_filters_and_status_from_the_lifecycle(base_url, events, publish_raw, fmt):
    [accident] = post(base_url, "json").json()
    [theft] = post(base_url, "json", service_code="theft", lat="-6.1890", description="Motor hilang").json()
    assignment = "A-1"
    step = dispatch_event_at("assignment_completed", accident["service_request_id"], assignment,
                             datetime.now(timezone.utc))
    publish_raw(step, exchange="dispatch.events", routing_key="assignment_completed")

    def ids(**params):
        return {r["service_request_id"] for r in items(
            requests.get(f"{base_url}/requests.{fmt}", params=params, timeout=10), fmt)}

    every = {accident["service_request_id"], theft["service_request_id"]}
    assert ids() == every
    assert ids(service_code="theft") == {theft["service_request_id"]}
    assert ids(service_request_id=accident["service_request_id"]) == {accident["service_request_id"]}
    assert ids(start_date="2001-01-01T00:00:00Z", end_date="2001-02-01T00:00:00Z") == set()
    wait_until(lambda: ids(status="closed"), lambda found: found == {accident["service_request_id"]})
    assert ids(status="open") == {theft["service_request_id"]}
    bad = requests.get(f"{base_url}/requests.{fmt}", params={"status": "lost", "start_date": "yesterday"}, timeout=10)
    assert bad.status_code == 400 and len(items(bad, fmt)) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_get_one_request_and_a_token(base_url, events, fmt):
    [created] = post(base_url, "json").json()
    response = requests.get(f"{base_url}/requests/{created['service_request_id']}.{fmt}", timeout=10)
    [request] = items(response, fmt)
    assert (request["service_request_id"], request["status"], request["service_code"]) == (
        created["service_request_id"], "open", "traffic_accident")
    assert request["description"] == "Tabrakan beruntun di depan halte"
    assert "dewi" not in response.text.lower() and "3333" not in response.text  # no reporter details, ever
    [token] = items(requests.get(f"{base_url}/tokens/{created['token']}.{fmt}", timeout=10), fmt)
    assert token == {"service_request_id": created["service_request_id"], "token": created["token"]}
    for missing in (f"requests/no-such-id.{fmt}", f"tokens/no-such-token.{fmt}"):
        response = requests.get(f"{base_url}/{missing}", timeout=10)
        assert response.status_code == 404 and items(response, fmt)[0]["description"]


def test_hidden_categories_and_other_sources_descriptions_stay_private(base_url, events, publish_raw):
    kdrt = create_incident(data={"category": "kdrt", "description": "Teriakan dari rumah no. 12"})
    hotline = create_incident(data={"category": "kebakaran", "description": "Catatan operator: nama pelapor Ani"})
    for incident in (kdrt, hotline):
        publish_raw(incident)
    kdrt_id = events.wait_for(lambda e: e.get("causationid") == kdrt["id"])["data"]["report_id"]
    hotline_id = events.wait_for(lambda e: e.get("causationid") == hotline["id"])["data"]["report_id"]
    listed = requests.get(f"{base_url}/requests.json", timeout=10).json()
    assert [r["service_request_id"] for r in listed] == [hotline_id]
    assert listed[0]["description"] is None
    assert requests.get(f"{base_url}/requests/{kdrt_id}.json", timeout=10).status_code == 404


def test_where_it_happened_from_gps_an_address_or_an_address_id_alone(base_url, events):
    """One running service, every way a client says where: the village is derived or a 400 lists candidates."""
    def get(created):
        return requests.get(f"{base_url}/requests/{created['service_request_id']}.json", timeout=10).json()[0]

    gps = post(base_url, "json", lat="-6.1954", long="106.8305", **{"attribute[rw]": None})  # Gondangdia
    assert gps.status_code == 200, gps.text
    request = get(gps.json()[0])
    assert request["address_id"] == "31.71.06.1004" and request["agency_responsible"] == "Polsek Metro Menteng"
    received = events.wait_for(of_type("report_received", report_id=gps.json()[0]["service_request_id"]))
    assert received["data"]["place"]["village_from"] == "coordinates"

    by_address = post(base_url, "json", lat=None, long=None, service_code="theft", description="Dompet dicopet",
                      address_string="Jl. Kebon Sirih 5, Kel. Kebon Sirih, Jakpus")
    assert by_address.status_code == 200, by_address.text
    assert get(by_address.json()[0])["address_id"] == "31.71.06.1005"

    by_id = post(base_url, "json", lat=None, long=None, address_id="31.71.06.1003", service_code="disturbance",
                 description="Musik keras tengah malam")
    assert by_id.status_code == 200, by_id.text
    assert get(by_id.json()[0])["address_id"] == "31.71.06.1003"

    several = post(base_url, "json", lat=None, long=None, address_string="Kec. Menteng", service_code="other",
                   description="Lampu jalan mati")
    assert several.status_code == 400
    text = several.json()[0]["description"]
    assert text.startswith("address_string: could be several villages") and "Kel. Gondangdia, Kec. Menteng" in text

    none = post(base_url, "json", lat=None, long=None, address_string="Jl. Antah Berantah", service_code="other",
                description="Lampu jalan mati")
    assert none.status_code == 400 and "names no kelurahan/desa" in none.json()[0]["description"]

    lat_only = post(base_url, "json", long=None)
    assert lat_only.status_code == 400
    assert lat_only.json()[0]["description"].startswith("long: ")  # the Open311 name, never location.lon


def test_get_says_the_notice_and_the_poster_follows_a_hidden_category(base_url, events):
    [created] = post(base_url, "json").json()
    [request] = requests.get(f"{base_url}/requests/{created['service_request_id']}.json", timeout=10).json()
    assert request["service_notice"] == created["service_notice"] == STATUS_NOTES["received"]

    [kdrt] = post(base_url, "json", service_code="domestic_violence", description="Teriakan dari rumah no. 12").json()
    url = f"{base_url}/requests/{kdrt['service_request_id']}.json"
    assert requests.get(url, timeout=10).status_code == 404  # the public sees nothing of it
    assert requests.get(url, params={"api_key": "not-the-posters"}, timeout=10).status_code == 404
    [followed] = requests.get(url, params={"api_key": API_KEY}, timeout=10).json()
    assert (followed["status"], followed["service_code"]) == ("open", "domestic_violence")
    assert followed["description"] is None and followed["address_id"] is None and followed["lat"] is None


def test_a_process_serving_another_province_finds_a_desa_from_gps(declared, container_factory, config_for, tmp_path,
                                                                  events):
    """Jawa Barat imported with the documented command (ten desa of Kab. Bogor cut from the full data) and served
    by a reports process of its own (PLACES.PROVINCES=32): a GPS-only POST gets its desa."""
    assert boundaries_command.main(["import", str(BOGOR_SAMPLE), "--province", "32", "--into", str(tmp_path)]) == 0
    address = f"127.0.0.1:{find_free_port()}"
    config = config_for("reports", WEB_SERVER_ADDRESS=address, PLACES={"BOUNDARIES_DIR": str(tmp_path),
                                                                       "PROVINCES": "32"},
                        OPEN311={"JURISDICTION_ID": "siaga", "API_KEYS": f"kota-app:{hash_key(API_KEY)}"})
    container_factory(ReportsService, config).start()
    base_url = f"http://{address}/open311/v2"
    response = post(base_url, "json", lat="-6.3560", long="106.9588", **{"attribute[rw]": None})  # Ciangsana
    assert response.status_code == 200, response.text
    [request] = requests.get(f"{base_url}/requests/{response.json()[0]['service_request_id']}.json", timeout=10).json()
    assert request["address_id"] == "32.01.02.2003" and request["agency_responsible"] == "Polsek Gunungputri"
    jakarta = post(base_url, "json", description="Di Menteng")  # Jakarta is not served by this process
    assert jakarta.status_code == 400 and "no village of the provinces served here" in jakarta.text
