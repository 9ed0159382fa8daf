"""Each service's broker user may do exactly what its handlers and publisher need, nothing more."""
from __future__ import annotations

import json
import uuid

import pytest
from amqp.exceptions import AccessRefused
from kombu import Connection, Exchange, Queue

from services.reports.service import ReportsService
from shared import topology
from siaga.broker_users import ensure_users, remove_users
from siaga.settings import SiagaSettings
from tests.conftest import throwaway_vhost
from tests.factories import create_incident, of_type

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def amqp_uri(broker_admin):
    """One vhost for the module: both tests share its broker users."""
    yield from throwaway_vhost(broker_admin)


@pytest.fixture(scope="module")
def service_uris(amqp_uri, tmp_path_factory):
    topology.declare_topology(amqp_uri)
    instance = SiagaSettings(instance=f"t{uuid.uuid4().hex[:6]}")
    uris = ensure_users(amqp_uri, instance, store=tmp_path_factory.mktemp("users") / "passwords.json")
    yield uris
    remove_users(instance)


def test_reports_runs_the_main_path_with_its_own_restricted_user(service_uris, container_factory, config_for, tap):
    received = tap(("reports.events", "report_received"))
    container_factory(ReportsService, config_for("reports", AMQP_URI=service_uris["reports"])).start()
    with Connection(service_uris["citizen-app"], transport_options={"confirm_publish": True}) as app:
        app.Producer().publish(json.dumps(create_incident()), exchange=Exchange("intake.events", no_declare=True),
                               routing_key="incident_reported", content_type="application/json",
                               user_id=app.userid)
    assert received.wait_for(of_type("report_received"))


def test_each_party_is_refused_what_it_does_not_own(service_uris):
    """One test for three refusals: creating broker users is slow, and each refusal stands alone."""
    with Connection(service_uris["reports"], transport_options={"confirm_publish": True}) as connection:
        with pytest.raises(AccessRefused, match="dispatch.events"):
            connection.Producer().publish(json.dumps({"forged": True}), routing_key="assignment_created",
                                          exchange=Exchange("dispatch.events", no_declare=True))
    with Connection(service_uris["reports"]) as connection:
        with pytest.raises(AccessRefused, match="sms-gateway"):
            Queue("evt-notify-sms_requested--sms-gateway", no_declare=True)(connection.default_channel).get()
    with Connection(service_uris["citizen-app"], transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        producer.publish(json.dumps(create_incident()), exchange=Exchange("intake.events", no_declare=True),
                         routing_key="incident_reported", content_type="application/json")
        with pytest.raises(AccessRefused, match="reports.events"):
            producer.publish("{}", exchange=Exchange("reports.events", no_declare=True), routing_key="report_received")


def test_community_records_a_visit_by_sms_with_its_own_restricted_user(service_uris, container_factory, config_for,
                                                                       mongo_client, db_names, tap):
    """community reads the gateway's sms_received, asks dispatch's roster by RPC and says visit_recorded, each as
    its own broker user; the SMS comes from the sms-gateway party."""
    from services.community.service import CommunityService
    from services.dispatch.service import DispatchService
    from tests.factories import OFFICER, create_sms_received
    from tests.factories.dispatch import dispatch_store, load_demo_roster

    recorded = tap(("community.events", "visit_recorded"), ("community.events", "community_sms_requested"))
    load_demo_roster(dispatch_store(mongo_client, db_names))
    container_factory(DispatchService, config_for("dispatch", AMQP_URI=service_uris["dispatch"])).start()
    container_factory(CommunityService, config_for("community", AMQP_URI=service_uris["community"])).start()
    with Connection(service_uris["sms-gateway"], transport_options={"confirm_publish": True}) as gateway:
        gateway.Producer().publish(json.dumps(create_sms_received(OFFICER["phone"], "SAMBANG RW05 PASAR aman")),
                                   exchange=Exchange("gateway.events", no_declare=True), routing_key="sms_received",
                                   content_type="application/json", user_id=gateway.userid)
    visit = recorded.wait_for(of_type("visit_recorded"))
    assert visit["source"] == "/siaga/community" and visit["data"]["nrp"] == OFFICER["nrp"]
    assert recorded.wait_for(of_type("community_sms_requested"))["data"]["to"] == OFFICER["phone"]
