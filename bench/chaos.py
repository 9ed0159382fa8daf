"""Chaos: incidents flow while services are killed with SIGKILL (and restarted) and RabbitMQ restarts.

    python -m bench.chaos                       # 10k incidents, 3 kills per service, one broker restart
    CHAOS_INCIDENTS=300 CHAOS_KILLS=1 CHAOS_BROKER_RESTART=0 python -m bench.chaos

Afterwards it checks, from the databases and from what the SMS gateway's queue received:
every incident is a stored report, no officer ever held two open assignments at once, no
recipient got two SMS for the same fact, every report reached a final or a waiting state.
It prints the counts and exits non-zero on any violation. `tests/e2e/test_chaos.py` runs a
short version in the suite.
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timezone
from pathlib import Path

from kombu import Connection, Exchange, Queue

from shared.mongo import connect
from siaga.system import SIMULATOR_QUEUE, System

SETTLED = {"assigned", "acknowledged", "en_route", "on_scene", "resolved", "escalated", "awaiting_officer"}
TERMINAL = {"completed", "declined", "expired"}


def incident(village: str) -> dict:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/chaos/citizen-app",
            "type": "incident_reported", "time": datetime.now(timezone.utc).isoformat(),
            "data": {"source_kind": "citizen_app", "category": "curanmor", "description": "Motor hilang",
                     "location": {"village_code": village}, "reporter": {"phone": "0812-9999-1234"}}}


def kill_and_restart(system: System, service: str) -> None:
    system.processes[service].send_signal(signal.SIGKILL)
    system.processes[service].wait()
    system.processes[service] = system._spawn(service)


def restart_broker() -> None:
    subprocess.run(["rabbitmqctl", "-q", "stop_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "-q", "start_app"], check=True, capture_output=True, timeout=120)
    subprocess.run(["rabbitmqctl", "-q", "await_startup"], check=True, capture_output=True, timeout=120)


def publish_all(amqp_uri: str, incidents: list[dict], on_progress) -> None:
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
            print(f"  publisher reconnecting after: {exc!r}", flush=True)
            time.sleep(1)


def drain_gateway(amqp_uri: str, seen: list[dict], idle: float = 5.0) -> None:
    """Play the SMS gateway: take every sms_requested until the queue stays quiet for `idle` s."""
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < idle:
        try:
            with Connection(amqp_uri) as connection:
                queue = Queue(SIMULATOR_QUEUE, no_declare=True)(connection.default_channel)
                while time.monotonic() - quiet_since < idle:
                    message = queue.get(no_ack=True)
                    if message is None:
                        time.sleep(0.1)
                        continue
                    seen.append(json.loads(message.body))
                    quiet_since = time.monotonic()
        except Exception:
            time.sleep(1)


def overlapping_claims(assignments: list[dict]) -> int:
    """Assignments of one officer whose open intervals overlap: must be zero."""
    by_officer = defaultdict(list)
    for assignment in assignments:
        start = assignment["history"][0]["at"]
        end = next((e["at"] for e in assignment["history"] if e["state"] in TERMINAL), None)
        by_officer[assignment["officer"]["nrp"]].append((start, end or datetime.max.replace(tzinfo=timezone.utc)))
    overlaps = 0
    for intervals in by_officer.values():
        intervals.sort()
        overlaps += sum(1 for (_, end), (start, _) in zip(intervals, intervals[1:]) if start < end)
    return overlaps


def check(system: System, incidents: list[dict], sms: list[dict]) -> dict[str, int]:
    client = connect(system.mongo_uri)
    try:
        reports = client[system.database_name("reports")].reports
        stored = {r["origin"]["id"]: r["status"] for r in reports.find({}, {"origin": 1, "status": 1})}
        assignments = list(client[system.database_name("dispatch")].assignments.find())
    finally:
        client.close()
    distinct_sms = {m["data"]["sms_id"] for m in sms}
    statuses = Counter(stored.get(i["id"], "MISSING") for i in incidents)
    return {
        "incidents": len(incidents),
        "stored reports": sum(1 for i in incidents if i["id"] in stored),
        "missing reports": statuses["MISSING"],
        "reports not final or waiting": sum(n for s, n in statuses.items() if s not in SETTLED and s != "MISSING"),
        "assignments": len(assignments),
        "officers with overlapping assignments": overlapping_claims(assignments),
        "SMS requests seen by the gateway": len(sms),
        "distinct SMS": len(distinct_sms),
        "recipients with two SMS for one fact": sum(1 for n in Counter(
            (m["data"]["to"], m["data"].get("kind"), m["causationid"]) for m in
            {m["data"]["sms_id"]: m for m in sms}.values()).values() if n > 1),
        "repeated requests of one SMS (same id, harmless)": len(sms) - len(distinct_sms),
    }


def run(count: int, kills: int, broker_restart: bool, log_dir: Path, amqp_uri: str | None = None,
        mongo_uri: str | None = None, extra_env: dict[str, str] | None = None) -> dict[str, int]:
    from bench.bench_pipeline import bench_roster, bench_villages, load_roster

    villages = bench_villages(count)
    env = {"LOG_LEVEL": "WARNING"} | (extra_env or {})
    system = System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, storage_path=":memory:", log_dir=log_dir,
                    extra_env=env)
    system.start()
    try:
        load_roster(system.mongo_uri, system.database_name("dispatch"), bench_roster(villages))
        incidents = [incident(v) for v in villages]
        services = [s for s in system.processes if s != "sms-gateway"]
        chaos_at = sorted(random.sample(range(1, count), min(count - 1, kills * len(services) + broker_restart)))
        actions = [("kill", s) for s in services for _ in range(kills)] + [("broker", None)] * broker_restart
        random.shuffle(actions)
        plan = dict(zip(chaos_at, actions))
        sms: list[dict] = []

        def on_progress(sent: int) -> None:
            if sent in plan:
                action, service = plan.pop(sent)
                print(f"  after {sent} incidents: {'kill -9 ' + service if action == 'kill' else 'restart RabbitMQ'}",
                      flush=True)
                if action == "kill":
                    kill_and_restart(system, service)
                else:
                    restart_broker()
            if sent % 50 == 0:
                drain_gateway(system.amqp_uri, sms, idle=0.01)

        publish_all(system.amqp_uri, incidents, on_progress)
        drain_gateway(system.amqp_uri, sms, idle=15.0)
        return check(system, incidents, sms)
    finally:
        system.stop()


def main() -> int:
    count = int(os.environ.get("CHAOS_INCIDENTS", "10000"))
    kills = int(os.environ.get("CHAOS_KILLS", "3"))
    broker = os.environ.get("CHAOS_BROKER_RESTART", "1") not in ("0", "")
    log_dir = Path("var/chaos")
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"chaos: {count} incidents, {kills} SIGKILLs per service, broker restart: {broker}", flush=True)
    result = run(count, kills, broker, log_dir)
    for name, value in result.items():
        print(f"  {name:<50} {value}")
    bad = (result["missing reports"] or result["reports not final or waiting"]
           or result["officers with overlapping assignments"] or result["recipients with two SMS for one fact"])
    print("chaos: " + ("VIOLATIONS FOUND" if bad else "nothing lost, nothing doubled"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
