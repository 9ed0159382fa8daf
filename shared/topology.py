"""Every exchange and queue Siaga uses, declared up front and idempotently.

Declaring before anything consumes or publishes is what keeps an event published before its
consumer's first start: the durable queue already exists and holds it. Handler queues are
derived from the service classes themselves, so a queue name can never drift from its handler.
"""
from __future__ import annotations

import inspect
import logging
import re
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from kombu import Connection, Exchange, Queue

from shared.contract import EVENT_TYPES, PARTIES, EventType, Party

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "siaga.dead-letter"
DEAD_LETTER_QUEUE = "siaga.dead-letter"
# Attempts for a message whose handler keeps failing before it is dead-lettered with its reason.
MAX_ATTEMPTS = 5
# The broker's own limit is a backstop above ours, for workers that die mid-message.
BROKER_DELIVERY_LIMIT = MAX_ATTEMPTS + 2

SERVICE_MODULES = (
    "services.reports.service", "services.dispatch.service", "services.notify.service", "services.console.service",
    "services.community.service",
)


def event_exchange(name: str, declare: bool = False) -> Exchange:
    """Services only bind to and publish on exchanges that `declare_topology` made: declaring them
    would need the broker's configure permission on other services' exchanges."""
    return Exchange(name, type="topic", durable=True, auto_delete=False, no_declare=not declare)


def dead_letter_exchange(declare: bool = False) -> Exchange:
    return Exchange(DEAD_LETTER_EXCHANGE, type="topic", durable=True, auto_delete=False, no_declare=not declare)


def reliable_queue(name: str, exchange: Exchange, routing_key: str) -> Queue:
    """A durable quorum queue whose poison messages go to the dead letter, never nowhere.

    Dead letters are routed by queue name, so whoever watches one queue's failures can bind
    to exactly that queue's dead letters.
    """
    return Queue(
        name,
        exchange=exchange,
        routing_key=routing_key,
        durable=True,
        auto_delete=False,
        queue_arguments={
            "x-queue-type": "quorum",
            "x-delivery-limit": BROKER_DELIVERY_LIMIT,
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
            "x-dead-letter-routing-key": name,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        },
    )


def handler_queue_name(event_type: EventType, service_name: str, method_name: str) -> str:
    """nameko's own SERVICE_POOL naming, kept so that nameko tooling recognises the queues."""
    return f"evt-{event_type.publisher}-{event_type.name}--{service_name}.{method_name}"


def handler_queue(event_type: EventType, service_name: str, method_name: str, to: str | None = None) -> Queue:
    """`to`: of an addressed event type, only what is addressed to that party (else every party's)."""
    return reliable_queue(
        handler_queue_name(event_type, service_name, method_name),
        event_exchange(event_type.exchange),
        event_type.routing_key(to) if to and event_type.addressed else event_type.binding_key,
    )


def dead_letter_watch_queue(watched_queue: str, service_name: str, method_name: str) -> Queue:
    return reliable_queue(
        f"dlx-{watched_queue}--{service_name}.{method_name}", dead_letter_exchange(), watched_queue
    )


def external_queue(party: str, event_type: EventType) -> Queue:
    """An outside party's own durable queue; of an addressed event type, only what is addressed to it."""
    return reliable_queue(
        f"evt-{event_type.publisher}-{event_type.name}--{party}",
        event_exchange(event_type.exchange),
        event_type.routing_key(party),
    )


def party_queues(party: Party) -> list[Queue]:
    return [external_queue(party.name, event_type) for event_type in party.reads]


def service_queues(service_cls: type) -> Iterator[Queue]:
    """The queues of every Siaga entrypoint on a nameko service class."""
    for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            queue_for = getattr(entrypoint, "queue_for", None)
            if queue_for is not None:
                yield queue_for(service_cls.name, method_name)


def all_queues(service_classes: Iterable[type]) -> list[Queue]:
    queues = [Queue(DEAD_LETTER_QUEUE, exchange=dead_letter_exchange(declare=True), routing_key="#",
                    durable=True, auto_delete=False, queue_arguments={"x-queue-type": "quorum"})]
    for service_cls in service_classes:
        queues.extend(service_queues(service_cls))
    for party in PARTIES.values():
        queues.extend(party_queues(party))
    return queues


def siaga_service_classes() -> list[type]:
    import importlib

    classes = []
    for module_name in SERVICE_MODULES:
        module = importlib.import_module(module_name)
        classes.extend(
            obj for obj in vars(module).values()
            if inspect.isclass(obj) and obj.__module__ == module_name and hasattr(obj, "name")
        )
    return classes


def declare_topology(amqp_uri: str, service_classes: Iterable[type] | None = None) -> list[str]:
    """Declare every exchange and queue; safe to run any number of times. Returns queue names."""
    classes = siaga_service_classes() if service_classes is None else list(service_classes)
    queues = all_queues(classes)
    with Connection(amqp_uri, connect_timeout=10) as connection:
        channel = connection.default_channel
        dead_letter_exchange(declare=True)(channel).declare()
        exchanges = {event_type.exchange for event_type in EVENT_TYPES.values()}
        exchanges |= {queue.exchange.name for queue in queues if queue.exchange.name != DEAD_LETTER_EXCHANGE}
        for name in sorted(exchanges):
            event_exchange(name, declare=True)(channel).declare()
        for queue in queues:
            queue(channel).declare()
    names = [queue.name for queue in queues]
    log.info("declared %d queues on %s", len(names), connection.as_uri())
    return names


