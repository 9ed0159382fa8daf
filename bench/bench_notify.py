"""What notify costs: texts (CPU), and its handlers on the real broker and embedded database.

    python -m bench notify             # BENCH_NOTIFY_COUNT=300 by default

- rendering an officer's SMS (one-segment fitting included) and parsing a reply, per call;
- assignment_created → sms_requested: N events preloaded, drained by one NotifyService container;
- sms_refused (temporary) → attempt 2 via the retry timer: the sweep's rate, claims by compare-and-set;
- database round trips per event, counted by a pymongo command monitor;
- the month's spending recount over BENCH_SPENDING_ARCHIVED archived SMS (20,000): reading the whole archive
  as every count did before, against a count that reads only what was archived since the last one.
"""
from __future__ import annotations

import json
import os
import statistics
import time
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone

from kombu import Connection, Exchange, Queue
from pymongo import MongoClient, monitoring

from bench.bench_pipeline import mongo, throwaway_vhost
from services.notify import domain, replies, spending
from services.notify.storage import NotificationStore, rupiah_by_polsek
from shared import topology
from shared.archive import ArchiveSettings, aggregate_both
from shared.contract import EVENT_TYPES
from testkit.events import (
    LONG_DESCRIPTION,
    as_event,
    create_assignment_created,
    create_report_received,
    create_sms_refused,
)

COUNT = int(os.environ.get("BENCH_NOTIFY_COUNT", "300"))
ARCHIVED = int(os.environ.get("BENCH_SPENDING_ARCHIVED", "20000"))
SEED_CHUNK = 1000


class Counting(monitoring.CommandListener):
    def __init__(self):
        self.by_command: Counter = Counter()

    def started(self, event):
        if event.command_name not in ("hello", "ismaster", "isMaster", "ping", "endSessions"):
            self.by_command[event.command_name] += 1

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


def per_call_us(function, repeat: int = 2000) -> tuple[float, float]:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1e6)
    timings.sort()
    return statistics.median(timings), timings[int(0.99 * (len(timings) - 1))]


def bench_texts() -> None:
    everyday = as_event(create_assignment_created(create_report_received()))
    long = as_event(create_assignment_created(create_report_received(data={"description": LONG_DESCRIPTION})))
    for label, function in (
        ("officer SMS, everyday values", lambda: domain.officer_assignment_sms(everyday)),
        ("officer SMS, long text to shorten", lambda: domain.officer_assignment_sms(long)),
        ("parse reply 'TOLAK C0FFEE sedang sakit'", lambda: replies.parse_reply("TOLAK C0FFEE sedang sakit")),
    ):
        median, p99 = per_call_us(function)
        print(f"  {label:<42} median {median:7.1f} µs   p99 {p99:7.1f} µs")


def publish_all(amqp_uri: str, bodies: list[dict]) -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for body in bodies:
            event_type = EVENT_TYPES[body["type"]]
            producer.publish(json.dumps(body, default=str), exchange=Exchange(event_type.exchange, type="topic",
                             durable=True), routing_key=event_type.name, content_type="application/json",
                             delivery_mode=2)


def collect(connection: Connection, queue: Queue, count: int, predicate, timeout: float = 300) -> list[dict]:
    seen: list[dict] = []
    simple = connection.SimpleQueue(queue)
    deadline = time.monotonic() + timeout
    try:
        while len(seen) < count and time.monotonic() < deadline:
            try:
                message = simple.get(timeout=1)
            except simple.Empty:
                continue
            message.ack()
            body = json.loads(message.body)
            if predicate(body):
                seen.append(body)
    finally:
        simple.close()  # its consumer would otherwise keep prefetched messages from the next one
    return seen


