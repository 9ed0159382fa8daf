"""An anonymous reporter's contact data reaches no officer and no operator; only a supervisor reveals it, for
a stated reason, on the record; and every console action records the operator who did it.

Real services (reports with Open311, dispatch, notify, the console), the real broker and database: an
anonymous 110 call and an anonymous Open311 request go in as their senders send them, and what an operator
(the console's board, reports' RPC view, events) and an officer (the SMS in the gateway's queue) can see is
searched for every piece of the reporter's contact data.
"""
from __future__ import annotations

import json
import logging
import secrets
from typing import Any

import pytest
import requests
from nameko.standalone.rpc import ServiceRpcProxy

from services.notify.service import NotifyService
from services.reports.open311 import hash_key
from services.reports.service import ReportsService
from tests.factories import create_incident, of_type, read_queue
from tests.factories.console import (
    ConsoleClient,
    base_url,
    console_store,
    create_operator,
    declare_with_console,
    start_console,
)

pytestmark = pytest.mark.security

API_KEY = secrets.token_urlsafe(16)  # made per run: no key lives in the repository
GATEWAY_QUEUE = "evt-notify-sms_requested--sms-gateway"

# Everything that identifies the two anonymous reporters, as they gave it and as Siaga normalises it.
CALLER = {"name": "Sri Wahyuni", "phone": "0812-7777-4321", "anonymous": True}
CALL = {"operator_id": "op-17", "call_id": "CALL-20261202-0042", "caller_number": "0813-5555-9876", "priority": "P2"}
OPEN311_CONTACT = {"email": "saksi.anonim@example.org", "device_id": "device-7f3a9c", "account_id": "akun-55210"}
SECRETS = ("Sri Wahyuni", "6281277774321", "081277774321", "6281355559876", "081355559876", "CALL-20261202-0042",
           "saksi.anonim", "device-7f3a9c", "akun-55210")


def leaked(text: str) -> list[str]:
    """The contact data found in `text` (phones also with their separators taken out)."""
    bare = text.replace("-", "").replace(" ", "").replace("+", "")
    return [secret for secret in SECRETS if secret in text or secret in bare]


@pytest.fixture
def system(amqp_uri, mongo_client, db_names, container_factory, config_for) -> dict[str, Any]:
    """Reports (Open311 on), dispatch, notify and the console; Menteng's duty officer (a plain operator)."""
    declare_with_console(amqp_uri)
    reports = config_for("reports", OPEN311={"JURISDICTION_ID": "siaga", "API_KEYS": f"kota-app:{hash_key(API_KEY)}"})
    container_factory(ReportsService, reports).start()
    container_factory(NotifyService, config_for("notify", SMS={"ANSWER_TIMEOUT": 60, "RETRY_POLL": 0.2})).start()
    console = start_console(container_factory, config_for, mongo_client, db_names,
                            operators=[("piket.menteng", ("31.71.06",))])
    return {"console": base_url(console), "open311": f"http://{reports['WEB_SERVER_ADDRESS']}/open311/v2"}


@pytest.fixture
def supervisor(system, mongo_client, db_names) -> ConsoleClient:
    """Menteng's Kanit (supervisor), logged in."""
    create_operator(console_store(mongo_client, db_names), "kanit.menteng", ("31.71.06",), role="supervisor")
    client = ConsoleClient(system["console"])
    assert client.log_in("kanit.menteng").status_code == 200
    return client


@pytest.fixture
def operator(system) -> ConsoleClient:
    client = ConsoleClient(system["console"])
    assert client.log_in().status_code == 200
    return client


