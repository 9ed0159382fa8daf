"""Chaos: incidents flow while services are killed with SIGKILL (and restarted), RabbitMQ restarts and
the embedded database is SIGKILLed and stays away for a while before it comes back on its data.

    python -m bench.chaos                       # 10k incidents, 3 kills per service, one broker restart,
                                                # database outages of 5 s, 40 s and 90 s
    CHAOS_INCIDENTS=300 CHAOS_KILLS=1 CHAOS_BROKER_RESTART=0 CHAOS_DB_OUTAGES= python -m bench.chaos
    CHAOS_AMQP_URI=amqp://... python -m bench.chaos   # a given broker: never restarted
    CHAOS_REPLICAS=2 python -m bench.chaos            # two processes of each service on the same queues

The broker it restarts is a private RabbitMQ node of its own (`bench/private_broker.py`), never
the machine-wide one. Afterwards it checks, from the databases, from what the SMS gateway's
queue received and from the report_rejected events: every incident is a stored report or a
rejection, no officer ever held two open assignments at once, no recipient got two SMS for
the same fact, every report reached a final or a waiting state; and against the events that
announced them: every report, assignment and SMS an event announced is in its database (a write
acknowledged then lost to a kill), no valid incident was rejected, no officer was told to go whom
dispatch holds free. It prints the counts and exits non-zero on any violation.
`tests/e2e/test_chaos.py` runs a short version in the suite.
"""
from __future__ import annotations

import json
import os
import random
import signal
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path

from kombu import Connection, Exchange, Queue, binding

from bench.private_broker import PrivateBroker
from shared import lifecycle, topology
from shared.contract import ASSIGNMENT_CREATED, REPORT_RECEIVED, REPORT_REJECTED, SMS_REQUESTED
from shared.messaging import REASON_HEADER
from shared.mongo import connect
from siaga.system import SIMULATOR, SIMULATOR_QUEUE, System

SETTLED = {"assigned", "acknowledged", "en_route", "on_scene", "resolved", "escalated", "awaiting_officer"}
TERMINAL = {"completed", "declined", "expired"}
REJECTIONS_QUEUE = "chaos-report_rejected"
# What notify asked the gateway to send, copied beside the gateway simulator's own queue.
SMS_TAP_QUEUE = "chaos-sms_requested"
# A duty desk's escalations wait this long for their digest: shorter than settle()'s quiet spell, so that the
# counts are taken after every digest went out.
DESK_WINDOW = {"NOTIFY_SMS_DESK_WINDOW": "5"}
# What reports and dispatch announced, to check each announced write against the databases.
ANNOUNCED_QUEUE = "chaos-announced"
ANNOUNCED = (REPORT_RECEIVED, ASSIGNMENT_CREATED)
# One roster upload of 10k officers is quadratic on the embedded server (≈ 30 min); in chunks, ≈ 2 min.
ROSTER_CHUNK = 250


def incident(village: str) -> dict:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/chaos/citizen-app",
            "type": "incident_reported", "time": datetime.now(timezone.utc).isoformat(),
            "data": {"source_kind": "citizen_app", "category": "curanmor", "description": "Motor hilang",
                     "location": {"village_code": village}, "reporter": {"phone": "0812-9999-1234"}}}


