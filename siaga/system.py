"""Run the whole system on one machine: embedded DB (unless MONGO_URI), topology, five services.

Used by the demo and by the end-to-end tests, so both run exactly what an operator runs. Several
systems can share one machine, one broker and one MongoDB: each runs as an instance
(`siaga.settings`) with its own vhost, broker users, databases, files and HTTP ports.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Mapping

from kombu import Connection

from shared import topology
from shared.config import PROJECT_ROOT
from shared.embedded_db import EmbeddedMongo, free_port
from shared.mongo import connect
from siaga.kannel import KannelGateway
from siaga.settings import HTTP_VARIABLES, SERVICES, SiagaSettings, database_variable, siaga_settings

SIMULATOR = "sms-gateway"
SIMULATOR_QUEUE = "evt-notify-sms_requested--sms-gateway"


def address_is_free(address: str) -> bool:
    """Nothing listens there (a socket lingering after its server closed does not count)."""
    host, _, port = address.rpartition(":")
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, int(port)))
        except OSError:
            return False
    return True


def choose_http_addresses(given: Mapping[str, str], preferred: Mapping[str, str]) -> dict[str, str]:
    """An address the user set is used as is, and must be free; a preferred one (the demo's
    well-known ports) only while free; otherwise any free port, so that systems can share a machine."""
    chosen = {}
    for service, variable in HTTP_VARIABLES.items():
        address = given.get(service)
        if address and not address_is_free(address):
            raise RuntimeError(f"{variable}={address} is already in use (another Siaga instance?); "
                               f"set {variable} to a free host:port")
        wished = preferred.get(service)
        chosen[service] = address or (wished if wished and address_is_free(wished) else f"127.0.0.1:{free_port()}")
    return chosen


def metrics_variable(service: str) -> str:
    """The variable a service's config.yml reads its /metrics and /healthz address from."""
    return f"{service.upper()}_METRICS_ADDRESS"


def choose_metrics_addresses(env: Mapping[str, str], names: list[str]) -> dict[str, str]:
    """Each process its own metrics port: a service's first the one the user set, else a free one
    (systems and replicas share a machine)."""
    return {name: (env.get(metrics_variable(name)) if name in SERVICES else None) or f"127.0.0.1:{free_port()}"
            for name in names}


def process_names(replicas: int) -> list[str]:
    """`reports`, then `reports-2`, `reports-3`…: a service's first process keeps the service's name."""
    return [service if replica == 1 else f"{service}-{replica}"
            for service in SERVICES for replica in range(1, replicas + 1)]


def service_of(name: str) -> str:
    """The service a process (`dispatch-2`) runs."""
    return name if name in SERVICES else name.rsplit("-", 1)[0]


