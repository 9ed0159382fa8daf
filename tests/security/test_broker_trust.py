"""The broker vouches for the sender: attacks with one party's broker login, against the real broker.

Every party has its own broker user here, as in the demo and in production (siaga/broker_users.py),
and the services run as theirs; the attacker holds one outside party's login.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from amqp.exceptions import AccessRefused, PreconditionFailed
from kombu import Connection, Exchange, Queue

from services.dispatch.service import DispatchService
from services.reports.service import ReportsService
from siaga.broker_users import ensure_users, remove_users
from siaga.settings import SiagaSettings
from tests.factories import create_incident
from tests.factories.dispatch import dispatch_store, load_demo_roster
from tests.factories.reports import create_source_incident

pytestmark = pytest.mark.security

MENTENG_OFFICER = "90120344"


@pytest.fixture
def uris(declared, amqp_uri, tmp_path, broker_admin):
    """Each party's AMQP URI on this test's vhost, as its own broker user."""
    instance = SiagaSettings(instance=f"t{uuid.uuid4().hex[:8]}")
    yield ensure_users(amqp_uri, instance, store=tmp_path / "passwords.json")
    remove_users(instance, amqp_uri)


@pytest.fixture
def reports(uris, container_factory, config_for):
    container = container_factory(ReportsService, config_for("reports", AMQP_URI=uris["reports"]))
    container.start()
    return container


def publish_as(uri: str, body: dict, *, exchange: str = "intake.events", routing_key: str = "incident_reported",
               user_id: str | None = "own") -> None:
    """As an outside party's app would, with publisher confirms; `user_id` "own": the connection's user."""
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        properties = {"user_id": connection.userid if user_id == "own" else user_id} if user_id else {}
        connection.Producer().publish(json.dumps(body), exchange=Exchange(exchange, no_declare=True),
                                      routing_key=routing_key, content_type="application/json", delivery_mode=2,
                                      mandatory=True, **properties)


def rejections_of(uri: str, party: str, count: int = 1, idle: float = 2.0) -> list[dict]:
    """What the party reads from its own rejection queue: `count` of them, and any more that come
    before the queue has stayed quiet for `idle` seconds."""
    queue = f"evt-reports-report_rejected--{party}"
    with Connection(uri) as connection:
        simple = connection.SimpleQueue(Queue(queue, no_declare=True))
        got = []
        try:
            while True:
                message = simple.get(timeout=20 if len(got) < count else idle)
                message.ack()
                got.append(json.loads(message.body))
        except simple.Empty:
            return got
        finally:
            simple.close()


def test_an_app_cannot_bind_its_queue_to_every_report_event(uris):
    """Before: binding the shared rejection queue to reports.events with `#` was allowed, and it then
    received every report_received of every source, reporters' names and phones included."""
    with Connection(uris["citizen-app"]) as connection:
        channel = connection.channel()
        with pytest.raises(AccessRefused):
            channel.queue_bind("evt-reports-report_rejected--citizen-app", "reports.events", "#")


def test_an_app_cannot_bind_another_apps_rejections(uris):
    with Connection(uris["citizen-app"]) as connection:
        with pytest.raises(AccessRefused):
            connection.channel().queue_bind("evt-reports-report_rejected--citizen-app", "reports.events",
                                            "report_rejected.hotline-110")


def test_each_app_reads_only_its_own_rejections(uris, reports):
    """Before: every app's rejections, with the reporter's phone, landed in one shared queue."""
    unknown_village = {"location": {"village_code": "31.71.06.1999"}}
    hotline = create_source_incident("hotline_110", data=unknown_village)
    citizen = create_incident(data=unknown_village)
    publish_as(uris["hotline-110"], hotline)
    publish_as(uris["citizen-app"], citizen)
    read = rejections_of(uris["citizen-app"], "citizen-app")
    assert [body["data"]["original"]["id"] for body in read] == [citizen["id"]]
    read = rejections_of(uris["hotline-110"], "hotline-110")
    assert [body["data"]["original"]["id"] for body in read] == [hotline["id"]]


def test_an_upstream_app_cannot_change_an_officers_status_or_place(uris):
    """Before: officer_status_changed from the upstream apps' login put all six free Menteng officers
    off duty, and officer_location_updated moved a patrol unit to Medan."""
    at = datetime.now(timezone.utc).isoformat()
    status = {"specversion": "1.0", "id": "x-1", "source": f"/officer-app/{MENTENG_OFFICER}",
              "type": "officer_status_changed", "time": at, "data": {"nrp": MENTENG_OFFICER, "status": "off_duty",
                                                                     "at": at}}
    with pytest.raises(AccessRefused):
        publish_as(uris["citizen-app"], status, routing_key="officer_status_changed")
    with pytest.raises(AccessRefused):
        publish_as(uris["citizen-app"], status | {"type": "officer_location_updated"},
                   routing_key="officer_location_updated")


