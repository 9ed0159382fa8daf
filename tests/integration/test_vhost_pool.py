"""The suite's vhost pool hands a test a vhost as it was made, or a new one: never what a test left."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest
from kombu import Connection, Exchange, Queue

from shared.contract import EVENT_TYPES
from shared.topology import Grant, declare_topology, handler_queue_name
from tests.conftest import BROKER
from tests.vhost_pool import VhostPool, delete_orphans, vhost_name

pytestmark = pytest.mark.integration

WATCHED = handler_queue_name(EVENT_TYPES["report_received"], "dispatch", "handle_report_received")


@pytest.fixture
def pool(broker_admin):
    pool = VhostPool(broker_admin, BROKER, declare_topology)
    yield pool
    pool.close()


def publish_and_add_a_queue(uri: str) -> None:
    with Connection(uri, transport_options={"confirm_publish": True}) as connection:
        connection.Producer().publish({"left": "behind"}, exchange="reports.events", routing_key="report_received")
        Queue("left-behind", Exchange("left-exchange", type="topic"), "#", durable=True)(
            connection.default_channel).declare()


def assert_as_made(uri: str) -> None:
    with Connection(uri) as connection:
        channel = connection.default_channel
        assert channel.queue_declare(WATCHED, passive=True).message_count == 0
        with pytest.raises(Exception, match="NOT_FOUND"):
            channel.queue_declare("left-behind", passive=True)


def test_messages_and_added_queues_are_cleared_and_the_vhost_handed_on(pool):
    first = pool.take()
    publish_and_add_a_queue(first)
    pool.give_back(first)

    again = pool.take()

    assert (again, pool.reused) == (first, 1)
    assert_as_made(again)
    pool.give_back(again)


def test_a_vhost_whose_topology_was_changed_is_replaced(pool):
    first = pool.take()
    publish_and_add_a_queue(first)
    with Connection(first) as connection:
        connection.default_channel.queue_bind(WATCHED, "reports.events", "extra.key")
    pool.give_back(first)

    again = pool.take()

    assert again != first and pool.reused == 0
    assert_as_made(again)
    pool.give_back(again)


def test_a_vhost_someone_else_was_granted_on_is_never_handed_on(pool, broker_admin):
    first = pool.take()
    vhost = first.rsplit("/", 1)[1]
    broker_admin.put_users(vhost, {f"{vhost}-stranger": ("secret", Grant())})
    try:
        pool.give_back(first)
        again = pool.take()
        pool.give_back(again)
        assert again != first
    finally:
        broker_admin.delete_users({f"{vhost}-stranger"})


def test_the_vhosts_of_a_run_that_was_killed_are_deleted_and_a_running_ones_kept(broker_admin):
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    killed = vhost_name(int(gone.stdout))  # its process has exited: nobody will delete its vhost
    running = vhost_name()
    for vhost in (killed, running):
        broker_admin.add_vhost(vhost, BROKER.split(":")[0])
    try:
        deleted = delete_orphans(broker_admin)

        names = {vhost["name"] for vhost in json.loads(broker_admin.call("GET", "vhosts?columns=name"))}
        assert killed in deleted and killed not in names
        assert running not in deleted and running in names
    finally:
        for vhost in (killed, running):
            broker_admin.delete_vhost(vhost)
