"""End to end: incidents published as upstream apps would → the officer's `sms_requested`.

Prints, at fixed offered rates, the sustained rate and latency percentiles of the real pipeline
(the four services as processes, the database, the broker) and — in the same run, on the same
broker — of two floors of do-nothing stock nameko services: the issue's (one event along three
hops) and one with our fan-out (the same 7 deliveries and 4 publishes per incident), so each
ratio ours/floor means something on a noisy machine. Then the database round trips per incident
across all services, counted by a pymongo command monitor.

    python -m bench pipeline            # or: make bench
    BENCH_RATES=20,50 BENCH_SECONDS=5 python -m bench pipeline
    BENCH_STORAGE=:memory: python -m bench pipeline   # the embedded server keeps nothing on disk
    BENCH_FLOORS=0 python -m bench pipeline           # Siaga alone, without the do-nothing floors
    BENCH_PRIVATE_BROKER=1 python -m bench pipeline   # on a RabbitMQ node of its own (bench/private_broker.py)
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterator
from urllib.parse import urlsplit

import eventlet
from kombu import Connection, Exchange, Queue
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from shared import topology, wilayah
from shared.config import PROJECT_ROOT, service_config
from shared.embedded_db import MEMORY, EmbeddedMongo
from shared.envelope import derived_id

RATES = [int(r) for r in os.environ.get("BENCH_RATES", "20,50,100").split(",")]
SECONDS = float(os.environ.get("BENCH_SECONDS", "8"))
BROKER = os.environ.get("BENCH_BROKER", "guest:guest@127.0.0.1:5672")
# A backlog this size is published at once; resident memory is read before and after it.
BACKLOG = int(os.environ.get("BENCH_BACKLOG", "10000"))
WARM_UP = 40  # incidents before the offered rates (a running system is measured, its start-up apart)


# BENCH_PRIVATE_BROKER=1: a RabbitMQ node of the run's own (bench/private_broker.py), away from others' load.
PRIVATE: dict = {}


@contextmanager
def throwaway_vhost() -> Iterator[str]:
    from siaga.broker_admin import broker_admin

    vhost = f"siaga-bench-{uuid.uuid4().hex[:8]}"
    if broker := PRIVATE.get("broker"):
        broker._ctl("add_vhost", vhost)
        broker._ctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        try:
            yield f"{broker.amqp_uri}{vhost}"
        finally:
            broker._ctl("delete_vhost", vhost, check=False)
        return
    admin = broker_admin(f"amqp://{BROKER}/")
    admin.add_vhost(vhost, BROKER.split(":")[0])
    try:
        yield f"amqp://{BROKER}/{vhost}"
    finally:
        admin.delete_vhost(vhost)
        admin.wait()


@contextmanager
def mongo() -> Iterator[str]:
    """The embedded server on a data directory of its own, as `siaga run` starts it: what a commit
    costs on disk is part of the figure (BENCH_STORAGE=:memory: for a server that keeps nothing)."""
    if os.environ.get("MONGO_URI"):
        yield os.environ["MONGO_URI"]
        return
    scratch = PROJECT_ROOT / "var" / "bench"
    scratch.mkdir(parents=True, exist_ok=True)
    storage = os.environ.get("BENCH_STORAGE") or tempfile.mkdtemp(prefix="mongo-", dir=scratch)
    try:
        with EmbeddedMongo(storage) as server:
            yield server.uri
    finally:
        if storage != MEMORY:
            shutil.rmtree(storage, ignore_errors=True)


def bench_villages(count: int) -> list[str]:
    """Real village codes, spread over many districts, each to get its own Bhabinkamtibmas."""
    return [code for code in wilayah.names() if wilayah.VILLAGE_CODE.match(code)][:count]


def bench_roster(villages: list[str]) -> list[dict]:
    officers = [{"nrp": f"9{i:07d}", "name": f"Bripka Bench {i}", "rank": "Bripka", "role": "bhabinkamtibmas",
                 "polsek": wilayah.district_code(v), "areas": [v], "skills": ["investigation"],
                 "phone": f"+62812{i:07d}"} for i, v in enumerate(villages)]
    desks = sorted({wilayah.district_code(v) for v in villages})
    officers += [{"nrp": f"8{i:07d}", "name": f"SPKT {d}", "rank": "Piket", "role": "duty_desk", "polsek": d,
                  "phone": f"+62813{i:07d}"} for i, d in enumerate(desks)]
    return officers


def incident(village: str) -> dict:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/bench/citizen-app",
            "type": "incident_reported", "time": datetime.now(timezone.utc).isoformat(),
            "data": {"source_kind": "citizen_app", "category": "curanmor",
                     "description": "Sepeda motor hilang dari parkiran", "location": {"village_code": village},
                     "reporter": {"name": "Bench", "phone": "0812-9999-1234"}}}


def report_key(incident_body: dict) -> str:
    """The id reports gives the report of this incident, which the officer's SMS carries as its correlation id."""
    return derived_id(f"{incident_body['source']}|{incident_body['id']}", "report")