class Chaos:
    """The disturbances and what they did: kills, broker restarts, services that died on their own."""

    def __init__(self, system: System, broker: PrivateBroker | None):
        self.system = system
        self.broker = broker
        self.restarting: threading.Thread | None = None
        self.broker_seconds_away: list[float] = []
        self.exits: list[str] = []
        self.kills = 0
        self.publisher_reconnections = 0
        self.database_away: threading.Thread | None = None
        self.database_outages: list[float] = []

    def kill_and_restart(self, service: str) -> None:
        self.wait_for_broker()  # a service spawned while the broker is away would only fail its start
        self.system.processes[service].send_signal(signal.SIGKILL)
        self.system.processes[service].wait()
        self.kills += 1
        self.system.respawn(service)

    def restart_broker(self) -> None:
        """In the background, so the publisher and the services meet the outage mid-flow."""
        def restart() -> None:
            self.broker_seconds_away.append(self.broker.restart())
            print(f"  RabbitMQ back after {self.broker_seconds_away[-1]:.1f}s", flush=True)
        self.restarting = threading.Thread(target=restart, daemon=True)
        self.restarting.start()

    def wait_for_broker(self) -> None:
        if self.restarting is not None:
            self.restarting.join()

    def kill_database(self, seconds: float) -> None:
        """SIGKILL the embedded server, in the background keep it away `seconds`, then start it again
        on the same data directory and port, as a supervisor would."""
        self.wait_for_database()

        def outage() -> None:
            self.system.mongo.kill()
            time.sleep(seconds)
            self.system.mongo.start()
            self.database_outages.append(seconds)
            print(f"  database back after a {seconds:.0f}s outage", flush=True)
        self.database_away = threading.Thread(target=outage, daemon=True)
        self.database_away.start()

    def wait_for_database(self) -> None:
        if self.database_away is not None:
            self.database_away.join()

    def respawn_exited(self) -> None:
        """A service that died on its own is started again, as compose's `restart: unless-stopped`
        would, and counted: that is a finding, not chaos we caused. Not while the broker is away:
        a start then could only fail again."""
        if self.restarting is not None and self.restarting.is_alive():
            return
        for service, process in self.system.processes.items():
            if process.poll() is not None:
                print(f"  {service} exited on its own with code {process.returncode}; restarting it", flush=True)
                self.exits.append(f"{service}:{process.returncode}")
                self.system.respawn(service)


def publish_all(amqp_uri: str, incidents: list[dict], on_progress, chaos: Chaos) -> None:
    """Publish with confirms, retrying through broker restarts: the upstream app keeps its promise."""
    sent = 0
    while sent < len(incidents):
        try:
            with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
                producer = connection.Producer()
                while sent < len(incidents):
                    producer.publish(json.dumps(incidents[sent]), exchange=Exchange("intake.events", no_declare=True),
                                     routing_key="incident_reported", content_type="application/json",
                                     delivery_mode=2, mandatory=True)
                    sent += 1
                    on_progress(sent)
        except Exception as exc:  # connection lost in a broker restart: reconnect and go on
            chaos.publisher_reconnections += 1
            print(f"  publisher reconnecting after: {exc!r}", flush=True)
            time.sleep(1)


def drain_sms(amqp_uri: str, seen: list[dict], idle: float = 5.0) -> None:
    """Take every sms_requested from our tap until it stays quiet for `idle` s."""
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < idle:
        try:
            with Connection(amqp_uri) as connection:
                queue = Queue(SMS_TAP_QUEUE, no_declare=True)(connection.default_channel)
                while time.monotonic() - quiet_since < idle:
                    message = queue.get(no_ack=True)
                    if message is None:
                        time.sleep(0.1)
                        continue
                    seen.append(json.loads(message.body))
                    quiet_since = time.monotonic()
        except Exception:
            time.sleep(1)


def handler_queues() -> list[str]:
    """Every queue a consumer of the run should keep empty: the services' and the gateway's."""
    return [queue.name for service_cls in topology.siaga_service_classes()
            for queue in topology.service_queues(service_cls)] + [SIMULATOR_QUEUE]


def queue_stats(amqp_uri: str, names: list[str]) -> dict[str, tuple[int, int]] | None:
    """(ready messages, consumers) per queue, or None while the broker cannot be reached."""
    try:
        with Connection(amqp_uri, connect_timeout=5) as connection:
            channel = connection.default_channel
            stats = {}
            for name in names:
                declared = channel.queue_declare(name, passive=True)
                stats[name] = (declared.message_count, declared.consumer_count)
            return stats
    except Exception:
        return None


def settle(chaos: Chaos, sms: list[dict], quiet: float = 15.0, patience: float = 300.0) -> None:
    """Wait until the handler queues are empty and the gateway has been quiet for `quiet` s; give
    up when nothing has moved for `patience` s (a stuck consumer is a finding, printed)."""
    names = handler_queues()
    moved_at, last = time.monotonic(), None
    while True:
        chaos.respawn_exited()
        seen = len(sms)
        drain_sms(chaos.system.amqp_uri, sms, idle=2.0)
        stats = queue_stats(chaos.system.amqp_uri, names)
        depth = None if stats is None else sum(ready for ready, _ in stats.values())
        if len(sms) != seen or depth != last:
            moved_at, last = time.monotonic(), depth
        if depth == 0 and time.monotonic() - moved_at >= quiet:
            return
        if time.monotonic() - moved_at > patience:
            stuck = {name: s for name, s in (stats or {}).items() if s[0]}
            print(f"  nothing moved for {patience:.0f}s; queues still holding messages: {stuck}", flush=True)
            return