def bench_service(amqp_uri: str, mongo_uri: str) -> None:
    from nameko.containers import ServiceContainer

    from services.notify.service import NotifyService

    topology.declare_topology(amqp_uri)
    listener = Counting()
    monitoring.register(listener)
    config = {"AMQP_URI": amqp_uri, "MONGO_URI": mongo_uri, "MONGO_DATABASE": f"bench_notify_{uuid.uuid4().hex[:6]}",
              "max_workers": 10, "SMS": {"ANSWER_TIMEOUT": 600, "BACKOFF_BASE": 0.01, "BACKOFF_MAX": 0.01,
                                         "RETRY_POLL": 0.05}}
    anonymous = {"reporter": None, "anonymous": True}
    created = [create_assignment_created(create_report_received(data=anonymous)) for _ in range(COUNT)]
    with Connection(amqp_uri) as connection:
        tap = Queue(f"bench-notify-{uuid.uuid4().hex[:6]}", exchange=Exchange("notify.events", type="topic",
                    durable=True), routing_key="sms_requested", durable=False, auto_delete=False)
        tap(connection.default_channel).declare()
        publish_all(amqp_uri, created)  # preloaded: the service drains a full queue
        container = ServiceContainer(NotifyService, config)
        container.start()
        listener.by_command.clear()
        try:
            start = time.perf_counter()
            requested = collect(connection, tap, COUNT, lambda b: b["data"]["attempt"] == 1)
            drained = time.perf_counter() - start
            per_created = Counter({k: v / COUNT for k, v in listener.by_command.items()})
            listener.by_command.clear()
            refusals = [create_sms_refused(b["data"]["sms_id"], temporary=True, attempt=1) for b in requested]
            start = time.perf_counter()
            publish_all(amqp_uri, refusals)
            retried = collect(connection, tap, COUNT, lambda b: b["data"]["attempt"] == 2)
            swept = time.perf_counter() - start
            per_refusal = Counter({k: v / COUNT for k, v in listener.by_command.items()})
        finally:
            container.stop()
            tap(connection.default_channel).delete()
    print(f"  assignment_created → sms_requested  {len(requested)}/{COUNT} in {drained:.2f} s = "
          f"{len(requested) / drained:.0f}/s")
    print(f"    round trips per event: {sum(per_created.values()):.2f} "
          f"({', '.join(f'{k} {v:.2f}' for k, v in sorted(per_created.items()))})")
    print(f"  sms_refused → retry timer → attempt 2 {len(retried)}/{COUNT} in {swept:.2f} s = "
          f"{len(retried) / swept:.0f}/s")
    print(f"    round trips per refusal incl. the sweep: {sum(per_refusal.values()):.2f} "
          f"({', '.join(f'{k} {v:.2f}' for k, v in sorted(per_refusal.items()))})")


def timed_ms(function, repeat: int = 5) -> float:
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def bench_spending(mongo_uri: str) -> None:
    """A busy month's end: the month's SMS archived, none live; "each count after it" is a count with nothing
    archived since the one before."""
    with MongoClient(mongo_uri) as client:
        store = NotificationStore(client[f"bench_spending_{uuid.uuid4().hex[:6]}"])
        store.archive = ArchiveSettings(after=timedelta(seconds=30))
        store.ensure_indexes()
        now = datetime.now(timezone.utc)
        month = min(spending.periods(polsek, now)[1] for polsek in spending.ZONE_SAMPLES)
        spread = (now - month) / ARCHIVED
        for start in range(0, ARCHIVED, SEED_CHUNK):
            store.db.notifications_archive.insert_many([
                {"_id": f"sms-{i}", "state": "delivered", "polsek": f"31.71.{i % 40:02}", "price": 350.0,
                 "gateway_id": f"GW-{i}", "created_at": month + i * spread, "settled_at": month + i * spread}
                for i in range(start, min(start + SEED_CHUNK, ARCHIVED))])
        whole = rupiah_by_polsek({"created_at": {"$gte": month}})
        before = timed_ms(lambda: aggregate_both(store.db.notifications, whole))
        first = timed_ms(lambda: (setattr(store, "archived_spending", None), store.recount(now)), repeat=3)
        after = timed_ms(lambda: store.recount(now))
        floor = timed_ms(lambda: store.db.notifications.find_one({"_id": "sms-0"}))
    print(f"  spending recount over {ARCHIVED:,} archived SMS: the whole archive (before) {before:.0f} ms; "
          f"the first count {first:.0f} ms, each count after it {after:.1f} ms "
          f"(floor: one find by _id {floor:.1f} ms)")


def main() -> None:
    print("texts (CPU, one process):")
    bench_texts()
    with throwaway_vhost() as amqp_uri, mongo() as mongo_uri:
        print(f"notify service ({COUNT} events; RabbitMQ vhost, "
              f"{'MONGO_URI' if os.environ.get('MONGO_URI') else 'embedded SecantusDB'}):")
        bench_service(amqp_uri, mongo_uri)
        bench_spending(mongo_uri)


if __name__ == "__main__":
    main()