def officer_sms_report(body: dict) -> str | None:
    """The report an officer's SMS is about (a reporter's "received" SMS comes first: not the end of the path)."""
    return body.get("correlationid") if body.get("data", {}).get("recipient_role") == "officer" else None


@contextmanager
def tapped(connection: Connection, watch: tuple[str, str], on_body: Callable[[dict], None]) -> Iterator[None]:
    """A private queue on the watched (exchange, routing key) while the block runs; each body, decoded,
    goes to `on_body` as `connection.drain_events()` delivers it."""
    tap = Queue(f"bench-tap-{uuid.uuid4().hex[:6]}", exchange=Exchange(watch[0], type="topic", durable=True),
                routing_key=watch[1], exclusive=True, auto_delete=True)

    def on_message(body, message):
        on_body(body if isinstance(body, dict) else json.loads(body))
        message.ack()

    with connection.Consumer(tap, callbacks=[on_message], accept=["json"]):
        yield


def offered_load(amqp_uri: str, make: Callable[[int], tuple[str, dict]], exchange: str, routing_key: str,
                 watch: tuple[str, str], key_of: Callable[[dict], str], rate: float, seconds: float,
                 publisher_uri: str | None = None) -> dict:
    """Publish at `rate`/s for `seconds` (as `publisher_uri`'s user, else the admin); measure latency to
    the watched event, matched by key."""
    total = int(rate * seconds)
    sent, done = steady_load(amqp_uri, make, exchange, routing_key, watch, key_of, rate, total, publisher_uri)
    return {"offered": rate, **latencies(sent, done)}


def steady_load(amqp_uri: str, make: Callable[[int], tuple[str, dict]], exchange: str, routing_key: str,
                watch: tuple[str, str], key_of: Callable[[dict], str], rate: float, total: int,
                publisher_uri: str | None = None, on_sent: Callable[[int], None] | None = None,
                patience: float = 60.0, sent: dict[str, float] | None = None,
                done: dict[str, float] | None = None) -> tuple[dict[str, float], dict[str, float]]:
    """Publish `total` bodies at `rate`/s and wait (`patience` s past the last) for each one's watched event:
    (key → when sent, key → when its watched event arrived), on perf_counter's clock. `on_sent(i)` after
    each publish, from the publishing green thread (a long run reports its progress there, reading the
    `sent` and `done` it passed in)."""
    sent = {} if sent is None else sent
    done = {} if done is None else done
    with Connection(amqp_uri) as consumer_conn, Connection(publisher_uri or amqp_uri) as publisher_conn:
        def on_body(body):
            key = key_of(body)
            if key in sent and key not in done:
                done[key] = time.perf_counter()

        with tapped(consumer_conn, watch, on_body):
            producer = publisher_conn.Producer()
            target = Exchange(exchange, type="topic", durable=True)

            def publish_all():
                start = time.perf_counter()
                for i in range(total):
                    key, body = make(i)
                    due = start + i / rate
                    eventlet.sleep(max(0.0, due - time.perf_counter()))
                    sent[key] = time.perf_counter()
                    producer.publish(json.dumps(body), exchange=target, routing_key=routing_key,
                                     content_type="application/json", delivery_mode=2,
                                     user_id=publisher_conn.userid)
                    if on_sent:
                        on_sent(i)

            publisher = eventlet.spawn(publish_all)
            deadline = time.perf_counter() + total / rate + patience
            while (len(done) < total or not publisher.dead) and time.perf_counter() < deadline:
                try:
                    consumer_conn.drain_events(timeout=0.2)
                except TimeoutError:
                    pass
                except OSError:
                    pass
            publisher.wait()
    return sent, done