def declare_taps(amqp_uri: str) -> None:
    """Before the first incident: the run's rejections and SMS requests, kept through a broker restart."""
    with Connection(amqp_uri) as connection:
        for name, event_type in ((REJECTIONS_QUEUE, REPORT_REJECTED), (SMS_TAP_QUEUE, SMS_REQUESTED)):
            Queue(name, exchange=topology.event_exchange(event_type.exchange), routing_key=event_type.name,
                  durable=True, auto_delete=False,
                  queue_arguments={"x-queue-type": "quorum"})(connection.default_channel).declare()
        bindings = [binding(topology.event_exchange(t.exchange), routing_key=t.name) for t in ANNOUNCED]
        Queue(ANNOUNCED_QUEUE, bindings=bindings, durable=True, auto_delete=False,
              queue_arguments={"x-queue-type": "quorum"})(connection.default_channel).declare()


def read_and_delete(amqp_uri: str, queue_name: str) -> list:
    """Every message of a queue of our own (then the queue goes)."""
    with Connection(amqp_uri) as connection:
        queue = Queue(queue_name, no_declare=True)(connection.default_channel)
        messages = list(iter(lambda: queue.get(no_ack=True), None))
        queue.delete()
    return messages


def dead_letter_reasons(amqp_uri: str) -> Counter:
    """Why messages were dead-lettered in the run; read without acknowledging, so they stay."""
    with Connection(amqp_uri) as connection:
        queue = Queue(topology.DEAD_LETTER_QUEUE, no_declare=True)(connection.default_channel)
        letters = list(iter(lambda: queue.get(no_ack=False), None))
    return Counter(f"{(m.headers or {}).get('x-siaga-queue', '?')}: "
                   f"{(m.headers or {}).get(REASON_HEADER) or (m.headers or {}).get('x-death', [{}])[0].get('reason')}"
                   for m in letters)


def overlapping_claims(assignments: list[dict]) -> int:
    """Assignments of one officer whose open intervals overlap: must be zero."""
    by_officer = defaultdict(list)
    for assignment in assignments:
        if assignment["state"] == lifecycle.ESCALATED.state:  # the duty desk's record: nobody was claimed
            continue
        start = assignment["history"][0]["at"]
        end = next((e["at"] for e in assignment["history"] if e["state"] in TERMINAL), None)
        by_officer[assignment["officer"]["nrp"]].append((start, end or datetime.max.replace(tzinfo=timezone.utc)))
    overlaps = 0
    for intervals in by_officer.values():
        intervals.sort()
        overlaps += sum(1 for (_, end), (start, _) in zip(intervals, intervals[1:]) if start < end)
    return overlaps


def check(system: System, incidents: list[dict], sms: list[dict], rejected: set[str],
          announced: list[dict]) -> dict[str, int]:
    client = connect(system.mongo_uri)
    try:
        reports = client[system.database_name("reports")].reports
        stored = {r["origin"]["id"]: r["status"] for r in reports.find({}, {"origin": 1, "status": 1})}
        report_ids = {r["_id"] for r in reports.find({}, {"_id": 1})}
        assignments = list(client[system.database_name("dispatch")].assignments.find())
        holding = {o["_id"]: o.get("assignment_id") for o in
                   client[system.database_name("dispatch")].officers.find({}, {"assignment_id": 1})}
        notifications = client[system.database_name("notify")].notifications
        sms_ids = {m["_id"] for m in notifications.find({}, {"_id": 1})}
        grouped = notifications.count_documents({"state": "grouped"})
    finally:
        client.close()
    by_id = {a["_id"]: a for a in assignments}
    created = [e["data"] for e in announced if e["type"] == ASSIGNMENT_CREATED.name]
    received = [e["data"]["report_id"] for e in announced if e["type"] == REPORT_RECEIVED.name]
    missing = (sum(1 for report_id in received if report_id not in report_ids)
               + sum(1 for a in created if a["assignment_id"] not in by_id)
               + len({m["data"]["sms_id"] for m in sms} - sms_ids))
    distinct_sms = {m["data"]["sms_id"] for m in sms}
    statuses = Counter(stored.get(i["id"], "REJECTED" if i["id"] in rejected else "MISSING") for i in incidents)
    return {
        "incidents": len(incidents),
        "stored reports": sum(1 for i in incidents if i["id"] in stored),
        "rejected (report_rejected)": sum(1 for i in incidents if i["id"] in rejected),
        "neither stored nor rejected": statuses["MISSING"],
        "reports not final or waiting": sum(n for s, n in statuses.items()
                                            if s not in SETTLED | {"MISSING", "REJECTED"}),
        "assignments": len(assignments),
        "officers with overlapping assignments": overlapping_claims(assignments),
        "SMS requests published": len(sms),
        "distinct SMS": len(distinct_sms),
        "escalations told in a duty desk's digest": grouped,
        "digests": sum(1 for m in {m["data"]["sms_id"]: m for m in sms}.values()
                       if m["data"].get("kind") == "duty_desk_digest"),
        "recipients with two SMS for one fact": sum(1 for n in Counter(
            (m["data"]["to"], m["data"].get("kind"), m["causationid"]) for m in
            {m["data"]["sms_id"]: m for m in sms}.values()).values() if n > 1),
        "repeated requests of one SMS (same id, harmless)": len(sms) - len(distinct_sms),
        "acknowledged writes missing (announced, not stored)": missing,
        "valid incidents rejected": sum(1 for i in incidents if i["id"] in rejected),
        "officers told to go whom dispatch holds free": sum(
            1 for a in created if a["officer"]["role"] != "duty_desk" and (
                a["assignment_id"] not in by_id or (by_id[a["assignment_id"]]["state"] not in TERMINAL | {"escalated"}
                                                    and holding.get(a["officer"]["nrp"]) != a["assignment_id"]))),
    }


