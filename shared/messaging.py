"""nameko entrypoints and a dependency that never lose a message.

Stock nameko acks and drops a message whose handler raises, and logs-and-acks one it cannot
decode. Here every message ends in exactly one of three places: handled (ack), retried a
bounded number of times (requeue with backoff, counted by the quorum queue), or the dead-letter
exchange with a reason a person can read. A handler that failed because the database or the
broker did not answer spends none of that: its message is held until they answer (shared/outage.py).
"""
from __future__ import annotations

import json
import logging
import time
import traceback
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable

import eventlet
from kombu import Connection
from nameko.amqp.publish import Publisher as AmqpPublisher
from nameko.constants import AMQP_URI_CONFIG_KEY
from nameko.containers import ContainerBeingKilled
from nameko.events import EventDispatcher
from nameko.messaging import Consumer, Publisher, QueueConsumer

from shared import metrics, topology
from shared.contract import UNKNOWN_PARTY, EventType, dump_event, load_event
from shared.envelope import Event, InvalidMessage, decode_body, parse_json
from shared.logs import FIELDS
from shared.outage import OutageGate, is_outage
from shared.trust import SENDER_HEADER, Senders, broker_user, party_named

log = logging.getLogger(__name__)
# One line per message taken, whatever became of it: what an engineer follows a report by (shared/logs.py).
message_log = logging.getLogger("siaga.messages")

REASON_HEADER = "x-siaga-reason"
# A reason quotes field names from the body; a body of many bad fields must still fit in one AMQP header.
MAX_REASON_CHARS = 4000


class PromptQueueConsumer(QueueConsumer):
    """nameko's consumer of a container's queues, stopped within a tenth of a second.

    kombu's consuming loop waits on the socket a second at a time (its default) and sees a stop only
    between waits, so every container's stop took up to a second per consumer: each restart of a service,
    and each test's teardown (about a second a test, a fifth of the suite's time). A wake-up every tenth of
    a second costs nothing measurable."""

    STOP_POLL_SECONDS = 0.1

    def consume(self, *args, **kwargs):
        return super().consume(*args, **{"safety_interval": self.STOP_POLL_SECONDS, **kwargs})


class RawQueueConsumer(PromptQueueConsumer):
    """Hands entrypoints the undecoded message, so decoding failures are theirs to dead-letter."""

    def get_consumers(self, consumer_cls, channel):
        for provider in self._providers:
            consumer = consumer_cls(
                queues=[provider.queue],
                on_message=partial(self.handle_message, provider, None),
            )
            consumer.qos(prefetch_count=self.prefetch_count)
            self._consumers[provider] = consumer
        return self._consumers.values()

    def ack_message(self, message):
        """nameko ignores only AMQP's ConnectionError here; a socket reset by a broker going down
        (ConnectionResetError, BrokenPipeError) escaped the worker, killed the container and made
        `nameko run` exit. Unacknowledged, the message is redelivered, and every handler is idempotent."""
        try:
            super().ack_message(message)
        except OSError as exc:
            log.warning("could not acknowledge a message, the broker will redeliver it: %r", exc)

    def requeue_message(self, message):
        try:
            super().requeue_message(message)
        except OSError as exc:
            log.warning("could not requeue a message, the broker will redeliver it: %r", exc)


