"""Open figures on the real broker, database and HTTP server: reports go through intake and dispatch's
lifecycle events, then the public reads their month's figures as JSON, CSV and the page.

One reports service for the module: every test only reads what the module fed in."""
from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.testing.utils import find_free_port

from services.reports import domain
from services.reports.lifecycle import step_from
from services.reports.service import ReportsService
from services.reports.settings import IntakeSettings
from services.reports.storage import ReportStore
from shared.contract import ASSIGNMENT_CREATED, INCIDENT_REPORTED, load_event
from shared.mongo import connect
from tests.conftest import database_names, lent_vhost
from tests.factories import create_incident, wait_until
from tests.factories.reports import dispatch_event_at

pytestmark = pytest.mark.integration

POLSEK, MENTENG, CIKINI = "31.71.06", "31.71.06.1001", "31.71.06.1003"
REPORTER = {"name": "Rahmat Hidayat", "phone": "0812-7777-3030", "anonymous": False}
# Six missing children (a category never merged as duplicates: two children are two reports) answered in
# 1..6 minutes and on scene 10 minutes later, five of them resolved; one fire nobody answered yet; one
# report of a category the public never sees.
CHILDREN = 6
T0 = datetime(2026, 11, 10, 2, 0, tzinfo=timezone.utc)
FEED_SECONDS = 90  # a deadline for some thirty events through intake and the lifecycle on a busy machine


@pytest.fixture(scope="module")
def amqp_uri(vhosts):
    yield from lent_vhost(vhosts)


@pytest.fixture(scope="module")
def fed(amqp_uri, mongo_uri):
    """The running service, and its month's reports fed through intake and their lifecycle."""
    address, database = f"127.0.0.1:{find_free_port()}", database_names()["reports"]
    container = ServiceContainer(ReportsService, {"AMQP_URI": amqp_uri, "MONGO_URI": mongo_uri,
                                                  "MONGO_DATABASE": database, "WEB_SERVER_ADDRESS": address,
                                                  "max_workers": 4})
    container.start()
    client = connect(mongo_uri)
    connection = Connection(amqp_uri, transport_options={"confirm_publish": True})
    producer = connection.Producer()

    def publish(body: dict, exchange: str, routing_key: str) -> None:
        producer.publish(json.dumps(body, default=str), exchange=exchange, routing_key=routing_key,
                         content_type="application/json", delivery_mode=2, user_id=connection.userid)

    try:
        incidents = [incident("anak hilang", MENTENG) for _ in range(CHILDREN)]
        incidents += [incident("kebakaran", CIKINI), incident("kdrt", MENTENG)]
        for body in incidents:
            publish(body, "intake.events", "incident_reported")
        reports = client[database].reports
        stored = wait_until(lambda: list(reports.find({"origin.id": {"$in": [i["id"] for i in incidents]}})),
                            lambda found: len(found) == len(incidents))
        children = [report for report in stored if report["category"] == "missing_person"]
        for n, report in enumerate(children, start=1):
            steps = [("assignment_created", 0.5), ("assignment_acknowledged", n), ("assignment_arrived", n + 10)]
            steps += [("assignment_completed", n + 20)] if n < CHILDREN else []
            for event_type, minutes in steps:
                publish(dispatch_event_at(event_type, report["_id"], f"a-{n}",
                                          report["received_at"] + timedelta(minutes=minutes)),
                        "dispatch.events", event_type)
        wait_until(lambda: sorted(r["status"] for r in reports.find({"category": "missing_person"})),
                   lambda statuses: statuses == ["on_scene"] + ["resolved"] * (CHILDREN - 1), timeout=FEED_SECONDS)
        offset = timedelta(hours=7)  # Jakarta: WIB
        month = (children[0]["received_at"].astimezone(timezone.utc) + offset).strftime("%Y-%m")
        yield {"url": f"http://{address}/figures", "month": month}
    finally:
        connection.release()
        client.close()
        container.stop()


def incident(category: str, village: str) -> dict:
    return create_incident(data={"category": category, "reporter": REPORTER,
                                 "location": {"village_code": village, "rw": 5}})