class System:
    """The services' `nameko run` processes against one broker and one MongoDB (each service its own database)."""

    def __init__(self, amqp_uri: str | None = None, mongo_uri: str | None = None,
                 storage_path: str | None = None, log_dir: Path | None = None,
                 extra_env: dict[str, str] | None = None,
                 gateway_simulator: bool = False, simulator_args: tuple[str, ...] = (),
                 kannel_gateway: bool = False, kannel_reply: str | None = None,
                 preferred_http: dict[str, str] | None = None, least_privilege: bool = False,
                 fresh_databases: bool = False, settings: SiagaSettings | None = None, replicas: int = 1):
        self.settings = settings or siaga_settings()
        self.amqp_uri = amqp_uri or self.settings.broker_uri
        self.mongo_uri = mongo_uri or self.settings.mongo_uri or None
        self.storage_path = storage_path or str(self.settings.var_dir / "mongo")
        self.log_dir = Path(log_dir or self.settings.var_dir / "log")
        # The instance's database names, unless the user or the caller named a service's own.
        self.env = self.settings.database_environment() | dict(os.environ) | (extra_env or {})
        self.mongo: EmbeddedMongo | None = None
        self.processes: dict[str, subprocess.Popen] = {}
        # Off by default: the end-to-end tests read the gateway's queue themselves.
        self.gateway_simulator = gateway_simulator
        self.simulator_args = tuple(simulator_args)
        # Kannel, its test SMSC and the bridge in place of the simulator (the demo, where Kannel is installed).
        self.kannel = KannelGateway(self.settings.var_dir / "kannel", self.log_dir / f"{SIMULATOR}.log",
                                    auto_reply=kannel_reply) if kannel_gateway else None
        self.preferred_http = preferred_http or {}
        self.http_addresses: dict[str, str] = {}
        self.metrics_addresses: dict[str, str] = {}
        # Each service as its own least-privilege broker user (needs the management API or rabbitmqctl).
        self.least_privilege = least_privilege
        self.amqp_uris: dict[str, str] = {}
        # Only ever the embedded server's own demo data: never a MongoDB given by MONGO_URI.
        self.fresh_databases = fresh_databases
        # Processes per service, competing for the same queues as replicas on several machines would.
        self.replicas = replicas

    def start(self, timeout: float = 60.0) -> "System":
        self.http_addresses = choose_http_addresses(self.settings.http_addresses, self.preferred_http)
        self.metrics_addresses = choose_metrics_addresses(self.env, process_names(self.replicas))
        self.log_dir.mkdir(parents=True, exist_ok=True)
        if self.least_privilege:
            from siaga.broker_users import ensure_vhost

            ensure_vhost(self.amqp_uri)
        topology.declare_topology(self.amqp_uri)
        queues = [queue.name for service_cls in topology.siaga_service_classes()
                  for queue in topology.service_queues(service_cls)]
        self._refuse_if_running(queues)
        if self.least_privilege:
            from siaga.broker_users import ensure_users

            self.amqp_uris = ensure_users(self.amqp_uri, self.settings)
        try:
            if not self.mongo_uri:
                self.mongo = EmbeddedMongo(self.storage_path, log_path=str(self.log_dir / "mongo.log")).start()
                self.mongo_uri = self.mongo.uri
                if self.fresh_databases:
                    self._drop_service_databases()
            for name in process_names(self.replicas):
                self.processes[name] = self._spawn(name)
            if self.kannel:
                self.processes[SIMULATOR] = self.kannel.start(self._gateway_env())
            elif self.gateway_simulator:
                self.processes[SIMULATOR] = self._spawn_simulator()
                queues.append(SIMULATOR_QUEUE)
            self.wait_until_consuming(queues, timeout)
        except BaseException:
            self.stop()  # a failed start leaves nothing running (`with System()` never reaches __exit__)
            raise
        return self

    def database_name(self, service: str) -> str:
        return self.env[database_variable(service)]

    def _refuse_if_running(self, queue_names: list[str]) -> None:
        """Services started beside a running Siaga on the same vhost would take half its messages,
        and its broker users' passwords would be reset under it."""
        with Connection(self.amqp_uri) as connection:
            channel = connection.default_channel
            consumed = [name for name in queue_names if channel.queue_declare(name, passive=True).consumer_count]
        if consumed:
            vhost = Connection(self.amqp_uri).virtual_host
            raise RuntimeError(f"a Siaga is already running on vhost {vhost} of this broker ({consumed[0]} has "
                               "consumers): start this one with another SIAGA_INSTANCE, and, if you set AMQP_URI, "
                               "one naming another vhost")

    def _drop_service_databases(self) -> None:
        client = connect(self.mongo_uri)
        try:
            for service in SERVICES:
                client.drop_database(self.database_name(service))
        finally:
            client.close()

    @property
    def gateway_name(self) -> str:
        return "Kannel (bearerbox, smsbox, fakesmsc) and its bridge" if self.kannel else "the SMS gateway simulator"

    def _gateway_env(self) -> dict[str, str]:
        return self.env | {"AMQP_URI": self.amqp_uris.get(SIMULATOR, self.amqp_uri), "PYTHONPATH": str(PROJECT_ROOT)}

    def _spawn_simulator(self) -> subprocess.Popen:
        """The SMS gateway simulator (`python -m siaga.gateway_simulator`), one more process."""
        env = self._gateway_env()
        log = open(self.log_dir / f"{SIMULATOR}.log", "ab")
        return subprocess.Popen(
            [sys.executable, "-m", "siaga.gateway_simulator", *self.simulator_args],
            cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def respawn(self, name: str) -> None:
        """Start a process again under its name (the gateway simulator, or a service's replica)."""
        self.processes[name] = self._spawn_simulator() if name == SIMULATOR else self._spawn(name)

    def _spawn(self, name: str) -> subprocess.Popen:
        """`name` is a service (`reports`) or one of its replicas (`reports-2`): a replica serves HTTP on a
        port of its own, as one behind a load balancer would."""
        service = service_of(name)
        env = self.env | {
            "AMQP_URI": self.amqp_uris.get(service, self.amqp_uri),
            "MONGO_URI": self.mongo_uri,
            "PYTHONPATH": str(PROJECT_ROOT),
            "PYTHONWARNINGS": "ignore::DeprecationWarning",
        }
        if service in HTTP_VARIABLES:
            env[HTTP_VARIABLES[service]] = (self.http_addresses[service] if name == service
                                            else self.http_addresses.setdefault(name, f"127.0.0.1:{free_port()}"))
        env[metrics_variable(service)] = self.metrics_addresses[name]
        log = open(self.log_dir / f"{name}.log", "ab")
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
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"service {name} exited with code {process.returncode}; "
                                   f"see {self.log_dir / (name + '.log')}")

    def stop(self, grace: float = 15.0) -> None:
        """Graceful first; a service still running after `grace` seconds is killed, which loses
        nothing: its unacknowledged messages are redelivered and every write is idempotent."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        for process in self.processes.values():
            try:
                process.wait(max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()
        if self.kannel:
            self.kannel.stop()
        if self.mongo:
            self.mongo.stop()

    def text_from(self, phone: str, text: str) -> None:
        """An SMS from `phone` to Siaga's number, through the gateway this system runs (Kannel's test SMS centre,
        or the simulator), as a person would send it."""
        if self.kannel and self.kannel.smsc:
            self.kannel.smsc.send(phone, text)
            return
        from siaga.gateway_simulator import send_one

        send_one(self.amqp_uris.get(SIMULATOR, self.amqp_uri), phone, text)

    def __enter__(self) -> "System":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
