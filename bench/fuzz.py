"""Fuzz every consumer: generated bodies (from the contract's schemas and far outside them) to each queue.

    python -m bench.fuzz                  # 100k bodies (FUZZ_COUNT), all services as processes

Prints, per consumer, what was sent and how it was answered; fails on a crashed service, a handler
that raised (dead-lettered after its retries instead of rejecting the body), or an unanswered
message. Intake messages must each be answered by a report_* event, a held report or a dead letter;
other consumers' garbage must each reach the dead letter.

Bodies are drawn, published and answered as a stream: publishing waits for the broker's confirms a
window at a time (not one round trip per message), and the answers and dead letters are counted as
they come, so neither this process nor the broker ever holds 100k bodies (a seventh are 300 kB).
"""
from __future__ import annotations

import json
import os
import socket
import sys
import time
from collections import Counter
from pathlib import Path

import amqp
from kombu import Connection, Consumer, Exchange, Queue

from bench.bench_pipeline import throwaway_vhost
from shared import topology
from shared.contract import EVENT_TYPES
from siaga.system import System
from testkit.fuzzing import Fuzzed, answered_id, stream

CONFIRM_WINDOW = 500


class WindowedPublisher:
    """Persistent, mandatory publishes whose confirms are awaited every `window` messages.

    A nack or a returned (unroutable) message raises: the count of what was sent must be true.
    """

    def __init__(self, channel: amqp.Channel, window: int = CONFIRM_WINDOW):
        self.channel, self.window, self.pending = channel, window, set()
        self.tag = 0
        channel.confirm_select()
        channel.events["basic_ack"].add(self._acked)
        channel.events["basic_nack"].add(self._nacked)
        channel.events["basic_return"].add(self._returned)

    def publish(self, body: bytes, content_type: str | None, exchange: str, routing_key: str) -> None:
        properties = {"delivery_mode": 2, "content_encoding": "utf-8"}
        if content_type is not None:
            properties["content_type"] = content_type
        self.channel.basic_publish(amqp.Message(body, **properties), exchange=exchange, routing_key=routing_key,
                                   mandatory=True)
        self.tag += 1
        self.pending.add(self.tag)
        if len(self.pending) >= self.window:
            self.wait()

    def wait(self) -> None:
        while self.pending:
            self.channel.connection.drain_events(timeout=60)

    def _acked(self, tag: int, multiple: bool) -> None:
        self.pending = {t for t in self.pending if t > tag} if multiple else self.pending - {tag}

    def _nacked(self, tag: int, multiple: bool) -> None:
        raise RuntimeError(f"the broker nacked publish {tag}")

    def _returned(self, reply_code, reply_text, exchange, routing_key, message) -> None:
        raise RuntimeError(f"unroutable: {exchange}/{routing_key}: {reply_text}")


class Answers:
    """Counts, as they arrive, the services' report_* events and the dead letters by queue and reason."""

    def __init__(self):
        self.seen: set = set()
        self.letters: Counter = Counter()
        self.reasons: Counter = Counter()
        self.handler_failures: list[str] = []

    def on_event(self, message) -> None:
        if message.headers.get("nameko.call_id_stack"):  # published by a service, not by us
            self.seen.add(answered_id(json.loads(message.body)))

    def on_dead_letter(self, message) -> None:
        headers = message.headers or {}
        self.letters[headers.get("x-siaga-queue", "broker")] += 1
        reason = headers.get("x-siaga-reason", "")
        try:
            kinds = sorted(json.loads(reason)) if reason else ["broker"]
        except ValueError:
            kinds = ["unparsable reason"]
        self.reasons[",".join(kinds)[:60]] += 1
        if "handler" in kinds and len(self.handler_failures) < 10:
            self.handler_failures.append(f"{headers.get('x-siaga-queue')}: {reason[:400]}")


def drain(connection: Connection, seconds: float, idle: float = 0.01) -> None:
    """Take the answers waiting (until none comes for `idle` seconds), for at most `seconds`."""
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        try:
            connection.drain_events(timeout=idle)
        except socket.timeout:
            return


def consumed_keys() -> list[str]:
    return sorted({q.routing_key for cls in topology.siaga_service_classes() for q in topology.service_queues(cls)
                   if q.exchange.name != topology.DEAD_LETTER_EXCHANGE})


