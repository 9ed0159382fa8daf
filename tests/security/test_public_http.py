"""The public HTTP side, attacked as an outsider would: Open311's public view of reports from every source,
error answers that must not echo input or exception text, security headers on every answer of both web
servers (werkzeug's own 404/405 too), and a client that opens a connection and never finishes its request.

Real reports and console containers on the real broker and database, real HTTP over real sockets.
"""
from __future__ import annotations

import logging
import secrets
import socket
import time
from xml.etree import ElementTree

import pytest
import requests

from services.console.service import ConsoleService
from services.reports import open311
from services.reports.open311 import hash_key
from services.reports.service import ReportsService
from shared.webserver import API_CONTENT_SECURITY_POLICY, security_headers
from tests.factories.console import console_config, declare_with_console
from tests.factories.reports import create_source_incident

pytestmark = pytest.mark.security

API_KEY = secrets.token_urlsafe(16)
MARKER = "zq<script>alert(7)</script>"  # what an attacker types; must never come back
MARKER_IN_PATH = "zq<b>alert(7)<b>"  # the same, without the slash that would make it another path
HOTLINE_ADDRESS = "Jl. Teuku Umar 9, rumah cat hijau"
TIMEOUT_S = 1  # the request timeout the servers are configured with here


@pytest.fixture
def reports_url(declared, container_factory, config_for):
    config = config_for("reports", OPEN311={"API_KEYS": f"kota-app:{hash_key(API_KEY)}"},
                        HTTP={"REQUEST_TIMEOUT_SECONDS": TIMEOUT_S})
    container_factory(ReportsService, config).start()
    return f"http://{config['WEB_SERVER_ADDRESS']}"


@pytest.fixture(scope="module")
def answering_reports_url(broker_admin, mongo_uri):
    """One reports for the questions that change nothing (bad dates, bad codes): each is its own
    request, and a service started per question was most of this module's time."""
    from nameko.containers import ServiceContainer
    from nameko.testing.utils import find_free_port

    from shared import topology
    from tests.conftest import throwaway_vhost

    for amqp_uri in throwaway_vhost(broker_admin):
        topology.declare_topology(amqp_uri)
        address = f"127.0.0.1:{find_free_port()}"
        container = ServiceContainer(ReportsService, {
            "AMQP_URI": amqp_uri, "MONGO_URI": mongo_uri, "MONGO_DATABASE": f"t{secrets.token_hex(4)}_reports",
            "WEB_SERVER_ADDRESS": address, "max_workers": 4,
            "OPEN311": {"API_KEYS": f"kota-app:{hash_key(API_KEY)}"}, "HTTP": {"REQUEST_TIMEOUT_SECONDS": TIMEOUT_S}})
        container.start()
        try:
            yield f"http://{address}"
        finally:
            container.stop()


@pytest.fixture
def console_url(amqp_uri, container_factory, config_for, db_names):
    declare_with_console(amqp_uri)
    config = console_config(config_for, db_names) | {"HTTP": {"REQUEST_TIMEOUT_SECONDS": TIMEOUT_S}}
    container_factory(ConsoleService, config).start()
    return f"http://{config['WEB_SERVER_ADDRESS']}"


@pytest.fixture
def events(declared, tap):
    return tap(("reports.events", "#"))


def post(reports_url: str, **form) -> requests.Response:
    fields = {"api_key": API_KEY, "service_code": "traffic_accident", "lat": "-6.1966", "long": "106.8322",
              "description": "Tabrakan di depan halte", "first_name": "Dewi", "last_name": "Kartika",
              "phone": "0812-3333-4444", "email": "dewi@example.id", "device_id": "android-5f3e9a",
              "account_id": "akun-77"} | form
    return requests.post(f"{reports_url}/open311/v2/requests.json", data=fields, timeout=10)


def public(reports_url: str, path: str, **params) -> requests.Response:
    return requests.get(f"{reports_url}/open311/v2/{path}", params=params, timeout=10)


def as_items(response: requests.Response, fmt: str) -> list[dict]:
    if fmt == "json":
        return response.json()
    return [{child.tag: child.text for child in item} for item in ElementTree.fromstring(response.content)]


