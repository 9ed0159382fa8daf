"""Fixtures for the real broker (a fresh vhost per test) and the real Mongo-wire server."""
from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest
from kombu import Connection, Exchange, Queue
from nameko.testing.utils import find_free_port

import siaga.broker_admin
from shared import topology
from shared.embedded_db import EmbeddedMongo
from shared.mongo import connect
from siaga.broker_admin import BrokerAdmin
from tests.vhost_pool import VhostPool, delete_orphans, vhost_name

BROKER = os.environ.get("SIAGA_TEST_BROKER", "guest:guest@127.0.0.1:5672")


# What a module took, measured (make test-durations): the suite is shared out by these. A module not
# measured yet costs a rough figure by its tier.
DURATIONS = Path(__file__).with_name("durations.json")
TIER_COST = {"e2e": 10.0, "security": 4.0, "integration": 3.0}
SHARD = os.environ.get("SIAGA_TEST_SHARD")
took: dict[str, float] = {}
pools: list[VhostPool] = []


def pytest_collection_modifyitems(config, items):
    """Keep only this process's share when SIAGA_TEST_SHARD=k/n. Whole modules are shared out (a module's
    fixtures are made once), the costliest first, each to the share with the least so far; every process
    computes the same split from the same collection."""
    if not SHARD:
        return
    k, n = (int(part) for part in SHARD.split("/"))
    measured = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    cost: dict[str, float] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        cost[module] = cost.get(module, 0.0) + next(
            (TIER_COST[m.name] for m in item.iter_markers() if m.name in TIER_COST), 0.05)
    cost |= {module: measured[module] for module in cost if module in measured}
    loads, owner = [0.0] * n, {}
    for module in sorted(cost, key=lambda module: (-cost[module], module)):
        least = loads.index(min(loads))
        owner[module] = least + 1
        loads[least] += cost[module]
    config.hook.pytest_deselected(items=[item for item in items if owner[item.nodeid.split("::")[0]] != k])
    items[:] = [item for item in items if owner[item.nodeid.split("::")[0]] == k]


def pytest_runtest_logreport(report):
    module = report.nodeid.split("::")[0]
    took[module] = took.get(module, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    for pool in pools:
        terminalreporter.write_line(f"vhosts: {pool.made} made, {pool.reused} reused")


def pytest_sessionfinish(session):
    """Each shard leaves what its modules took, for `scripts/test-shards.py --save-durations`."""
    if SHARD and took:
        out = Path("var", "test-shards", f"durations-{SHARD.replace('/', '-of-')}.json")
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({module: round(seconds, 1) for module, seconds in took.items()}))


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing():
    """Argon2id as in production, at its lowest cost, for the services the tests run in-process: at
    RFC 9106's profile each hash and each check costs 0.3 s of CPU, and the suite makes operators and
    logs in hundreds of times on two cores. The hashes stay real Argon2id (a check reads its cost from
    the hash); the end-to-end tests' processes pay the full cost."""
    from argon2 import PasswordHasher

    from services.console import auth

    kept = auth._hasher, auth.DUMMY_HASH
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    auth.DUMMY_HASH = auth._hasher.hash("not-a-real-password-" + uuid.uuid4().hex)
    yield
    auth._hasher, auth.DUMMY_HASH = kept


@pytest.fixture(scope="session")
def broker_admin():
    """The local broker's management API (`make test` enables it), else rabbitmqctl, which costs a
    second of CPU per call; what it deletes in the background is waited for at the end."""
    try:
        admin = siaga.broker_admin.broker_admin(f"amqp://{BROKER}/")
    except RuntimeError as error:
        pytest.fail(f"the tests create a vhost per test on the local RabbitMQ: {error}")
    delete_orphans(admin)
    yield admin
    admin.wait()


def throwaway_vhost(admin: BrokerAdmin):
    """A new, empty vhost for the broker user, deleted afterwards (the pool's idle one goes first)."""
    for pool in pools:
        pool.release_idle()
    vhost = vhost_name()
    admin.add_vhost(vhost, BROKER.split(":")[0])
    yield f"amqp://{BROKER}/{vhost}"
    admin.delete_vhost(vhost)


@pytest.fixture(scope="session")
def vhosts(broker_admin):
    reuse = not os.environ.get("SIAGA_TEST_FRESH_VHOSTS")
    pool = VhostPool(broker_admin, BROKER, topology.declare_topology, reuse=reuse)
    pools.append(pool)
    yield pool
    pool.close()


def lent_vhost(pool: VhostPool):
    uri = pool.take()
    yield uri
    pool.give_back(uri)