@pytest.fixture
def reports_rpc(amqp_uri, system):
    with ServiceRpcProxy("reports", {"AMQP_URI": amqp_uri}, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def anonymous_reports(system, tap, publish_raw) -> dict[str, dict]:
    """An anonymous 110 call (KDRT in Kebon Sirih) and an anonymous Open311 request (an accident in Menteng),
    both received and dispatched: their report_received events, by source kind."""
    events = tap(("reports.events", "#"), ("dispatch.events", "#"))
    publish_raw(create_incident(source="/hotline-110/polda-metro", data={
        "source_kind": "hotline_110", "category": "kdrt", "description": "Suara teriakan dan barang pecah",
        "location": {"village_code": "31.71.06.1002", "rw": 1}, "reporter": CALLER, "details": CALL}))
    form = {"api_key": API_KEY, "jurisdiction_id": "siaga", "service_code": "traffic_accident", "lat": "-6.1966",
            "long": "106.8322", "description": "Tabrakan motor di depan halte", "attribute[rw]": "5",
            "attribute[village_code]": "31.71.06.1001"} | OPEN311_CONTACT
    posted = requests.post(f"{system['open311']}/requests.json", data=form, timeout=10)
    assert posted.status_code == 200, posted.text
    assert posted.json()[0]["account_id"] == OPEN311_CONTACT["account_id"]  # the client's own, back to it
    received = {kind: events.wait_for(of_type("report_received", source_kind=kind))
                for kind in ("hotline_110", "open311")}
    for body in received.values():
        events.wait_for(lambda b, body=body: b["type"] == "assignment_created"
                        and b["data"]["report"]["report_id"] == body["data"]["report_id"])
    return received | {"tap": events}


def test_anonymous_reports_reach_no_operator_or_officer_with_contact_data(
        anonymous_reports, operator, reports_rpc, amqp_uri, caplog):
    caplog.set_level(logging.INFO)
    for kind in ("hotline_110", "open311"):
        event = anonymous_reports[kind]
        assert event["data"]["anonymous"] is True
        assert leaked(json.dumps(event)) == [], f"report_received of the {kind} report"
        view = reports_rpc.get_report(event["data"]["report_id"])
        assert leaked(json.dumps(view)) == [], f"reports' view of the {kind} report, as a console reads it"
        assert view["anonymous"] is True and view["contact_sealed"] is True
    assert leaked(json.dumps(reports_rpc.list_reports())) == []

    cards = operator.wait_for_card(lambda card: card["number"] == anonymous_reports["open311"]["data"]["number"])
    assert leaked(operator.get("/api/board").text) == [], "the console's board"
    assert cards["reporter"] is None

    officer_sms = [json.loads(m.body)["data"] for m in read_queue(
        amqp_uri, GATEWAY_QUEUE, lambda raw: sum(json.loads(m.body)["data"]["recipient_role"] == "officer"
                                                 for m in raw) >= 2)]
    assert sum(sms["recipient_role"] == "officer" for sms in officer_sms) >= 2
    assert all(sms["recipient_role"] != "reporter" for sms in officer_sms), "nobody texts an anonymous reporter"
    assert leaked(json.dumps(officer_sms)) == [], "the SMS officers get"
    assert leaked(json.dumps([event for event in anonymous_reports["tap"].drain(0.5)])) == [], "any event"
    assert leaked(caplog.text) == [], "the logs"


def test_a_supervisor_reveals_the_contact_for_a_reason_and_the_reveal_is_audited(anonymous_reports, supervisor):
    call = anonymous_reports["hotline_110"]["data"]
    reason = "Korban perlu dihubungi ulang untuk visum, atas perintah Kapolsek"
    response = supervisor.post(f"/api/reports/{call['report_id']}/reveal", {"reason": reason})
    assert response.status_code == 200, response.text
    contact = response.json()
    assert contact["reporter"] == {"name": "Sri Wahyuni", "phone": "+6281277774321"}
    assert contact["details"]["caller_number"] == "+6281355559876"
    assert contact["details"]["call_id"] == CALL["call_id"]

    open311 = anonymous_reports["open311"]["data"]
    revealed = supervisor.post(f"/api/reports/{open311['report_id']}/reveal", {"reason": reason}).json()
    assert revealed["details"] | OPEN311_CONTACT == revealed["details"]

    audit = supervisor.get("/api/reveals")
    assert audit.status_code == 200, audit.text
    entries = audit.json()["reveals"]
    assert [(e["number"], e["by"], e["reason"]) for e in entries] == [
        (open311["number"], "kanit.menteng", reason), (call["number"], "kanit.menteng", reason)]
    assert all(e["at"] and e["outcome"] == "revealed" for e in entries)
    assert leaked(json.dumps(entries)) == [], "the audit says who looked, not what they saw"


def test_a_plain_operator_cannot_reveal_or_read_the_audit_and_nothing_is_revealed(
        anonymous_reports, operator, supervisor):
    call = anonymous_reports["hotline_110"]["data"]
    refused = operator.post(f"/api/reports/{call['report_id']}/reveal",
                            {"reason": "Ingin tahu siapa penelepon malam ini"})
    assert refused.status_code == 403
    assert leaked(refused.text) == []
    assert operator.get("/api/reveals").status_code == 403
    assert supervisor.get("/api/reveals").json()["reveals"] == []


@pytest.mark.parametrize("body", [{}, {"reason": "   "}, {"reason": "perlu"}])
def test_a_reveal_without_a_real_reason_is_refused_and_not_recorded(anonymous_reports, supervisor, body):
    call = anonymous_reports["hotline_110"]["data"]
    response = supervisor.post(f"/api/reports/{call['report_id']}/reveal", body)
    assert response.status_code == 400
    assert leaked(response.text) == []
    assert supervisor.get("/api/reveals").json()["reveals"] == []


def test_console_actions_record_the_operator_from_the_session_not_the_body(
        anonymous_reports, operator, reports_rpc, amqp_uri):
    events = anonymous_reports["tap"]
    open311 = anonymous_reports["open311"]["data"]
    card = operator.wait_for_card(lambda c: c["number"] == open311["number"] and c["assignment"])
    assignment_id = card["assignment"]["assignment_id"]
    response = operator.act(assignment_id, "acknowledge", by_operator="kanit.menteng")
    assert response.status_code == 200, response.text
    assert response.json()["history"][-1]["by_operator"] == "piket.menteng"
    acknowledged = events.wait_for(of_type("assignment_acknowledged", assignment_id=assignment_id))
    assert acknowledged["data"]["by_operator"] == "piket.menteng"
    operator.wait_for_card(lambda c: c["number"] == open311["number"] and any(
        step["state"] == "acknowledged" and step["by"] == "piket.menteng" for step in c["timeline"]))

    call = anonymous_reports["hotline_110"]["data"]
    cancelled = operator.post(f"/api/reports/{call['report_id']}/cancel",
                              {"reason": "Penelepon membatalkan", "cancelled_by": "kanit.menteng"})
    assert cancelled.status_code == 200, cancelled.text
    assert reports_rpc.get_report(call["report_id"])["cancellation"]["by"] == "piket.menteng"
    declined = events.wait_for(lambda b: b["type"] == "assignment_declined"
                               and b["data"]["report_id"] == call["report_id"])
    assert declined["data"]["by_operator"] == "piket.menteng"

    with ServiceRpcProxy("dispatch", {"AMQP_URI": amqp_uri}, timeout=20) as dispatch:
        with pytest.raises(Exception, match="operator"):
            dispatch.complete_assignment(assignment_id, "selesai", by_operator=" ")
        assert dispatch.get_assignment(assignment_id)["state"] == "acknowledged"