class ReliableConsumer(Consumer):
    """Base entrypoint: decode → worker → ack, bounded retry, or dead letter with the reason."""

    queue_consumer = RawQueueConsumer()
    gate = OutageGate()
    metrics_server = metrics.MetricsServer()

    def __init__(self, **kwargs):
        super().__init__(queue=None, requeue_on_error=False, **kwargs)

    def queue_for(self, service_name: str, method_name: str):
        raise NotImplementedError

    def decode(self, message) -> tuple:
        raise NotImplementedError

    @property
    def event_name(self) -> str:
        return self.event_type.name

    def setup(self):
        self.queue = self.queue_for(self.container.service_name, self.method_name)
        amqp_uri = self.container.config[AMQP_URI_CONFIG_KEY]
        self.senders = Senders(amqp_uri, self.container.service_name)
        self.dead_letters = AmqpPublisher(amqp_uri, use_confirms=True, mandatory=True, user_id=broker_user(amqp_uri))
        self.gate.add_probe("broker", partial(broker_answers, amqp_uri))
        super().setup()

    def handle_message(self, body, message):
        try:
            args = self.decode(message)
        except InvalidMessage as exc:
            self.dead_letter(message, exc.reasons, "invalid_message")
            return
        except Exception as exc:  # a body no rule foresaw still must not take the worker down with it
            log.exception("%s could not decode a message", self)
            self.dead_letter(message, {"body": f"could not be decoded ({type(exc).__name__})"}, "undecodable")
            return
        if self.gate.is_open:
            self.run(message, args)
        else:
            self.taken(message, args, metrics.HELD)
            self.container.spawn_managed_thread(partial(self.run_when_answered, message, args))

    def run(self, message, args: tuple, holds: int = 0) -> None:
        try:
            self.container.spawn_worker(
                self, args, {},
                context_data=self.unpack_message_headers(message),
                handle_result=partial(self.handle_result, message, args, holds, time.perf_counter()),
            )
        except ContainerBeingKilled:
            self.queue_consumer.requeue_message(message)

    def run_when_answered(self, message, args: tuple, holds: int = 0) -> None:
        """Unacked while it waits: the broker neither counts a delivery nor sends more past the prefetch."""
        self.gate.wait()
        self.run(message, args, holds)

    def handle_result(self, message, args, holds, started, worker_ctx, result=None, exc_info=None):
        seconds = time.perf_counter() - started
        if exc_info is None:
            self.queue_consumer.ack_message(message)
            self.taken(message, args, metrics.HANDLED, seconds)
            return result, exc_info
        if is_outage(exc_info[1]):
            if holds < self.gate.settings.max_holds:
                self.gate.close(exc_info[1])
                self.taken(message, args, metrics.HELD, seconds)
                self.container.spawn_managed_thread(partial(self.run_when_answered, message, args, holds + 1))
                return result, exc_info
            log.error("%s met an outage %d times while its dependencies answered in between: counted as the "
                      "message's own failure", self, holds + 1)
        attempt = int(message.headers.get("x-delivery-count") or 0) + 1
        if attempt >= topology.MAX_ATTEMPTS:
            reason = "".join(traceback.format_exception_only(exc_info[0], exc_info[1])).strip()
            self.dead_letter(message, {"handler": f"failed {attempt} times: {reason}"}, "handler_failed", args,
                             seconds)
        else:
            log.warning("%s failed (attempt %d), retrying: %s", self, attempt, exc_info[1])
            self.taken(message, args, metrics.RETRIED, seconds)
            eventlet.sleep(retry_backoff(attempt))
            self.queue_consumer.requeue_message(message)
        return result, exc_info

    def taken(self, message, args: tuple | None, outcome: str, seconds: float | None = None) -> None:
        """Counted and logged, one line per outcome: identifiers only, never what the message says."""
        service, event = self.container.service_name, self.event_name
        metrics.observe_message(service, self.queue.name, event, outcome, seconds)
        subject = args[0] if args else None
        if outcome == metrics.HANDLED and isinstance(subject, Event):
            metrics.observe_handled(service, event, subject.data)
        fields = {"event": event, "outcome": outcome, "queue": self.queue.name,
                  "ms": None if seconds is None else round(seconds * 1000, 1)} | identifiers(subject, message)
        message_log.info("%s %s %s%s", event, outcome, fields["correlationid"] or "-",
                         "" if seconds is None else f" in {fields['ms']} ms", extra={FIELDS: fields})

    def dead_letter(self, message, reasons: dict[str, Any], why: str, args: tuple | None = None,
                    seconds: float | None = None) -> None:
        """Republish the untouched body with the reason, then ack: the dead letter keeps it."""
        delivery = message.delivery_info
        headers = dict(message.headers or {})
        headers.update({
            REASON_HEADER: reason_header(reasons),
            SENDER_HEADER: self.sender_of(message),
            "x-siaga-queue": self.queue.name,
            "x-siaga-exchange": delivery.get("exchange", ""),
            "x-siaga-routing-key": delivery.get("routing_key", ""),
            "x-siaga-dead-lettered-at": datetime.now(timezone.utc).isoformat(),
        })
        log.error("dead-lettering a message from %s: %s", self.queue.name, headers[REASON_HEADER])
        try:
            self.dead_letters.publish(
                message.body,
                exchange=topology.dead_letter_exchange(),
                routing_key=self.queue.name,
                headers=headers,
                content_type=message.content_type or "application/octet-stream",
                content_encoding=message.content_encoding or "binary",
            )
        except Exception:
            # The broker's own dead-lettering still keeps the message (reason: rejected).
            log.exception("could not publish a dead letter; rejecting to the broker's DLX")
            message.reject(requeue=False)
        else:
            self.queue_consumer.ack_message(message)
        metrics.observe_dead_letter(self.container.service_name, self.queue.name, self.event_name, why)
        self.taken(message, args, metrics.DEAD_LETTERED, seconds)

    def sender_of(self, message) -> str:
        """Who sent a message that could not be taken, so that its answer reaches that party alone."""
        source = (_best_effort_json(message.body) or {}).get("source")
        try:
            return self.senders.party(message.properties.get("user_id"), source)
        except InvalidMessage:
            return UNKNOWN_PARTY


