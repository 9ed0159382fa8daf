"""Fuzz every consumer: generated bodies (from the contract's schemas and far outside them) to each queue.

    python -m bench.fuzz                  # 100k bodies (FUZZ_COUNT), all three services as processes

Prints, per consumer, what was sent and how it was answered; fails on a crashed service or an
unanswered intake message. Intake messages must each be answered by a report_* event, a held
report or a dead letter; other consumers' garbage must each reach the dead letter.
"""
from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from kombu import Connection, Exchange, Queue

from bench.bench_pipeline import throwaway_vhost
from shared import topology
from shared.contract import EVENT_TYPES
from siaga.system import System
from tests.fuzzing import answered_id, generate


def dead_letters_by_queue(amqp_uri: str) -> Counter:
    counts: Counter = Counter()
    with Connection(amqp_uri) as connection:
        queue = Queue(topology.DEAD_LETTER_QUEUE, no_declare=True)(connection.default_channel)
        while (message := queue.get(no_ack=True)) is not None:
            counts[message.headers.get("x-siaga-queue", "broker")] += 1
    return counts


def main() -> int:
    count = int(os.environ.get("FUZZ_COUNT", "100000"))
    print(f"generating {count} fuzzed bodies…", flush=True)
    started = time.monotonic()
    messages = generate(count)
    print(f"  {len(messages)} in {time.monotonic() - started:.0f} s; "
          f"{sum(m.identifiable for m in messages)} identifiable", flush=True)
    with throwaway_vhost() as amqp_uri:
        system = System(amqp_uri=amqp_uri, storage_path=":memory:", log_dir=Path("var/fuzz"),
                        extra_env={"LOG_LEVEL": "ERROR"}).start()
        try:
            consumed = sorted({q.routing_key for cls in topology.siaga_service_classes()
                               for q in topology.service_queues(cls)
                               if q.exchange.name != topology.DEAD_LETTER_EXCHANGE})
            answers: Counter = Counter()
            with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
                tap = Queue("fuzz-answers", Exchange("reports.events", no_declare=True), routing_key="#",
                            exclusive=True, auto_delete=True)(connection.channel())
                tap.declare()
                producer = connection.Producer()
                for i, message in enumerate(messages):
                    event_type = (EVENT_TYPES[consumed[(i // 2) % len(consumed)]] if i % 2
                                  else EVENT_TYPES["incident_reported"])
                    producer.publish(message.body, exchange=Exchange(event_type.exchange, no_declare=True),
                                     routing_key=event_type.name, content_type=message.content_type,
                                     content_encoding="utf-8", delivery_mode=2, mandatory=True)
                    answers[event_type.name] += 1
                print(f"published: {dict(answers)}", flush=True)
                seen: set = set()
                deadline = time.monotonic() + max(120, count / 50)
                intake = {m.id for i, m in enumerate(messages) if not i % 2 and m.identifiable}
                while not intake <= seen and time.monotonic() < deadline:
                    message = tap.get(no_ack=True)
                    if message is None:
                        time.sleep(0.2)
                    elif message.headers.get("nameko.call_id_stack"):  # published by a service, not by us
                        seen.add(answered_id(json.loads(message.body)))
            alive = {name: process.poll() is None for name, process in system.processes.items()}
            unanswered = len(intake - seen)
            # Every fuzzed body sent to a non-intake consumer is invalid there (wrong type or garbage):
            # each queue bound to its routing key must dead-letter its copy, exactly once.
            queues_by_key = Counter(q.routing_key for cls in topology.siaga_service_classes()
                                    for q in topology.service_queues(cls))
            expected = sum(n * queues_by_key[key] for key, n in answers.items() if key != "incident_reported")
            letters = dead_letters_by_queue(amqp_uri)
            other = sum(n for queue, n in letters.items() if "incident_reported" not in queue)
            print(f"services alive: {alive}")
            print(f"identifiable intake messages unanswered by a report_* event: {unanswered} "
                  f"(a held low-confidence CCTV report is stored without an event)")
            print(f"dead letters from the other consumers: {other} (expected {expected}); "
                  f"from the intake: {sum(letters.values()) - other}")
            return 0 if all(alive.values()) and other == expected else 1
        finally:
            system.stop()


if __name__ == "__main__":
    sys.exit(main())