def broker_findings(chaos: Chaos) -> dict[str, int]:
    """What the broker holds at the end: dead letters, work left over, queues nobody consumes."""
    amqp_uri = chaos.system.amqp_uri
    stats = queue_stats(amqp_uri, handler_queues()) or {}
    reasons = dead_letter_reasons(amqp_uri)
    for reason, n in reasons.most_common(5):
        print(f"  dead letter x{n}: {reason[:300]}", flush=True)
    for name, (ready, consumers) in stats.items():
        if ready or not consumers:
            print(f"  at the end {name}: {ready} ready, {consumers} consumers", flush=True)
    return {
        "dead letters": sum(reasons.values()),
        "messages left in handler queues": sum(ready for ready, _ in stats.values()),
        "handler queues without a consumer at the end": sum(1 for _, consumers in stats.values() if not consumers),
        "services killed with SIGKILL": chaos.kills,
        "services that exited on their own (restarted)": len(chaos.exits),
        "broker restarts": len(chaos.broker_seconds_away),
        "database outages (SIGKILL, then restarted)": len(chaos.database_outages),
        "publisher reconnections": chaos.publisher_reconnections,
    }


def run(count: int, kills: int, broker_restart: bool, log_dir: Path, amqp_uri: str | None = None,
        mongo_uri: str | None = None, extra_env: dict[str, str] | None = None,
        database_outages: tuple[float, ...] = (), quiet: float = 15.0, replicas: int = 1) -> dict[str, int]:
    """Without `amqp_uri`, on a private RabbitMQ node of its own; only that one may be restarted.
    With `replicas`, each service runs that many processes on the same queues, and each is killed.
    `database_outages` (seconds each) need the embedded server of the run's own, on disk: no `mongo_uri`."""
    if broker_restart and amqp_uri:
        raise ValueError("a broker restart needs the private node: pass no amqp_uri")
    if database_outages and mongo_uri:
        raise ValueError("a database kill needs the run's own embedded server: pass no mongo_uri")
    with ExitStack() as stack:
        broker = None
        if amqp_uri is None:
            broker = stack.enter_context(PrivateBroker(keep_logs_in=log_dir))
            amqp_uri = broker.amqp_uri
        # The gateway simulator accepts and delivers every SMS, so notify's retries for an
        # unanswered SMS are a finding, not the normal course.
        storage = str((log_dir / "mongo").resolve()) if database_outages else ":memory:"
        system = System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, storage_path=storage, log_dir=log_dir,
                        extra_env={"LOG_LEVEL": "WARNING", **DESK_WINDOW} | (extra_env or {}), gateway_simulator=True,
                        replicas=replicas)
        stack.enter_context(system)
        return disturb_and_check(system, Chaos(system, broker), count, kills, broker_restart, database_outages,
                                 quiet)


