"""Services outlive a broker restart: they start while it is away and survive its reset sockets."""
from __future__ import annotations

import socket
import uuid

import pytest
from kombu import Connection, Queue
from nameko.containers import ServiceContainer

from shared.embedded_db import free_port
from shared.messaging import EventPublisher, RawQueueConsumer

pytestmark = pytest.mark.integration


class PublishingService:
    name = "reports"
    publish = EventPublisher()


def test_a_service_with_an_event_publisher_starts_while_no_broker_listens():
    """Before: the publisher's setup declared `<service>.events`, ECONNREFUSED, `nameko run` exited 1
    (seen in the chaos run when a SIGKILLed service came back during a broker restart)."""
    nobody_listens = f"amqp://guest:guest@127.0.0.1:{free_port()}/"
    container = ServiceContainer(PublishingService, {"AMQP_URI": nobody_listens})
    container.start()
    assert container.started
    container.stop()


def test_acknowledging_on_a_connection_the_broker_reset_leaves_the_message_for_redelivery(amqp_uri):
    """Before: the socket error escaped `ack_message`, killed the worker's container, and `nameko run`
    exited (seen in the chaos run when RabbitMQ restarted under notify)."""
    queue = Queue(f"ack-probe-{uuid.uuid4().hex[:6]}", durable=True)
    with Connection(amqp_uri) as connection:
        connection.Producer().publish({"n": 1}, routing_key=queue.name, declare=[queue], delivery_mode=2)
        message = queue(connection.default_channel).get(no_ack=False)
        connection.connection.transport.sock.shutdown(socket.SHUT_RDWR)  # what a broker going down leaves behind
        RawQueueConsumer().ack_message(message)
        RawQueueConsumer().requeue_message(message)
    with Connection(amqp_uri) as connection:
        redelivered = queue(connection.default_channel).get(no_ack=True)
    assert redelivered is not None and redelivered.payload == {"n": 1}