def reason_header(reasons: dict[str, Any]) -> str:
    """The reasons as JSON, each cut short when together they would not fit MAX_REASON_CHARS."""
    text = json.dumps(reasons, ensure_ascii=False, default=str)
    if len(text) <= MAX_REASON_CHARS:
        return text
    share = MAX_REASON_CHARS // max(len(reasons), 1)
    return json.dumps({key: _cut(value, share) for key, value in reasons.items()}, ensure_ascii=False)


def _cut(value: Any, length: int) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= length else f"{text[:length]}… ({len(text)} characters, cut)"


def identifiers(subject: Any, message) -> dict[str, str | None]:
    """What a log line may say about a message: its ids, from the event, else from whatever its body holds."""
    if isinstance(subject, Event):
        return {"correlationid": subject.correlationid, "id": subject.id, "source": subject.source}
    document = (subject.document if isinstance(subject, DeadLetter) else _best_effort_json(message.body)) or {}
    return {key: value if isinstance(value, str) else None
            for key, value in ((k, document.get(k)) for k in ("correlationid", "id", "source"))}


def broker_answers(amqp_uri: str) -> None:
    with Connection(amqp_uri, connect_timeout=5) as connection:
        connection.connect()


def retry_backoff(attempt: int) -> float:
    return min(0.05 * 2 ** attempt, 2.0)


class EventHandler(ReliableConsumer):
    """Consumes one event type from the contract; the method receives a validated `Event`. Of an addressed
    event type, `to` names the one party whose events the queue takes (a service's own answers)."""

    def __init__(self, event_type: EventType, to: str | None = None, **kwargs):
        self.event_type, self.to = event_type, to
        super().__init__(**kwargs)

    def queue_for(self, service_name: str, method_name: str):
        return topology.handler_queue(self.event_type, service_name, method_name, self.to)

    def decode(self, message) -> tuple[Event]:
        event = load_event(decode_body(message.body, message.content_type), self.event_type)
        return (self.senders.vouched(event, message.properties.get("user_id")),)