def get(fed: dict, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{fed['url']}/{path}", headers=headers, timeout=10, allow_redirects=False)


def test_the_store_hands_the_figures_only_a_reports_facts(mongo_client, db_names):
    """No reporter, description, place detail, officer or note leaves the database for the figures."""
    store = ReportStore(mongo_client[db_names["reports"]])
    store.ensure_indexes()
    report = domain.new_report(load_event(incident("pencurian", MENTENG), INCIDENT_REPORTED), IntakeSettings(), T0)
    store.add(report)
    created = dispatch_event_at("assignment_created", report["_id"], "a-1", T0 + timedelta(minutes=1))
    store.apply_step(step_from(load_event(created, ASSIGNMENT_CREATED)), first=True)
    month = T0.replace(day=1, hour=0)
    facts = store.received_in([MENTENG], month, month + timedelta(days=30), ("duplicate",))
    assert facts == [{"village_code": MENTENG, "category": "theft", "status": "assigned", "received_at": T0,
                      "by_officer": False, "steps": [{"created": T0 + timedelta(minutes=1)}]}]
    assert store.received_in([CIKINI], month, month + timedelta(days=30), ("duplicate",)) == []
    assert store.received_in([MENTENG], month, T0, ("duplicate",)) == []  # the end is excluded


def test_a_polseks_month_counts_times_and_share_from_the_lifecycle(fed):
    response = get(fed, f"polsek/{POLSEK}/{fed['month']}.json")
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    body = response.json()
    assert (body["level"], body["code"], body["month"], body["time_zone"]) == ("polsek", POLSEK, fed["month"], "WIB")
    polsek = body["rows"][0]
    assert polsek["reports_total"] == CHILDREN + 1  # the hidden category is not counted at all
    assert "domestic_violence" not in polsek["reports"]
    assert polsek["reports"]["fire"] is None  # one report: suppressed; and so the other, or total − it gives it
    assert polsek["reports"]["missing_person"] is None
    assert (polsek["acknowledged_median_seconds"], polsek["acknowledged_p90_seconds"]) == (180, 360)
    assert (polsek["arrived_median_seconds"], polsek["arrived_p90_seconds"]) == (780, 960)
    assert polsek["resolved_share"] == round((CHILDREN - 1) / (CHILDREN + 1), 3)


def test_a_village_is_its_row_of_the_polsek_and_cikinis_single_report_is_suppressed(fed):
    polsek = {row["code"]: row for row in get(fed, f"polsek/{POLSEK}/{fed['month']}.json").json()["rows"]}
    for village in (MENTENG, CIKINI):
        response = get(fed, f"village/{village}/{fed['month']}", Accept="application/json")
        assert response.status_code == 200
        assert response.json()["rows"] == [polsek[village]]
    assert polsek[CIKINI]["reports_total"] is None and polsek[CIKINI]["resolved_share"] is None


def test_csv_by_extension_and_by_accept_reads_suppressed_cells_as_suppressed(fed):
    by_extension = get(fed, f"polsek/{POLSEK}/{fed['month']}.csv")
    by_accept = get(fed, f"polsek/{POLSEK}/{fed['month']}", Accept="text/csv")
    assert by_extension.text == by_accept.text
    assert by_accept.headers["Content-Type"].startswith("text/csv") and by_accept.headers["Vary"] == "Accept"
    rows = list(csv.DictReader(io.StringIO(by_extension.text)))
    assert rows[0]["code"] == POLSEK and rows[0]["reports_total"] == str(CHILDREN + 1)
    assert rows[0]["reports_fire"] == "suppressed" and rows[0]["acknowledged_median_seconds"] == "180"


def test_nothing_personal_is_published_and_answers_are_cacheable(fed):
    for fmt in ("json", "csv", "html"):
        response = get(fed, f"polsek/{POLSEK}/{fed['month']}.{fmt}")
        assert response.status_code == 200
        for personal in ("Rahmat", "7777", "Tabrakan", "HOS Cokroaminoto", "90120344", "a-1"):
            assert personal not in response.text
        assert response.headers["Cache-Control"] == "public, max-age=300"
        again = get(fed, f"polsek/{POLSEK}/{fed['month']}.{fmt}", **{"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304 and again.content == b""


def test_the_page_is_html_with_its_own_style_only(fed):
    response = get(fed, f"polsek/{POLSEK}/{fed['month']}", Accept="text/html,*/*;q=0.8")
    assert response.headers["Content-Type"].startswith("text/html")
    assert "style-src 'sha256-" in response.headers["Content-Security-Policy"]
    assert "Polsek Metro Menteng" in response.text and "<script" not in response.text
    index = get(fed, "")
    assert index.status_code == 200 and "<form" in index.text
    picked = get(fed, f"?code={CIKINI}&month={fed['month']}")
    assert picked.status_code == 303
    assert picked.headers["Location"].endswith(f"/figures/village/{CIKINI}/{fed['month']}")


@pytest.mark.parametrize("path, status", [
    ("polsek/31.71.06/2026-13.json", 400), ("polsek/31.71/2026-11.json", 400),
    ("village/31.71.06/2026-11.json", 400), ("polsek/31.71.99/2026-11.json", 404),
    ("village/31.71.06.9999/2026-11.csv", 404), ("polsek/31.71.06/2999-01.json", 404),
    ("polsek/31.71.06/2026-11.xlsx", 404), ("rw/31.71.06/2026-11.json", 404),
])
def test_a_bad_polsek_village_or_month_is_a_clear_error(fed, path, status):
    response = get(fed, path)
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-cache"
    if path.endswith(".json"):
        assert response.json()["error"] == status and " / " in response.json()["reason"]
