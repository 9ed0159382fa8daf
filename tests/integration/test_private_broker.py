"""The chaos run's private RabbitMQ node: a real restart keeps durable data, and nothing is left behind."""
from __future__ import annotations

import pytest
from kombu import Connection, Exchange, Queue

from bench.private_broker import PrivateBroker

pytestmark = pytest.mark.integration


def test_a_private_node_restart_keeps_persistent_messages_and_the_node_is_gone_afterwards(tmp_path):
    queue = Queue("restart-probe", Exchange("restart-probe", type="direct"), routing_key="probe", durable=True,
                  queue_arguments={"x-queue-type": "quorum"})
    with PrivateBroker(keep_logs_in=tmp_path) as broker:
        with Connection(broker.amqp_uri) as connection:
            connection.Producer().publish({"n": 1}, exchange=queue.exchange, routing_key="probe", declare=[queue],
                                          delivery_mode=2)
        pid = broker.process.pid
        broker.restart()
        assert broker.process.pid != pid  # the node itself went away, not only its app
        with Connection(broker.amqp_uri) as connection:
            message = queue(connection.default_channel).get(no_ack=True)
        assert message is not None and message.payload == {"n": 1}
        process, base = broker.process, broker.base
    assert process.poll() is not None
    assert not base.exists()
    assert (tmp_path / "rabbitmq").is_dir()
