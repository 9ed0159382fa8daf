"""How long a report takes to reach open live boards: published report_received → the browser's event stream.

    python -m bench console
    BENCH_CONSOLE_RATE=20 BENCH_CONSOLE_SECONDS=5 BENCH_CONSOLE_STREAMS=1,25 python -m bench console

The console service runs in this process (a nameko container) on the real broker and the embedded database;
reports are published as the reports service would (plain kombu, JSON on reports.events) at a fixed rate,
while N server-sent-event streams of one operator read the board. Prints latency percentiles per N. The
board's feed polls the database every FEED_POLL_SECONDS (0.5 s), once per process however many streams.
"""
from __future__ import annotations

import json
import logging
import os
import statistics
import time
import uuid

import eventlet
import requests
from kombu import Connection
from nameko.containers import ServiceContainer
from nameko.testing.utils import find_free_port

from bench.bench_pipeline import mongo, throwaway_vhost
from services.console.operators import add_operator
from services.console.service import ConsoleService
from services.console.storage import ConsoleStore
from shared import topology
from shared.mongo import connect

RATE = float(os.environ.get("BENCH_CONSOLE_RATE", "20"))
SECONDS = float(os.environ.get("BENCH_CONSOLE_SECONDS", "5"))
STREAMS = [int(n) for n in os.environ.get("BENCH_CONSOLE_STREAMS", "1,25").split(",")]
PASSWORD = "bench-" + uuid.uuid4().hex[:10]


def report_received(number: str) -> dict:
    report_id = f"rep-{uuid.uuid4().hex[:12]}"
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/siaga/reports", "type": "report_received",
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "correlationid": report_id,
            "data": {"report_id": report_id, "number": number, "source_kind": "citizen_app",
                     "category": "traffic_accident", "priority": "P1", "skills": [], "description": "bench",
                     "place": {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001",
                               "village_name": "Menteng", "rw": 5, "address": None},
                     "anonymous": True, "reporter": None,
                     "received_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}}


def watch(url: str, seen: dict[str, float], ready: eventlet.event.Event) -> None:
    """One browser tab: log in, read the stream, note when each report number first arrives."""
    session = requests.Session()
    session.post(f"{url}/api/login", json={"username": "bench", "password": PASSWORD}, timeout=10).raise_for_status()
    response = session.get(f"{url}/api/board/stream", stream=True, timeout=60)
    kind = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            kind = line[7:]
            if kind == "snapshot" and not ready.ready():
                ready.send()
        elif line.startswith("data: ") and kind == "changes":
            now = time.monotonic()
            for card in json.loads(line[6:])["cards"]:
                seen.setdefault(card["number"], now)


def run(amqp_uri: str, mongo_uri: str, streams: int) -> list[float]:
    database = f"bench_console_{uuid.uuid4().hex[:6]}"
    client = connect(mongo_uri)
    store = ConsoleStore(client[database])
    store.ensure_indexes()
    add_operator(store, "bench", ["31.71.06"], password=PASSWORD)
    address = f"127.0.0.1:{find_free_port()}"
    container = ServiceContainer(ConsoleService, {"AMQP_URI": amqp_uri, "MONGO_URI": mongo_uri,
                                                  "MONGO_DATABASE": database, "WEB_SERVER_ADDRESS": address,
                                                  "max_workers": 10})
    container.start()
    url = f"http://{address}"
    watchers, seen_by = [], []
    try:
        for _ in range(streams):
            seen, ready = {}, eventlet.event.Event()
            watchers.append(eventlet.spawn(watch, url, seen, ready))
            seen_by.append(seen)
            ready.wait()
        published: dict[str, float] = {}
        with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
            producer = connection.Producer()
            start = time.monotonic()
            for i in range(int(RATE * SECONDS)):
                eventlet.sleep(max(0.0, start + i / RATE - time.monotonic()))
                number = f"B{i:05d}"
                body = report_received(number)
                published[number] = time.monotonic()
                producer.publish(json.dumps(body), exchange="reports.events", routing_key="report_received",
                                 content_type="application/json", delivery_mode=2, mandatory=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(len(seen) < len(published) for seen in seen_by):
            eventlet.sleep(0.1)
        return [seen[n] - published[n] for seen in seen_by for n in published if n in seen]
    finally:
        for watcher in watchers:
            watcher.kill()
        # The server's side of a stream ends at its next write to the closed socket (a keep-alive
        # within 15 s); stopping now kills the ones still waiting, which nameko logs once per stream.
        logging.getLogger("nameko.containers").setLevel(logging.ERROR)
        container.stop()
        client.close()


def main() -> None:
    with throwaway_vhost() as amqp_uri, mongo() as mongo_uri:
        topology.declare_topology(amqp_uri, [*topology.siaga_service_classes(), ConsoleService])
        print(f"{RATE:.0f} reports/s for {SECONDS:.0f} s; latency = published → arrived on an open board stream")
        for streams in STREAMS:
            latencies = sorted(run(amqp_uri, mongo_uri, streams))
            expected = int(RATE * SECONDS) * streams
            q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else latencies * 99
            print(f"  {streams:>3} stream(s): {len(latencies)}/{expected} arrived; p50 {q[49]:.2f} s, "
                  f"p95 {q[94]:.2f} s, max {latencies[-1]:.2f} s")