def latencies(sent: dict[str, float], done: dict[str, float]) -> dict:
    """Of the bodies sent: how many arrived, the rate they arrived at (first send to last arrival) and the
    latency percentiles in ms."""
    arrived = sorted(1000 * (done[k] - sent[k]) for k in sent if k in done)
    first = min(sent.values(), default=time.perf_counter())
    last = max((done[k] for k in sent if k in done), default=time.perf_counter())
    return {"sent": len(sent), "completed": len(arrived), "rate": len(arrived) / max(last - first, 1e-9),
            "p50": percentile(arrived, 50), "p95": percentile(arrived, 95), "p99": percentile(arrived, 99)}


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(pct / 100 * (len(values) - 1))))]


def wait_for_consumers(amqp_uri: str, queues: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        while True:
            try:
                if all(channel.queue_declare(q, passive=True).consumer_count for q in queues):
                    return
            except Exception:
                channel = connection.channel()
            if time.monotonic() > deadline:
                raise RuntimeError(f"consumers not ready on {queues}")
            time.sleep(0.2)


@dataclass(frozen=True)
class Floor:
    """Do-nothing stock nameko services (bench/floor.py) and the event that ends an incident's path."""
    label: str
    classes: tuple[str, ...]
    watch: tuple[str, str]
    key_of: Callable[[dict], str | None]

    def queues(self) -> list[str]:
        """nameko's own queue names for every handler, to wait until each has its consumer."""
        from bench import floor
        names = []
        for class_name in self.classes:
            cls = getattr(floor, class_name)
            for method_name, method in vars(cls).items():
                for handler in getattr(method, ENTRYPOINT_EXTENSIONS_ATTR, ()):
                    names.append(f"evt-{handler.source_service}-{handler.event_type}--{cls.name}.{method_name}")
        return names


FLOORS = (
    Floor("3 hops (the issue's floor)", ("FloorA", "FloorB", "FloorC"), ("floor_c.events", "floor_finished"),
          lambda body: body.get("key")),
    Floor("our fan-out (7 deliveries, 4 publishes)", ("FanoutReports", "FanoutDispatch", "FanoutNotify",
                                                      "FanoutConsole"),
          ("fanout_notify.events", "sms"), lambda body: body.get("key") if body.get("to") == "officer" else None),
)


@contextmanager
def floor_services(amqp_uri: str, log_dir: Path, floor: Floor) -> Iterator[dict[str, int]]:
    env = os.environ | {"PYTHONPATH": str(PROJECT_ROOT), "PYTHONWARNINGS": "ignore"}
    processes = {name: subprocess.Popen([sys.executable, "-m", "nameko", "run", "--broker", amqp_uri,
                                         f"bench.floor:{name}"], cwd=PROJECT_ROOT, env=env,
                                        stdout=open(log_dir / f"{name}.log", "ab"), stderr=subprocess.STDOUT)
                 for name in floor.classes}
    try:
        wait_for_consumers(amqp_uri, floor.queues())
        yield {name: process.pid for name, process in processes.items()}
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            process.wait(20)


def bench_floor(amqp_uri: str, floor: Floor, rate: float, log_dir: Path) -> dict:
    with floor_services(amqp_uri, log_dir, floor):
        def make(i):
            key = uuid.uuid4().hex
            return key, {"key": key, "n": i}
        return offered_load(amqp_uri, make, "floor_upstream.events", "floor_started", floor.watch, floor.key_of,
                            rate, SECONDS)


def bench_ours(system, amqp_uri: str, villages: Iterator[str], rate: float, seconds: float = SECONDS) -> dict:
    def make(i):
        body = incident(next(villages))
        return report_key(body), body
    return offered_load(amqp_uri, make, "intake.events", "incident_reported", ("notify.events", "sms_requested"),
                        officer_sms_report, rate, seconds)


def load_roster(mongo_uri: str, db_name: str, officers: list[dict]) -> None:
    from services.dispatch.roster import parse_roster
    from services.dispatch.storage import DispatchStore
    from shared.mongo import connect
    client = connect(mongo_uri)
    store = DispatchStore(client[db_name])
    store.ensure_indexes()
    store.replace_roster(parse_roster(officers))
    client.close()


# The services' timers (retry polls, sweeps) query on their own clock, not per incident: stilled while counting.
TIMERS_IDLE = {"SMS": {"RETRY_POLL": 3600}, "DISPATCH": {"SWEEP_SECONDS": 3600}, "SWEEP": {"SECONDS": 3600}}


# (rate, incidents): one by one, and a burst as a backlog brings, where concurrent workers' inserts
# share commands (shared/grouped_inserts.py).
ROUND_TRIP_RUNS = ((20, 50), (1000, 300))


def round_trips_per_incident(amqp_uri: str, mongo_uri: str, count: int = 50,
                             rate: float = 20) -> dict[str, tuple[float, float]]:
    """Run the four services in-process with a command monitor: per incident, each command's count and
    the milliseconds the database took for it (the embedded server is the pipeline's bottleneck)."""
    from nameko.containers import ServiceContainer
    from pymongo import monitoring

    from services.console.service import ConsoleService
    from services.dispatch.service import DispatchService
    from services.notify.service import NotifyService
    from services.reports.service import ReportsService
    from shared.embedded_db import free_port

    class Counting(monitoring.CommandListener):
        def __init__(self):
            self.calls: Counter = Counter()
            self.micros: Counter = Counter()

        def started(self, event):
            pass

        def succeeded(self, event):
            self.count(event)

        def failed(self, event):
            self.count(event)

        def count(self, event):
            if event.command_name not in ("hello", "ismaster", "isMaster", "ping", "endSessions"):
                key = f"{event.database_name.split('_')[-1]}.{event.command_name}"
                self.calls[key] += 1
                self.micros[key] += event.duration_micros

    run = uuid.uuid4().hex[:6]
    services = (ReportsService, DispatchService, NotifyService, ConsoleService)
    names = {cls.name: f"rt{run}_{cls.name}" for cls in services}
    villages = bench_villages(count)
    load_roster(mongo_uri, names["dispatch"], bench_roster(villages))
    listener = Counting()
    monitoring.register(listener)
    containers = [ServiceContainer(cls, {"AMQP_URI": amqp_uri, "MONGO_URI": mongo_uri,
                                         "max_workers": service_config(cls.name)["max_workers"],
                                         "MONGO_DATABASE": names[cls.name],
                                         "WEB_SERVER_ADDRESS": f"127.0.0.1:{free_port()}"} | TIMERS_IDLE)
                  for cls in services]
    for container in containers:
        container.start()
    eventlet.sleep(1)  # index creation at start-up is not per incident
    listener.calls.clear()
    listener.micros.clear()
    try:
        bodies = [incident(village) for village in villages]
        result = offered_load(amqp_uri, lambda i: (report_key(bodies[i]), bodies[i]), "intake.events",
                              "incident_reported", ("notify.events", "sms_requested"), officer_sms_report,
                              rate=rate, seconds=count / rate)
        eventlet.sleep(1)  # the console and reports handle assignment_created beside notify
    finally:
        for container in containers:
            container.stop()
    assert result["completed"] == count, result
    return {key: (calls / count, listener.micros[key] / 1000 / count) for key, calls in listener.calls.items()}


def main() -> None:
    if os.environ.get("BENCH_PRIVATE_BROKER") and "broker" not in PRIVATE:
        from bench.private_broker import PrivateBroker

        global BROKER
        with PrivateBroker() as broker:
            PRIVATE["broker"], BROKER = broker, broker.amqp_uri.removeprefix("amqp://").rstrip("/")
            return main()
    from siaga.system import System

    log_dir = PROJECT_ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    needed = int(sum(RATES) * SECONDS) + WARM_UP + 10
    villages = bench_villages(needed + BACKLOG)  # a village (and its officer) per incident
    with throwaway_vhost() as amqp_uri, mongo() as mongo_uri:
        print(f"broker: RabbitMQ {amqp_uri.rsplit('@', 1)[-1]}; database: "
              f"{'MONGO_URI ' + mongo_uri if os.environ.get('MONGO_URI') else 'embedded SecantusDB ' + mongo_uri}")
        print(f"offered rates {RATES}/s for {SECONDS:.0f} s each; latency = publish → sms_requested observed")
        compared = FLOORS if os.environ.get("BENCH_FLOORS", "1") != "0" else ()
        floors = {floor: {rate: bench_floor(amqp_uri, floor, rate, log_dir) for rate in RATES} for floor in compared}
        floors_drained = {floor: floor_backlog(amqp_uri, floor, BACKLOG, log_dir) for floor in compared}
        # The path ends at sms_requested and no gateway answers here: lift notify's answer deadline, or
        # every SMS would be retried (and stored again) during the run, as if the gateway were down.
        env = {"REPORTS_MONGO_DATABASE": "bench_reports", "DISPATCH_MONGO_DATABASE": "bench_dispatch",
               "NOTIFY_MONGO_DATABASE": "bench_notify", "LOG_LEVEL": "WARNING",
               "NOTIFY_SMS_ANSWER_TIMEOUT": "86400"}
        load_roster(mongo_uri, "bench_dispatch", bench_roster(villages))
        with System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=log_dir, extra_env=env) as system:
            source = iter(villages[:needed])
            # The first incidents after start-up pay for what every process sets up once (connections,
            # lookup tables); measured apart, so the offered rates show a running system.
            warm_up = bench_ours(system, amqp_uri, source, 20, WARM_UP / 20)
            ours = {rate: bench_ours(system, amqp_uri, source, rate) for rate in RATES}
            pids = {name: process.pid for name, process in system.processes.items()}
            if database := database_pid(mongo_uri):
                pids["database"] = database
            if broker := broker_pid():
                pids["rabbitmq"] = broker
            idle = {name: resident_mb(pid) for name, pid in pids.items()}
            drained = drain_backlog(amqp_uri, [incident(v) for v in villages[needed:]], report_key,
                                    ("intake.events", "incident_reported"), ("notify.events", "sms_requested"),
                                    officer_sms_report, pids)
            after = {name: resident_mb(pid) for name, pid in pids.items()}
        print(f"\nwarm-up, first {WARM_UP} incidents after start-up at 20/s: p50 {warm_up['p50']:.1f} ms, "
              f"p99 {warm_up['p99']:.1f} ms, {warm_up['sent'] - warm_up['completed']} lost")
        print_offered(ours, floors)
        print_backlog(drained, idle, after, floors_drained)
    # A vhost of its own: the backlog's last lifecycle events may still wait in reports' queues.
    for rate, count in ROUND_TRIP_RUNS:
        with throwaway_vhost() as amqp_uri, mongo() as mongo_uri:
            topology.declare_topology(amqp_uri)
            print_round_trips(rate, round_trips_per_incident(amqp_uri, mongo_uri, count, rate))


