"""No body can crash a worker: each poison body lands in the dead letter once, with a reason a person
can read, and the service goes on to handle the next good message.

Published as an attacker with publish rights on an exchange would (plain kombu), at the real services
on the real broker.
"""
from __future__ import annotations

import json

import pytest
from werkzeug.wrappers import Request

from services.console.exceptions import InvalidRequest
from services.console.web import json_body
from services.dispatch.service import DispatchService
from services.notify.service import NotifyService
from services.reports.service import ReportsService
from shared import topology
from shared.contract import INCIDENT_REPORTED, REPORT_RECEIVED
from shared.messaging import REASON_HEADER
from tests.factories import create_incident, create_report_received, read_queue
from tests.factories.dispatch import dispatch_store, load_demo_roster

pytestmark = pytest.mark.security


def incident_json(**data) -> bytes:
    return json.dumps(create_incident(data=data)).encode()


def spelled(raw: str, field: str = "lat") -> bytes:
    """An incident whose location `field` is spelled exactly as `raw` (what json.dumps will not write)."""
    document = create_incident()
    document["data"]["location"][field] = "@raw@"
    return json.dumps(document).replace('"@raw@"', raw).encode()


def nested(depth: int) -> dict | list:
    value: dict | list = []
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def duplicate_id() -> bytes:
    """Two ids: which one a parser keeps is up to the parser, so two readers may see two messages."""
    text = json.dumps(create_incident())
    return (text[:-1] + ', "id": "a-second-id"}').encode()


def many_bad_skills() -> bytes:
    """Sixty thousand wrong list items: one reason each, far more than an AMQP header can carry."""
    return json.dumps(create_report_received(data={"skills": ["first_aid"]})).replace(
        '["first_aid"]', json.dumps([0] * 60_000)).encode()


# (body, what the reason must say). The first is the reported one: 100 kB of nesting killed reports.
POISONS = [
    pytest.param(b"[" * 100_000, "nested deeper than", id="deep-array-100kB"),
    pytest.param(b'{"a":' * 30_000, "nested deeper than", id="deep-object"),
    pytest.param(incident_json(details=nested(200)), "nested deeper than", id="deep-inside-data"),
    pytest.param(incident_json(description="x" * 1_200_000), "larger than", id="oversized"),
    pytest.param(spelled("1" * 5000), "out of range", id="int-past-str-conversion-limit"),
    pytest.param(spelled("1" * 400), "out of range", id="int-past-float-range"),
    pytest.param(spelled("1e400"), "out of range", id="float-overflows-to-infinity"),
    pytest.param(spelled("NaN"), "NaN", id="nan"),
    pytest.param(spelled("-Infinity"), "NaN", id="infinity"),
    pytest.param(spelled('"\\ud800 lone"', "address"), "not valid Unicode", id="lone-surrogate"),
    pytest.param(b'{"id": "\xff\xfe", "data": {}}', "body", id="invalid-utf8"),
    pytest.param(duplicate_id(), "repeats a key", id="duplicate-keys"),
    pytest.param(json.dumps(create_incident() | {"data": [1, 2]}).encode(), "envelope", id="data-a-list"),
    pytest.param(incident_json(location="Menteng"), "data", id="location-a-string"),
    pytest.param(incident_json(reporter=[{"name": "x"}]), "data", id="reporter-a-list"),
    pytest.param(json.dumps(create_incident() | {"time": {"at": 1}}).encode(), "envelope", id="time-an-object"),
    pytest.param(b'"just a string"', "body", id="top-level-string"),
]

REPORTS_QUEUE = topology.handler_queue_name(INCIDENT_REPORTED, "reports", "handle_incident_reported")


def dead_letters_until(amqp_uri: str, handled) -> list:
    """Every dead letter, read until `handled()` says the next good message went through, and then until
    the dead-letter queue stays quiet (a crashed worker's message would come round again)."""
    letters = read_queue(amqp_uri, topology.DEAD_LETTER_QUEUE, lambda taken: handled(), timeout=40)
    return letters + read_queue(amqp_uri, topology.DEAD_LETTER_QUEUE, lambda taken: False, timeout=1.5)