class DeadLetter:
    """A message another handler gave up on, with whatever could be recovered from it."""

    def __init__(self, message):
        headers = message.headers or {}
        self.reasons = _reasons_from(headers)
        self.queue = headers.get("x-siaga-queue", "")
        self.sender = party_named(headers.get(SENDER_HEADER))
        self.document = _best_effort_json(message.body)

    @property
    def source(self) -> str | None:
        value = (self.document or {}).get("source")
        return value if isinstance(value, str) and value else None

    @property
    def id(self) -> str | None:
        value = (self.document or {}).get("id")
        return value if isinstance(value, str) and value else None


class DeadLetterHandler(ReliableConsumer):
    """Consumes the dead letters of one handler queue, e.g. to tell a sender its message failed."""

    def __init__(self, event_type: EventType, handler_method: str, **kwargs):
        self.event_type = event_type
        self.handler_method = handler_method
        super().__init__(**kwargs)

    def queue_for(self, service_name: str, method_name: str):
        watched = topology.handler_queue_name(self.event_type, service_name, self.handler_method)
        return topology.dead_letter_watch_queue(watched, service_name, method_name)

    def decode(self, message) -> tuple[DeadLetter]:
        return (DeadLetter(message),)

    @property
    def event_name(self) -> str:
        """Apart from the handler's own count of the event, which its dead letters are already in."""
        return f"dead_letter.{self.event_type.name}"


def _reasons_from(headers: dict) -> dict[str, Any]:
    """Whatever the headers say, as a dict: a dead letter may come from anyone who can publish."""
    if REASON_HEADER in headers:
        try:
            reasons = json.loads(headers[REASON_HEADER])
        except Exception:
            reasons = None
        return reasons if isinstance(reasons, dict) else {"reason": str(headers[REASON_HEADER])[:MAX_REASON_CHARS]}
    deaths = headers.get("x-death")
    death = deaths[0] if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict) else {}
    return {"broker": f"dead-lettered by the broker: {death.get('reason', 'unknown')}"}


def _best_effort_json(body: bytes | str) -> dict | None:
    """Read by the handlers' rules but for numbers: a body refused for a NaN can still be answered; one
    too large, too deep or ambiguous stays unread."""
    try:
        parsed = parse_json(body, exact_numbers=False)
    except Exception:
        return None
    return parsed if isinstance(parsed, dict) else None


class EventPublisher(EventDispatcher):
    """Publishes contract events on `<service>.events`, confirmed and mandatory.

    Mandatory: the topology is declared up front, so an unroutable event is a bug that must
    fail loudly (and be retried) rather than vanish.
    """

    def __init__(self, **options):
        options.setdefault("use_confirms", True)
        options.setdefault("mandatory", True)
        super().__init__(**options)

    def setup(self):
        """Neither nameko's declare of `<service>.events` at start nor kombu's declare-if-needed on
        every publish: the topology declared the exchange up front. The start-up declare needs the
        broker, so a service started while the broker was away (a restart, a crash loop) exited with
        ECONNREFUSED instead of waiting for it like its consumers do; the per-publish check cost
        about a tenth of a busy service's CPU."""
        self.exchange = topology.event_exchange(f"{self.container.service_name}.events")
        Publisher.setup(self)
        self.publisher.declare = []
        self.user_id = broker_user(self.amqp_uri)

    def get_dependency(self, worker_ctx) -> Callable[..., dict]:
        headers = self.get_message_headers(worker_ctx)
        service_name = self.container.service_name
        source = f"/siaga/{service_name}"

        def publish(event_type: EventType, data: dict, to: str | None = None, **envelope: Any) -> dict:
            """`to`: the party an addressed event answers (see EventType.addressed)."""
            if event_type.publisher != service_name:
                raise ValueError(f"{service_name} may not publish {event_type.name}")
            body = dump_event(event_type, data, source=source, **envelope)
            self.publisher.publish(body, exchange=self.exchange, routing_key=event_type.routing_key(to),
                                   extra_headers=headers, user_id=self.user_id)
            metrics.observe_published(service_name, event_type.name, data)
            return body

        return publish


handles = EventHandler.decorator
handles_dead_letters = DeadLetterHandler.decorator