def test_an_officer_app_speaks_only_for_the_officer_it_names(uris, container_factory, config_for, mongo_client,
                                                              db_names, tap):
    """The officers' app may move an officer only under that officer's own source."""
    load_demo_roster(dispatch_store(mongo_client, db_names))
    container_factory(DispatchService, config_for("dispatch", AMQP_URI=uris["dispatch"])).start()
    dead = tap(("siaga.dead-letter", "#"))
    at = datetime.now(timezone.utc).isoformat()
    other = {"specversion": "1.0", "id": "x-2", "source": "/officer-app/11111111", "type": "officer_status_changed",
             "time": at, "data": {"nrp": MENTENG_OFFICER, "status": "off_duty", "at": at}}
    publish_as(uris["officer-app"], other, routing_key="officer_status_changed")
    letter = dead.wait_for(lambda body: body["id"] == "x-2")
    assert letter["data"]["nrp"] == MENTENG_OFFICER
    officer = mongo_client[db_names["dispatch"]].officers.find_one({"_id": MENTENG_OFFICER})
    assert officer["status"] != "off_duty"


def test_an_app_cannot_report_a_patrol_or_borrow_another_apps_source(uris, reports, mongo_client, db_names):
    """Before: an incident with source_kind "patrol" naming any officer's NRP, from the upstream apps'
    login, put that officer on scene with no acknowledgement."""
    patrol = create_source_incident("patrol")
    publish_as(uris["citizen-app"], patrol)
    borrowed = create_source_incident("hotline_110")
    publish_as(uris["citizen-app"], borrowed)
    told = {body["data"]["original"]["id"]: body for body in rejections_of(uris["citizen-app"], "citizen-app", 2)}
    assert set(told) == {patrol["id"], borrowed["id"]}
    assert "not allowed for" in json.dumps(told[patrol["id"]]["data"]["reasons"])
    assert mongo_client[db_names["reports"]].reports.count_documents({}) == 0


def test_the_officers_app_reports_a_patrol_only_for_the_officer_it_vouches_for(uris, reports, mongo_client,
                                                                               db_names):
    mine = create_source_incident("patrol")
    someone_else = create_source_incident("patrol", details={"officer_nrp": "77777777"})
    for incident in (mine, someone_else):
        publish_as(uris["officer-app"], incident)
    [refused] = rejections_of(uris["officer-app"], "officer-app")
    assert refused["data"]["original"]["id"] == someone_else["id"]
    stored = mongo_client[db_names["reports"]].reports.find_one({})
    assert stored is not None and stored["origin"] == {"source": mine["source"], "id": mine["id"]}


def test_a_message_the_broker_did_not_vouch_for_is_refused(uris, reports, mongo_client, db_names, tap):
    """Without user_id RabbitMQ checks nothing, so the consumer refuses it (and cannot tell whom to
    answer: the source is only a claim); a user_id naming someone else is refused by RabbitMQ itself."""
    dead = tap(("siaga.dead-letter", "#"))
    unvouched = create_incident()
    publish_as(uris["citizen-app"], unvouched, user_id=None)
    assert dead.wait_for(lambda body: body["id"] == unvouched["id"])
    with pytest.raises(PreconditionFailed):
        publish_as(uris["citizen-app"], create_incident(), user_id=Connection(uris["officer-app"]).userid)
    assert mongo_client[db_names["reports"]].reports.count_documents({}) == 0


def test_a_service_cannot_call_another_services_rpc(uris, amqp_uri):
    """Before: as `reports`, dispatch.complete_assignment resolved a report "via console"."""
    with Connection(amqp_uri) as admin:
        Exchange("nameko-rpc", type="topic", durable=True)(admin.channel()).declare()
    request = {"args": [], "kwargs": {"assignment_id": "a", "outcome": "resolved"}}
    with pytest.raises(AccessRefused):
        publish_as(uris["reports"], request, exchange="nameko-rpc", routing_key="dispatch.complete_assignment",
                   user_id=None)
    with pytest.raises(AccessRefused):
        publish_as(uris["console"], request, exchange="nameko-rpc", routing_key="dispatch.no_such_method",
                   user_id=None)


def test_each_partys_grant_names_its_own_keys_only():
    """The derived topic permissions, read as a reviewer would: no `#`, no wildcard on another's events."""
    from siaga.broker_users import parties

    for party, grant in parties().items():
        for topic in grant.topic_permissions:
            for keys in (topic["read"], topic["write"]):
                assert "#" not in keys and ".*" not in keys.replace(r"\.\*", ""), (party, topic)
