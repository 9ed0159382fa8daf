"""A Siaga never starts on a vhost where another one is running."""
from __future__ import annotations

import uuid

import pytest
from kombu import Connection, Queue

from services.reports.service import ReportsService
from shared import topology
from shared.contract import SERVICES
from siaga.settings import SiagaSettings
from siaga.system import System

pytestmark = pytest.mark.integration


def test_a_second_siaga_on_a_running_ones_vhost_is_refused_before_it_touches_its_users(
        amqp_uri, mongo_uri, declared, tmp_path):
    running = next(topology.service_queues(ReportsService)).name
    settings = SiagaSettings(instance=f"t{uuid.uuid4().hex[:8]}")
    with Connection(amqp_uri) as connection:
        with connection.Consumer(Queue(running, no_declare=True), callbacks=[lambda body, message: None]):
            system = System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=tmp_path, least_privilege=True,
                            settings=settings)
            with pytest.raises(RuntimeError, match=f"already running .*{running}.*another SIAGA_INSTANCE"):
                system.start()
    assert system.processes == {}
    assert not (settings.var_dir / "broker-users.json").exists()  # no password chosen, none set


def test_a_siaga_that_fails_to_start_leaves_no_service_running(amqp_uri, mongo_uri, tmp_path):
    """Before: a start that timed out left its four `nameko run` processes behind, consuming on a vhost
    nobody would delete, for as long as the machine ran."""
    class Recorded(System):
        spawned: list = []

        def _spawn(self, service):
            self.spawned.append(super()._spawn(service))
            return self.spawned[-1]

    system = Recorded(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=tmp_path)
    with pytest.raises(RuntimeError, match="did not start consuming"):
        system.start(timeout=0.0)
    assert len(system.spawned) == len(SERVICES) and all(process.poll() is not None for process in system.spawned)