# nameko's RPC: requests go to `<service>.<method>`, replies to the caller's reply queue, a uuid4.
RPC_EXCHANGE = "nameko-rpc"
REPLY_KEY = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
PARTY_KEY = "[a-z0-9][a-z0-9-]*"


@dataclass
class Grant:
    """What one broker user may do: RabbitMQ's configure/write/read on names (queues, exchanges), and,
    per topic exchange, the routing keys it may publish with and the keys it may bind with. Without
    the second, a user allowed to read an exchange could bind `#` and read every event on it."""

    configure: set[str] = field(default_factory=set)
    write: set[str] = field(default_factory=set)
    read: set[str] = field(default_factory=set)
    publishes: dict[str, set[str]] = field(default_factory=dict)  # exchange -> routing-key patterns
    binds: dict[str, set[str]] = field(default_factory=dict)  # exchange -> binding-key patterns

    def own_queue(self, queue: Queue) -> None:
        self.configure.add(re.escape(queue.name))
        self.write.add(re.escape(queue.name))
        self.read.add(re.escape(queue.name))
        if queue.exchange.name:
            self.bind(queue.exchange.name, re.escape(queue.routing_key))

    def bind(self, exchange: str, key_pattern: str) -> None:
        self.read.add(re.escape(exchange))
        self.binds.setdefault(exchange, set()).add(key_pattern)

    def publish(self, exchange: str, key_pattern: str) -> None:
        self.write.add(re.escape(exchange))
        self.publishes.setdefault(exchange, set()).add(key_pattern)

    @property
    def permissions(self) -> dict[str, str]:
        return {"configure": exactly(self.configure), "write": exactly(self.write), "read": exactly(self.read)}

    @property
    def topic_permissions(self) -> list[dict[str, str]]:
        """For every exchange it may touch at all (an exchange without a topic permission allows any key)."""
        exchanges = sorted(set(self.publishes) | set(self.binds))
        return [{"exchange": exchange, "write": exactly(self.publishes.get(exchange, set())),
                 "read": exactly(self.binds.get(exchange, set()))} for exchange in exchanges]


def exactly(patterns: set[str]) -> str:
    return "^(" + "|".join(sorted(patterns)) + ")$" if patterns else "^$"


def published_key(event_type: EventType) -> str:
    return f"{re.escape(event_type.name)}\\.{PARTY_KEY}" if event_type.addressed else re.escape(event_type.name)


def service_grant(service_cls: type) -> Grant:
    """Only what the service's handlers consume and its publisher and RPC need.

    Its own queues, bound to what they consume; its own `<service>.events` (the events it publishes);
    the dead-letter exchange under its own queues' names; RPC: serving `<service>.*` and replying to a
    reply key, calling only the methods of the services it has a proxy for (the console)."""
    from nameko.rpc import Rpc, RpcProxy

    grant = Grant()
    for queue in service_queues(service_cls):
        grant.own_queue(queue)
        grant.publish(DEAD_LETTER_EXCHANGE, re.escape(queue.name))
    own_exchange = f"{service_cls.name}.events"
    grant.configure.add(re.escape(own_exchange))
    for event_type in EVENT_TYPES.values():
        if event_type.publisher == service_cls.name:
            grant.publish(own_exchange, published_key(event_type))
    entrypoints = [ep for _, method in inspect.getmembers(service_cls, inspect.isfunction)
                   for ep in getattr(method, "nameko_entrypoints", ())]
    if any(isinstance(ep, Rpc) for ep in entrypoints):
        grant.configure |= {re.escape(RPC_EXCHANGE), re.escape(f"rpc-{service_cls.name}")}
        grant.write.add(re.escape(f"rpc-{service_cls.name}"))
        grant.read.add(re.escape(f"rpc-{service_cls.name}"))
        grant.bind(RPC_EXCHANGE, re.escape(f"{service_cls.name}.*"))
        grant.publish(RPC_EXCHANGE, REPLY_KEY)
    for proxy in [dep for dep in vars(service_cls).values() if isinstance(dep, RpcProxy)]:
        replies = f"rpc.reply-{service_cls.name}-.*"
        grant.configure |= {re.escape(RPC_EXCHANGE), replies}
        grant.write.add(replies)
        grant.read.add(replies)
        grant.bind(RPC_EXCHANGE, REPLY_KEY)
        for method in rpc_methods(proxy.target_service):
            grant.publish(RPC_EXCHANGE, re.escape(f"{proxy.target_service}.{method}"))
    return grant


def rpc_methods(service_name: str) -> list[str]:
    from nameko.rpc import Rpc

    service_cls = next(cls for cls in siaga_service_classes() if cls.name == service_name)
    return [name for name, method in inspect.getmembers(service_cls, inspect.isfunction)
            if any(isinstance(ep, Rpc) for ep in getattr(method, "nameko_entrypoints", ()))]


def party_grant(party: Party) -> Grant:
    """An outside party: its own queues (addressed events: only its own), the facts it states."""
    grant = Grant()
    for queue in party_queues(party):
        grant.own_queue(queue)
    for event_type in party.states:
        grant.publish(event_type.exchange, re.escape(event_type.name))
    return grant