def resident_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def database_pid(mongo_uri: str) -> int | None:
    """The embedded server's process (None for a MongoDB given by MONGO_URI: its CPU is not ours to read)."""
    if os.environ.get("MONGO_URI"):
        return None
    port = urlsplit(mongo_uri).port
    found = subprocess.run(["pgrep", "-f", "--", f"secantusd-py .*--port {port}"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.stdout.split() else None


def broker_pid() -> int | None:
    """The local RabbitMQ node's Erlang VM, when the broker is on this machine: it shares the cores."""
    if urlsplit(f"amqp://{BROKER}").hostname not in ("127.0.0.1", "localhost"):
        return None
    node = PRIVATE["broker"].node if PRIVATE.get("broker") else "rabbit"
    found = subprocess.run(["pgrep", "-f", f"beam.smp.*{node}"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.stdout.split() else None


def drain_backlog(amqp_uri: str, bodies: list[dict], sent_key: Callable[[dict], str], target: tuple[str, str],
                  watch: tuple[str, str], key_of: Callable[[dict], str | None], pids: dict[str, int],
                  publisher_uri: str | None = None) -> dict:
    """Publish every body at once, then wait for each one's watched event: the rate a pipeline
    sustains when it never waits for work, and the CPU each process spent per message.

    Completions are counted on a tap queue, not in the database: a count every few seconds over a
    growing collection would spend the very server this measures."""
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    done: set[str] = set()
    with Connection(publisher_uri or amqp_uri, transport_options={"confirm_publish": True}) as connection, \
            Connection(amqp_uri) as consumer_conn:
        expected = {sent_key(body) for body in bodies}

        def on_body(body):
            if (key := key_of(body)) in expected:  # not a straggler of an earlier run on the same vhost
                done.add(key)

        with tapped(consumer_conn, watch, on_body):
            started = time.perf_counter()
            producer = connection.Producer()
            for body in bodies:
                producer.publish(json.dumps(body), exchange=Exchange(target[0], no_declare=True),
                                 routing_key=target[1], content_type="application/json", delivery_mode=2,
                                 user_id=connection.userid)
            published = time.perf_counter() - started
            progress_at, seen = time.perf_counter(), 0
            while len(done) < len(bodies) and time.perf_counter() - progress_at < 120:
                try:
                    consumer_conn.drain_events(timeout=1)
                except TimeoutError:
                    pass
                if len(done) > seen:
                    seen, progress_at = len(done), time.perf_counter()
            elapsed = time.perf_counter() - started
    cpu = {name: 1000 * (cpu_seconds(pid) - cpu_before[name]) / max(len(done), 1) for name, pid in pids.items()}
    return {"count": len(bodies), "done": len(done), "seconds": elapsed, "published_in": published, "cpu_ms": cpu,
            "rate": len(done) / elapsed}


def floor_backlog(amqp_uri: str, floor: Floor, count: int, log_dir: Path) -> dict:
    """A floor's sustained rate: `count` events published at once along its path."""
    with floor_services(amqp_uri, log_dir, floor) as pids:
        if broker := broker_pid():
            pids["rabbitmq"] = broker
        bodies = [{"key": uuid.uuid4().hex, "n": i} for i in range(count)]
        return drain_backlog(amqp_uri, bodies, lambda body: body["key"], ("floor_upstream.events", "floor_started"),
                             floor.watch, floor.key_of, pids)


def print_offered(ours: dict[float, dict], floors: dict[Floor, dict[float, dict]]) -> None:
    print(f"\n{'offered/s':>9} | {'pipeline':^38} | " + " | ".join(f"{floor.label:^36}" for floor in floors))
    print(f"{'':>9} | {'done/s':>7} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'lost':>5} | " + " | ".join(
        f"{'done/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'lost':>5} {'ratio':>6}" for _ in floors))
    for rate in RATES:
        o = ours[rate]
        print(f"{rate:>9} | {o['rate']:7.1f} {o['p50']:7.1f} {o['p95']:7.1f} {o['p99']:7.1f} "
              f"{o['sent'] - o['completed']:5d} | " + " | ".join(
                  f"{f['rate']:7.1f} {f['p50']:7.1f} {f['p99']:7.1f} {f['sent'] - f['completed']:5d} "
                  f"{o['rate'] / f['rate']:6.2f}" for f in (by_rate[rate] for by_rate in floors.values())))


def print_backlog(drained: dict, idle: dict[str, float], after: dict[str, float], floors: dict[Floor, dict]) -> None:
    print(f"\nbacklog: {drained['count']} incidents published at once (in {drained['published_in']:.1f} s); "
          f"{drained['done']} officer SMS requested after {drained['seconds']:.0f} s: "
          f"{drained['rate']:.1f} incidents/s sustained")
    for floor, run in floors.items():
        print(f"  {floor.label}: {run['done']} of {run['count']} through after {run['seconds']:.0f} s: "
              f"{run['rate']:.1f}/s sustained, ratio {drained['rate'] / max(run['rate'], 1e-9):.2f}")
    print(f"  {'process':<14} {'RSS idle MB':>11} {'RSS after MB':>12} {'CPU ms per incident':>20}")
    for name, cpu in drained["cpu_ms"].items():
        print(f"  {name:<14} {idle.get(name, float('nan')):11.1f} {after.get(name, float('nan')):12.1f} {cpu:20.2f}")
    print(f"  {'all':<14} {'':>11} {'':>12} {sum(drained['cpu_ms'].values()):20.2f}")
    for floor, run in floors.items():
        services = sum(ms for name, ms in run["cpu_ms"].items() if name != "rabbitmq")
        print(f"  {floor.label}: {sum(run['cpu_ms'].values()):.2f} (its services: {services:.2f})")
    busy = sum(drained["cpu_ms"].values()) * drained["rate"] / 1000
    print(f"  cores busy while draining: {busy:.2f} of {os.cpu_count()} (these processes; the benchmark's own"
          f" publisher and tap, and the kernel's loopback work, come on top)")


def print_round_trips(rate: float, trips: dict[str, tuple[float, float]]) -> None:
    three = sum(calls for command, (calls, _) in trips.items() if not command.startswith("console."))
    print(f"\ndatabase round trips per incident at {rate:g}/s offered, main path: "
          f"{sum(c for c, _ in trips.values()):.2f} "
          f"(reports, dispatch and notify: {three:.2f}; the console's board: the rest)")
    print(f"  {'command':<24} {'per incident':>12} {'DB ms per incident':>19}")
    for command, (calls, millis) in sorted(trips.items()):
        print(f"  {command:<24} {calls:12.2f} {millis:19.2f}")
    print(f"  {'all':<24} {sum(c for c, _ in trips.values()):12.2f} {sum(m for _, m in trips.values()):19.2f}")


if __name__ == "__main__":
    main()