# --- 1. what the public sees ------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_public_sees_only_category_status_kelurahan_and_times_of_a_report_from_another_source(
        reports_url, events, publish_raw, fmt):
    hotline = create_source_incident("hotline_110", data={
        "category": "kebakaran", "description": "Pelapor Ani melihat asap dari rumah no. 9",
        "location": {"lat": -6.1951, "lon": 106.8299, "village_code": "31.71.06.1001", "address": HOTLINE_ADDRESS}})
    app = create_source_incident("citizen_app", data={"location": {
        "lat": -6.2012, "lon": 106.8411, "village_code": "31.71.06.1003", "address": "Jl. Cikini Raya 45"}})
    ids = []
    for incident in (hotline, app):
        publish_raw(incident)
        received = events.wait_for(lambda e, i=incident["id"]: e["type"] == "report_received" and e["causationid"] == i)
        ids.append(received["data"]["report_id"])
    listed = public(reports_url, f"requests.{fmt}")
    one = public(reports_url, f"requests/{ids[0]}.{fmt}")
    for response in (listed, one):
        assert response.status_code == 200
        for secret in ("Teuku Umar", "Cikini Raya", "Pelapor Ani", "88884321", "Budi", "99991234", "-6.1951",
                       "106.8299", "-6.2012", "106.8411", "media.example.id"):
            assert secret not in response.text
    shown = {item["service_request_id"]: item for item in as_items(listed, fmt)}
    assert set(shown) == set(ids)
    fire = shown[ids[0]]
    assert (fire["service_code"], fire["status"], fire["address_id"]) == ("fire", "open", "31.71.06.1001")
    assert fire["address"] == "Menteng" and fire["requested_datetime"] and fire["updated_datetime"]
    assert not fire["lat"] and not fire["long"] and not fire["description"] and not fire["media_url"]


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_the_public_sees_the_place_and_description_an_open311_reporter_posted_but_never_their_contact(
        reports_url, events, fmt):
    response = post(reports_url, address_string="Jl. Kramat Raya 5", **{"attribute[village_code]": "31.71.06.1003"})
    assert response.status_code == 200, response.text
    [created] = response.json()
    shown = public(reports_url, f"requests/{created['service_request_id']}.{fmt}")
    [request] = as_items(shown, fmt)
    assert str(request["lat"]) == "-6.1966" and str(request["long"]) == "106.8322"
    assert request["description"] == "Tabrakan di depan halte" and request["address"].startswith("Jl. Kramat Raya 5")
    for contact in ("Dewi", "Kartika", "0812", "3333", "dewi@example.id", "android-5f3e9a", "akun-77"):
        assert contact not in shown.text


# --- 2. errors echo nothing -------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("parameter, value", [
    ("end_date", "0001-01-01"), ("start_date", "0001-01-01T00:00:00+23:59"),
    ("end_date", "9999-12-31T23:59:59-12:00"), ("start_date", MARKER),
])
def test_an_odd_date_is_a_400_naming_the_parameter_without_echoing_it(answering_reports_url, fmt, parameter,
                                                                     value):
    response = public(answering_reports_url, f"requests.{fmt}", **{parameter: value})
    assert response.status_code == 400, response.text
    [error] = as_items(response, fmt)
    assert str(error["code"]) == "400" and parameter in error["description"]
    assert value not in response.text and "Error" not in response.text and "range" not in response.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_error_answers_never_echo_what_was_sent(answering_reports_url, fmt):
    reports_url = answering_reports_url
    answers = [public(reports_url, f"requests.{fmt}", status=MARKER),
               public(reports_url, f"requests.{fmt}", service_code=MARKER),
               public(reports_url, f"services.{fmt}", jurisdiction_id=MARKER),
               public(reports_url, f"services/{MARKER_IN_PATH}.{fmt}"),
               public(reports_url, f"requests/{MARKER_IN_PATH}.{fmt}"),
               public(reports_url, f"tokens/{MARKER_IN_PATH}.{fmt}"),
               requests.post(f"{reports_url}/open311/v2/requests.{fmt}", data={"api_key": MARKER}, timeout=10),
               requests.post(f"{reports_url}/open311/v2/requests.{fmt}",
                             data={"api_key": API_KEY, "service_code": MARKER}, timeout=10)]
    for response in answers:
        assert 400 <= response.status_code < 500
        assert as_items(response, fmt)[0]["description"]
        assert "zq" not in response.text and "alert(7)" not in response.text


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_unexpected_exception_is_a_500_with_a_fixed_message_and_the_details_only_in_the_log(
        reports_url, monkeypatch, caplog, fmt):
    def broken():
        raise RuntimeError(f"database said {MARKER}")

    monkeypatch.setattr(open311, "service_list", broken)  # a fault inside the real server
    with caplog.at_level(logging.ERROR):
        response = public(reports_url, f"services.{fmt}")
    assert response.status_code == 500
    [error] = as_items(response, fmt)
    assert str(error["code"]) == "500" and error["description"]
    assert "zq" not in response.text and "RuntimeError" not in response.text
    assert "database said" in caplog.text


# --- 3. security headers on every answer ------------------------------------------------------------

SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}


