"""Run the whole system on one machine: embedded DB (unless MONGO_URI), topology, three services.

Used by the demo and by the end-to-end tests, so both run exactly what an operator runs.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from kombu import Connection

from shared import topology
from shared.config import PROJECT_ROOT
from shared.embedded_db import EmbeddedMongo

SERVICES = ("reports", "dispatch", "notify")
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
SIMULATOR = "sms-gateway"
SIMULATOR_QUEUE = "evt-notify-sms_requested--sms-gateway"


class System:
    """Three `nameko run` processes against one broker and one MongoDB (each service its own database)."""

    def __init__(self, amqp_uri: str | None = None, mongo_uri: str | None = None,
                 storage_path: str = str(PROJECT_ROOT / "var" / "mongo"),
                 log_dir: Path = PROJECT_ROOT / "var" / "log", extra_env: dict[str, str] | None = None,
                 gateway_simulator: bool = False, simulator_args: tuple[str, ...] = ()):
        self.amqp_uri = amqp_uri or os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI
        self.mongo_uri = mongo_uri or os.environ.get("MONGO_URI")
        self.storage_path = storage_path
        self.log_dir = Path(log_dir)
        self.extra_env = extra_env or {}
        self.mongo: EmbeddedMongo | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        # Off by default: the end-to-end tests read the gateway's queue themselves.
        self.gateway_simulator = gateway_simulator
        self.simulator_args = tuple(simulator_args)

    def start(self, timeout: float = 60.0) -> "System":
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if not self.mongo_uri:
            self.mongo = EmbeddedMongo(self.storage_path, log_path=str(self.log_dir / "mongo.log")).start()
            self.mongo_uri = self.mongo.uri
        topology.declare_topology(self.amqp_uri)
        for service in SERVICES:
            self.processes[service] = self._spawn(service)
        queues = [queue.name for service_cls in topology.siaga_service_classes()
                  for queue in topology.service_queues(service_cls)]
        if self.gateway_simulator:
            self.processes[SIMULATOR] = self._spawn_simulator()
            queues.append(SIMULATOR_QUEUE)
        self.wait_until_consuming(queues, timeout)
        return self

    def _spawn_simulator(self) -> subprocess.Popen:
        """The SMS gateway simulator (`python -m siaga.gateway_simulator`), one more process."""
        env = os.environ | self.extra_env | {"AMQP_URI": self.amqp_uri, "PYTHONPATH": str(PROJECT_ROOT)}
        log = open(self.log_dir / f"{SIMULATOR}.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", "siaga.gateway_simulator", *self.simulator_args],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def _spawn(self, service: str) -> subprocess.Popen:
        env = os.environ | self.extra_env | {
            "AMQP_URI": self.amqp_uri,
            "MONGO_URI": self.mongo_uri,
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        log = open(self.log_dir / f"{service}.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", "nameko", "run", "--config", str(PROJECT_ROOT / "services" / service / "config.yml"),
             f"services.{service}.service"],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def wait_until_consuming(self, queue_names: list[str], timeout: float) -> None:
        """Ready means every handler queue has a consumer; anything else is a failed start."""
        deadline = time.monotonic() + timeout
        with Connection(self.amqp_uri) as connection:
            channel = connection.default_channel
            while True:
                self._fail_if_exited()
                waiting = [name for name in queue_names
                           if channel.queue_declare(name, passive=True).consumer_count == 0]
                if not waiting:
                    return
                if time.monotonic() > deadline:
                    raise RuntimeError(f"services did not start consuming {waiting} within {timeout}s; "
                                       f"see logs in {self.log_dir}")
                time.sleep(0.2)

    def _fail_if_exited(self) -> None:
        for service, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"service {service} exited with code {process.returncode}; "
                                   f"see {self.log_dir / (service + '.log')}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if self.mongo:
            self.mongo.stop()

    def __enter__(self) -> "System":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