def disturb_and_check(system: System, chaos: Chaos, count: int, kills: int, broker_restart: bool,
                      database_outages: tuple[float, ...] = (), quiet: float = 15.0) -> dict[str, int]:
    from bench.bench_pipeline import bench_roster, bench_villages, load_roster

    villages = bench_villages(count)
    roster = bench_roster(villages)
    for chunk in range(0, len(roster), ROSTER_CHUNK):
        load_roster(system.mongo_uri, system.database_name("dispatch"), roster[chunk:chunk + ROSTER_CHUNK])
    declare_taps(system.amqp_uri)
    incidents = [incident(v) for v in villages]
    services = [service for service in system.processes if service != SIMULATOR]
    actions = ([("kill", s) for s in services for _ in range(kills)] + [("broker", None)] * broker_restart
               + [("database", seconds) for seconds in database_outages])
    random.shuffle(actions)
    plan = dict(zip(sorted(random.sample(range(1, count), min(count - 1, len(actions)))), actions))
    sms: list[dict] = []

    def on_progress(sent: int) -> None:
        if sent in plan:
            action, target = plan.pop(sent)
            said = {"kill": f"kill -9 {target}", "broker": "restart RabbitMQ",
                    "database": f"kill -9 the database for {target}s"}[action]
            print(f"  after {sent} incidents: {said}", flush=True)
            if action == "kill":
                chaos.kill_and_restart(target)
            elif action == "database":
                chaos.kill_database(target)
            else:
                chaos.restart_broker()
        if sent % 50 == 0:
            chaos.respawn_exited()
            drain_sms(system.amqp_uri, sms, idle=0.01)

    began = time.monotonic()
    publish_all(system.amqp_uri, incidents, on_progress, chaos)
    print(f"  all {count} incidents published in {time.monotonic() - began:.0f}s", flush=True)
    chaos.wait_for_broker()
    chaos.wait_for_database()
    settle(chaos, sms, quiet)
    print(f"  settled {time.monotonic() - began:.0f}s after the first incident", flush=True)
    drain_sms(system.amqp_uri, sms, idle=0.01)
    read_and_delete(system.amqp_uri, SMS_TAP_QUEUE)
    rejections = read_and_delete(system.amqp_uri, REJECTIONS_QUEUE)
    rejected = {json.loads(m.body)["data"]["original"]["id"] for m in rejections}
    announced = [json.loads(m.body) for m in read_and_delete(system.amqp_uri, ANNOUNCED_QUEUE)]
    return check(system, incidents, sms, rejected, announced) | broker_findings(chaos)


VIOLATIONS = ("neither stored nor rejected", "reports not final or waiting", "officers with overlapping assignments",
              "recipients with two SMS for one fact", "acknowledged writes missing (announced, not stored)",
              "valid incidents rejected", "officers told to go whom dispatch holds free")


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # still stop the services and the private node
    count = int(os.environ.get("CHAOS_INCIDENTS", "10000"))
    kills = int(os.environ.get("CHAOS_KILLS", "3"))
    broker = os.environ.get("CHAOS_BROKER_RESTART", "1") not in ("0", "")
    outages = tuple(float(s) for s in os.environ.get("CHAOS_DB_OUTAGES", "5,40,90").split(",") if s.strip())
    amqp_uri = os.environ.get("CHAOS_AMQP_URI") or None
    replicas = int(os.environ.get("CHAOS_REPLICAS", "1"))
    if amqp_uri and broker:
        print("chaos: CHAOS_AMQP_URI names a broker that is not ours: it will NOT be restarted", flush=True)
        broker = False
    log_dir = Path("var/chaos") / datetime.now().strftime("%Y%m%d-%H%M%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    where = amqp_uri or "a private RabbitMQ node"
    print(f"chaos: {count} incidents, {replicas} process(es) per service, {kills} SIGKILLs per process, "
          f"broker restart: {broker}, database outages: "
          f"{', '.join(f'{s:.0f}s' for s in outages) or 'none'}, on {where}; logs in {log_dir}", flush=True)
    began = time.monotonic()
    result = run(count, kills, broker, log_dir, amqp_uri=amqp_uri, database_outages=outages, replicas=replicas)
    for name, value in result.items():
        print(f"  {name:<52} {value}")
    print(f"chaos: took {time.monotonic() - began:.0f}s")
    bad = any(result[name] for name in VIOLATIONS)
    print("chaos: " + ("VIOLATIONS FOUND" if bad else "nothing lost, nothing doubled"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
