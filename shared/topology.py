"""Every exchange and queue Siaga uses, declared up front and idempotently.

Declaring before anything consumes or publishes is what keeps an event published before its
consumer's first start: the durable queue already exists and holds it. Handler queues are
derived from the service classes themselves, so a queue name can never drift from its handler.
"""
from __future__ import annotations

import inspect
import logging
from typing import Iterable, Iterator

from kombu import Connection, Exchange, Queue

from shared.contract import EVENT_TYPES, EXTERNAL_CONSUMERS, EventType

log = logging.getLogger(__name__)

DEAD_LETTER_EXCHANGE = "siaga.dead-letter"
DEAD_LETTER_QUEUE = "siaga.dead-letter"
# Attempts for a message whose handler keeps failing before it is dead-lettered with its reason.
MAX_ATTEMPTS = 5
# The broker's own limit is a backstop above ours, for workers that die mid-message.
BROKER_DELIVERY_LIMIT = MAX_ATTEMPTS + 2

SERVICE_MODULES = (
    "services.reports.service", "services.dispatch.service", "services.notify.service", "services.console.service",
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


def handler_queue(event_type: EventType, service_name: str, method_name: str) -> Queue:
    return reliable_queue(
        handler_queue_name(event_type, service_name, method_name),
        event_exchange(event_type.exchange),
        event_type.name,
    )


def dead_letter_watch_queue(watched_queue: str, service_name: str, method_name: str) -> Queue:
    return reliable_queue(
        f"dlx-{watched_queue}--{service_name}.{method_name}", dead_letter_exchange(), watched_queue
    )


def external_queue(consumer: str, event_type: EventType) -> Queue:
    return reliable_queue(
        f"evt-{event_type.publisher}-{event_type.name}--{consumer}",
        event_exchange(event_type.exchange),
        event_type.name,
    )


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
    for consumer, event_types in EXTERNAL_CONSUMERS.items():
        queues.extend(external_queue(consumer, event_type) for event_type in event_types)
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


def broker_permissions(service_cls: type) -> dict[str, str]:
    """RabbitMQ configure/write/read regexes for one service: only what it publishes and consumes.

    Its own queues (declare, bind, consume), its own `<service>.events` exchange (declare, publish),
    the exchanges its queues bind to (read), the dead-letter exchange (publish), and nameko's RPC
    exchange and queues when the service serves or calls RPC.
    """
    from nameko.rpc import Rpc, RpcProxy

    own_queues = [queue.name for queue in service_queues(service_cls)]
    bound_exchanges = sorted({queue.exchange.name for queue in service_queues(service_cls)})
    published = f"{service_cls.name}.events"
    configure, write, read = [*own_queues, published], [*own_queues, published, DEAD_LETTER_EXCHANGE], [
        *own_queues, *bound_exchanges]
    entrypoints = [ep for _, method in inspect.getmembers(service_cls, inspect.isfunction)
                   for ep in getattr(method, "nameko_entrypoints", ())]
    if any(isinstance(ep, Rpc) for ep in entrypoints):
        for names in (configure, write, read):
            names += ["nameko-rpc", f"rpc-{service_cls.name}"]
    if any(isinstance(dep, RpcProxy) for dep in vars(service_cls).values()):
        for names in (configure, write, read):
            names += ["nameko-rpc", f"rpc.reply-{service_cls.name}-*"]
    return {kind: _exactly(names) for kind, names in (("configure", configure), ("write", write), ("read", read))}


def _exactly(names: list[str]) -> str:
    import re

    patterns = sorted({re.escape(name).replace(r"\*", ".*") for name in names})
    return "^(" + "|".join(patterns) + ")$"