def as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8", "surrogatepass") if isinstance(body, str) else body


def test_every_poison_body_is_dead_lettered_once_with_its_reason_and_reports_takes_the_next_incident(
        declared, amqp_uri, publish_raw, tap, container_factory, config_for):
    """All poisons at one running reports, one after the other, then a good incident: a poison that
    crashed the worker would come round again (twice in the dead letter) or stop the good one."""
    answers = tap(("reports.events", "#"))
    container_factory(ReportsService, config_for("reports")).start()
    for param in POISONS:
        publish_raw(param.values[0])
    good = create_incident()
    publish_raw(good)

    def handled() -> bool:
        answers.drain(idle=0.2)
        return any(event["causationid"] == good["id"] for event in answers.seen)

    letters = dead_letters_until(amqp_uri, handled)
    assert handled(), "reports did not take the good incident after the poisons"
    assert_each_dead_lettered_once(letters, [param.values[0] for param in POISONS], REPORTS_QUEUE)
    reasons = {as_bytes(letter.body): letter.headers[REASON_HEADER] for letter in letters}
    wrong = {param.id: reasons[param.values[0]] for param in POISONS if param.values[1] not in reasons[param.values[0]]}
    assert not wrong, f"poisons dead-lettered with the wrong reason: {wrong}"


def poisons_as(event_type) -> list[bytes]:
    """Every poison, the incident-shaped ones re-typed as `event_type`, and a report with too many wrong skills."""
    return [param.values[0].replace(b'"incident_reported"', f'"{event_type.name}"'.encode())
            for param in POISONS] + [many_bad_skills()]


def assert_each_dead_lettered_once(letters: list, sent: list[bytes], queue: str) -> None:
    assert sorted(as_bytes(letter.body) for letter in letters) == sorted(sent)
    assert {letter.headers["x-siaga-queue"] for letter in letters} == {queue}


def assert_survives_every_poison_report_received(service: str, amqp_uri: str, publish_raw, observed) -> None:
    """Every poison as report_received, then a good one: each poison dead-lettered once from `service`'s
    queue, and the good one observed (`observed` reads what the service did with it)."""
    sent = poisons_as(REPORT_RECEIVED)
    for body in sent:
        publish_raw(body, exchange="reports.events", routing_key="report_received")
    good = create_report_received()
    publish_raw(good, exchange="reports.events", routing_key="report_received")

    def handled() -> bool:
        observed.drain(idle=0.2)
        return any(event["causationid"] == good["id"] for event in observed.seen)

    letters = dead_letters_until(amqp_uri, handled)
    assert handled(), f"{service} did not handle the good report after the poisons"
    assert_each_dead_lettered_once(letters, sent, topology.handler_queue_name(
        REPORT_RECEIVED, service, "handle_report_received"))


def test_dispatch_survives_every_poison_report_received_and_assigns_the_next_report(
        declared, amqp_uri, publish_raw, tap, container_factory, config_for, mongo_client, db_names):
    load_demo_roster(dispatch_store(mongo_client, db_names))
    assignments = tap(("dispatch.events", "assignment_created"))
    container_factory(DispatchService, config_for("dispatch")).start()
    assert_survives_every_poison_report_received("dispatch", amqp_uri, publish_raw, assignments)


def test_notify_survives_every_poison_report_received_and_tells_the_next_reporter(
        declared, amqp_uri, publish_raw, tap, container_factory, config_for):
    outbox = tap(("notify.events", "sms_requested"))
    container_factory(NotifyService, config_for("notify", SMS={"ANSWER_TIMEOUT": 60})).start()
    assert_survives_every_poison_report_received("notify", amqp_uri, publish_raw, outbox)


def test_the_console_answers_a_deeply_nested_json_body_as_a_bad_request():
    request = Request.from_values("/api/login", method="POST", data=b"[" * 100_000, content_type="application/json")
    with pytest.raises(InvalidRequest):
        json_body(request)