def expected_letters(sent: Counter) -> int:
    """Every fuzzed body sent to a non-intake consumer is invalid there (wrong type or garbage):
    each queue bound to its routing key must dead-letter its copy, exactly once."""
    queues_by_key = Counter(q.routing_key for cls in topology.siaga_service_classes()
                            for q in topology.service_queues(cls))
    return sum(n * queues_by_key[key] for key, n in sent.items() if key != "incident_reported")


def run(amqp_uri: str, count: int) -> int:
    consumed, sent, answers, intake = consumed_keys(), Counter(), Answers(), set()
    with Connection(amqp_uri) as listening, Connection(amqp_uri) as publishing:
        channel = listening.channel()
        tap = Queue("fuzz-answers", Exchange("reports.events", no_declare=True), routing_key="#",
                    exclusive=True, auto_delete=True)
        consumers = [Consumer(channel, [tap], on_message=answers.on_event, no_ack=True),
                     Consumer(channel, [Queue(topology.DEAD_LETTER_QUEUE, no_declare=True)],
                              on_message=answers.on_dead_letter, no_ack=True)]
        for consumer in consumers:
            consumer.consume()
        publisher = WindowedPublisher(publishing.default_channel)
        started = time.monotonic()

        def send(message: Fuzzed) -> None:
            i = sum(sent.values())
            event_type = (EVENT_TYPES[consumed[(i // 2) % len(consumed)]] if i % 2
                          else EVENT_TYPES["incident_reported"])
            if not i % 2 and message.identifiable:
                intake.add(message.id)
            publisher.publish(message.body, message.content_type, event_type.exchange, event_type.name)
            sent[event_type.name] += 1
            if i % CONFIRM_WINDOW == 0:
                drain(listening, 2.0)
            if i and i % 10_000 == 0:
                print(f"  {i:>7,} sent in {time.monotonic() - started:5.0f} s; "
                      f"{len(answers.seen):,} intake answers, {sum(answers.letters.values()):,} dead letters",
                      flush=True)

        stream(count, send)
        publisher.wait()
        published_in = time.monotonic() - started
        print(f"published {sum(sent.values()):,} (drawn and confirmed) in {published_in:.0f} s: {dict(sent)}",
              flush=True)
        expected = expected_letters(sent)
        deadline = time.monotonic() + max(120, count / 50)
        while time.monotonic() < deadline and not (
                intake <= answers.seen and other_letters(answers) >= expected):
            drain(listening, 1.0, idle=1.0)
        drain(listening, 5.0, idle=5.0)  # late extras (a second dead letter for one body) would show
        print(f"answered in {time.monotonic() - started:.0f} s from the first publish", flush=True)
    return report(answers, intake, expected)


def other_letters(answers: Answers) -> int:
    return sum(n for queue, n in answers.letters.items() if "incident_reported" not in queue)


def report(answers: Answers, intake: set, expected: int) -> int:
    unanswered = len(intake - answers.seen)
    other = other_letters(answers)
    print(f"identifiable intake messages unanswered by a report_* event: {unanswered} "
          f"(a held low-confidence CCTV report is stored without an event)")
    print(f"dead letters from the other consumers: {other} (expected {expected}); "
          f"from the intake: {sum(answers.letters.values()) - other}")
    print(f"dead letters by reason: {dict(answers.reasons.most_common())}")
    for failure in answers.handler_failures:
        print(f"  handler failure: {failure}")
    return 0 if other == expected and not answers.handler_failures else 1


def main() -> int:
    count = int(os.environ.get("FUZZ_COUNT", "100000"))
    print(f"fuzzing every consumer with {count:,} bodies…", flush=True)
    with throwaway_vhost() as amqp_uri:
        system = System(amqp_uri=amqp_uri, storage_path=":memory:", log_dir=Path("var/fuzz"),
                        extra_env={"LOG_LEVEL": "ERROR"}).start()
        try:
            verdict = run(amqp_uri, count)
            alive = {name: process.poll() is None for name, process in system.processes.items()}
            print(f"services alive: {alive}")
            return verdict if all(alive.values()) else 1
        finally:
            system.stop()


if __name__ == "__main__":
    sys.exit(main())