@pytest.fixture
def amqp_uri(vhosts) -> str:
    """A vhost of this test's own, holding the whole topology and nothing else: no message, no
    consumer, nothing an earlier test left (tests/vhost_pool.py). A module whose tests share one
    running Siaga overrides it (and `db_names`) at module scope."""
    yield from lent_vhost(vhosts)


@pytest.fixture(scope="session")
def mongo_uri() -> str:
    """MONGO_URI if given (a real MongoDB), else the embedded server as its own process."""
    if os.environ.get("MONGO_URI"):
        yield os.environ["MONGO_URI"]
        return
    with EmbeddedMongo(":memory:") as server:
        yield server.uri


@pytest.fixture
def mongo_client(mongo_uri):
    client = connect(mongo_uri)
    yield client
    client.close()


def database_names() -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {service: f"t{run}_{service}" for service in ("reports", "dispatch", "notify", "console", "community")}


def database_environment(db_names: dict[str, str]) -> dict[str, str]:
    """Each service's database, as a service process reads it from its environment."""
    return {f"{service.upper()}_MONGO_DATABASE": name for service, name in db_names.items()}


@pytest.fixture
def db_names() -> dict[str, str]:
    """Per-test database names so tests never see each other's data."""
    return database_names()


@pytest.fixture
def config_for(amqp_uri, mongo_uri, db_names) -> Callable[[str], dict[str, Any]]:
    """A service's config for this test; its HTTP server (if any) on a free port, so tests run side by side."""
    def config(service: str, **overrides: Any) -> dict[str, Any]:
        return {"AMQP_URI": amqp_uri, "MONGO_URI": mongo_uri, "MONGO_DATABASE": db_names[service],
                "WEB_SERVER_ADDRESS": f"127.0.0.1:{find_free_port()}", "max_workers": 4} | overrides
    return config


@pytest.fixture
def declared(amqp_uri) -> list[str]:
    """The whole topology, declared up front as the system does before anything runs."""
    return topology.declare_topology(amqp_uri)


class EventTap:
    """A private queue bound to exchanges, read like a console or a gateway would read them."""

    def __init__(self, amqp_uri: str, bindings: list[tuple[str, str]]):
        self.connection = Connection(amqp_uri)
        name = f"tap-{uuid.uuid4().hex[:8]}"
        self.queue = Queue(name, bindings=[], exclusive=True, auto_delete=True)
        channel = self.connection.default_channel
        self.queue(channel).declare()
        for exchange, key in bindings:
            Exchange(exchange, type="topic", durable=True)(channel).declare()
            channel.queue_bind(name, exchange, key)
        self.simple = self.connection.SimpleQueue(Queue(name, no_declare=True))
        self.seen: list[dict] = []

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 20.0) -> dict:
        """Return the first message body (seen before or arriving before the deadline) matching."""
        for body in self.seen:
            if predicate(body):
                return body
        import time
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event within {timeout}s; saw {[b.get('type') for b in self.seen]}")
            try:
                message = self.simple.get(timeout=min(remaining, 1.0))
            except self.simple.Empty:
                continue
            message.ack()
            body = json.loads(message.body) if isinstance(message.body, (bytes, str)) else message.payload
            self.seen.append(body)
            if predicate(body):
                return body

    def drain(self, idle: float = 1.0) -> list[dict]:
        """Everything that arrives until the queue stays quiet for `idle` seconds."""
        while True:
            try:
                message = self.simple.get(timeout=idle)
            except self.simple.Empty:
                return self.seen
            message.ack()
            self.seen.append(json.loads(message.body))

    def close(self) -> None:
        self.simple.close()
        self.connection.release()


@pytest.fixture
def tap(amqp_uri):
    taps = []

    def make(*bindings: tuple[str, str]) -> EventTap:
        taps.append(EventTap(amqp_uri, list(bindings)))
        return taps[-1]

    yield make
    for each in taps:
        each.close()


@pytest.fixture
def publish_raw(amqp_uri):
    """Publish as a non-nameko upstream app: plain kombu, JSON body, publisher confirms, its broker
    user (which RabbitMQ checks) as `user_id`."""
    connection = Connection(amqp_uri, transport_options={"confirm_publish": True})
    producer = connection.Producer()

    def publish(body: Any, *, exchange: str = "intake.events", routing_key: str = "incident_reported",
                content_type: str | None = "application/json") -> None:
        payload = body if isinstance(body, (bytes, str)) else json.dumps(body)
        producer.publish(payload, exchange=exchange, routing_key=routing_key, content_type=content_type,
                         content_encoding="utf-8", delivery_mode=2, mandatory=True, user_id=connection.userid)

    yield publish
    connection.release()