def assert_secured(response: requests.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.method, response.url, name)
    policy = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in policy and "default-src" in policy, response.url
    assert "*" not in policy and "unsafe" not in policy
    assert "Strict-Transport-Security" not in response.headers  # plain HTTP here: no HSTS


def test_every_open311_answer_and_werkzeugs_own_pages_carry_security_headers(reports_url):
    base = f"{reports_url}/open311/v2"
    answers = [requests.get(f"{base}/services.json", timeout=10), requests.get(f"{base}/services.xml", timeout=10),
               requests.get(f"{base}/requests.json", timeout=10), requests.get(f"{base}/services/ufo.xml", timeout=10),
               requests.get(f"{base}/requests.json", params={"end_date": "0001-01-01"}, timeout=10),
               requests.post(f"{base}/requests.json", data={}, timeout=10),
               requests.get(f"{reports_url}/nothing-here", timeout=10),
               requests.delete(f"{base}/services.json", timeout=10)]
    assert [r.status_code for r in answers][-2:] == [404, 405]
    for response in answers:
        assert_secured(response)
        assert response.headers.get("Cache-Control") == "no-store"
        assert "'none'" in response.headers["Content-Security-Policy"].split(";")[0]  # an API: nothing to load


def test_every_console_answer_and_werkzeugs_own_pages_carry_security_headers(console_url):
    answers = [requests.get(f"{console_url}/", timeout=10), requests.get(f"{console_url}/static/app.js", timeout=10),
               requests.get(f"{console_url}/api/me", timeout=10), requests.get(f"{console_url}/api/board", timeout=10),
               requests.get(f"{console_url}/nothing-here", timeout=10),
               requests.delete(f"{console_url}/api/login", timeout=10)]
    assert [r.status_code for r in answers] == [200, 200, 200, 401, 404, 405]
    for response in answers:
        assert_secured(response)
    for api in answers[2:]:
        assert api.headers.get("Cache-Control") == "no-store"
    assert "script-src 'self'" in answers[0].headers["Content-Security-Policy"]


def test_a_malformed_request_line_gets_a_bare_error_page_with_security_headers(reports_url):
    with socket.create_connection(server_address(reports_url), timeout=30) as client:
        client.sendall(f"GET /a {MARKER} HTTP/1.1\r\n\r\n".encode())
        answer = read_all(client)
    head = answer.split(b"\r\n\r\n")[0].decode().lower()
    assert answer.startswith(b"HTTP/1.") and b" 400 " in answer.split(b"\r\n")[0]
    assert "x-content-type-options: nosniff" in head and "content-security-policy:" in head
    assert b"zq" not in answer and b"alert(7)" not in answer


# --- 4. a request never finished is dropped ---------------------------------------------------------

def server_address(url: str) -> tuple[str, int]:
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def read_all(client: socket.socket) -> bytes:
    received = b""
    while chunk := client.recv(4096):
        received += chunk
    return received


@pytest.mark.parametrize("server", ["reports_url", "console_url"])
def test_half_a_request_line_is_dropped_after_the_configured_timeout(server, request):
    url = request.getfixturevalue(server)
    with socket.create_connection(server_address(url), timeout=30) as client:
        client.sendall(b"GET /open311/v2/servi")
        try:
            assert client.recv(4096) == b"", "the server answered instead of closing"
        except ConnectionResetError:
            pass  # closed, as it should
        except socket.timeout:
            pytest.fail("the server held a half-sent request line for 30 s")


@pytest.mark.parametrize("server", ["reports_url", "console_url"])
def test_headers_trickled_a_byte_at_a_time_are_dropped_after_the_configured_timeout(server, request):
    """A slowloris keeps each read short of a socket timeout; the whole head has one deadline."""
    url = request.getfixturevalue(server)
    trickle = b"GET / HTTP/1.1\r\nHost: x\r\nX-Padding: " + b"a" * 90  # about 30 s at a byte per TIMEOUT_S / 4
    with socket.create_connection(server_address(url), timeout=30) as client:
        for byte in trickle:
            try:
                client.sendall(bytes([byte]))
                time.sleep(TIMEOUT_S / 4)
                client.setblocking(False)
                try:
                    if client.recv(4096) == b"":
                        return  # closed by the server
                except BlockingIOError:
                    pass
                finally:
                    client.setblocking(True)
            except (BrokenPipeError, ConnectionResetError):
                return
        pytest.fail(f"the server was still reading headers after {len(trickle)} bytes at {TIMEOUT_S / 4} s each")


def test_hsts_is_sent_only_when_configured_for_a_tls_proxy():
    assert "Strict-Transport-Security" not in security_headers(API_CONTENT_SECURITY_POLICY)
    assert security_headers(API_CONTENT_SECURITY_POLICY, 31536000)["Strict-Transport-Security"] == "max-age=31536000"
