"""What the broker trust costs per incident: the pipeline with one broker user for everyone (nothing is
checked: the party is read from `source`) beside the production shape, each party its own user
(RabbitMQ checks `user_id` and the topic permissions, every consumer checks the sender against the
contract's party table).

One run, one machine, the same incidents, the two shapes one after the other, each on its own vhost
and database: the sustained rate of a backlog, CPU per incident of each process, latency at an
offered rate. The first line is the floor the second is read against.

    python -m bench trust
    TRUST_BACKLOG=1000 TRUST_RATE=20 TRUST_SECONDS=8 python -m bench trust
"""
from __future__ import annotations

import os
import shutil
import uuid
from contextlib import contextmanager
from typing import Iterator

from bench.bench_pipeline import (
    bench_roster,
    bench_villages,
    broker_pid,
    database_pid,
    drain_backlog,
    incident,
    load_roster,
    mongo,
    offered_load,
    officer_sms_report,
    report_key,
    throwaway_vhost,
)
from shared.config import PROJECT_ROOT

BACKLOG = int(os.environ.get("TRUST_BACKLOG", "1000"))
RATE = float(os.environ.get("TRUST_RATE", "20"))
SECONDS = float(os.environ.get("TRUST_SECONDS", "8"))
APP = "citizen-app"
SHAPES = {"one broker user (no checks)": False, "a user per party (checked)": True}
PATH = ("intake.events", "incident_reported"), ("notify.events", "sms_requested")


def app_incident(village: str) -> dict:
    """From the citizen app, under its own source, as the party table asks."""
    return incident(village) | {"source": f"/{APP}/bench"}


@contextmanager
def running(amqp_uri: str, mongo_uri: str, per_party: bool) -> Iterator[tuple[dict[str, int], str]]:
    """The four services (each as its own user when `per_party`): their pids, and the app's AMQP URI."""
    from siaga.broker_users import remove_users
    from siaga.settings import SiagaSettings
    from siaga.system import System

    settings = SiagaSettings(instance=f"bench{uuid.uuid4().hex[:6]}")
    env = {"REPORTS_MONGO_DATABASE": "bench_reports", "DISPATCH_MONGO_DATABASE": "bench_dispatch",
           "NOTIFY_MONGO_DATABASE": "bench_notify", "LOG_LEVEL": "WARNING", "NOTIFY_SMS_ANSWER_TIMEOUT": "86400"}
    log_dir = PROJECT_ROOT / "var" / "bench"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        with System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=log_dir, extra_env=env,
                    least_privilege=per_party, settings=settings) as system:
            pids = {name: process.pid for name, process in system.processes.items()}
            if database := database_pid(mongo_uri):
                pids["database"] = database
            if broker := broker_pid():
                pids["rabbitmq"] = broker
            yield pids, system.amqp_uris.get(APP, amqp_uri)
    finally:
        if per_party:
            remove_users(settings, amqp_uri)
        shutil.rmtree(settings.var_dir, ignore_errors=True)


def run(per_party: bool, villages: list[str]) -> dict:
    with throwaway_vhost() as amqp_uri, mongo() as mongo_uri:
        load_roster(mongo_uri, "bench_dispatch", bench_roster(villages))
        with running(amqp_uri, mongo_uri, per_party) as (pids, app_uri):
            drained = drain_backlog(amqp_uri, [app_incident(v) for v in villages[:BACKLOG]], report_key, *PATH,
                                    officer_sms_report, pids, publisher_uri=app_uri)
            rest = iter(villages[BACKLOG:])

            def make(i):
                body = app_incident(next(rest))
                return report_key(body), body
            offered = offered_load(amqp_uri, make, *PATH[0], PATH[1], officer_sms_report, RATE, SECONDS,
                                   publisher_uri=app_uri)
    return {"drained": drained, "offered": offered}


def main() -> None:
    villages = bench_villages(BACKLOG + int(RATE * SECONDS) + 10)
    print(f"{BACKLOG} incidents at once, then {RATE:.0f}/s for {SECONDS:.0f} s, for each shape")
    results = {label: run(per_party, villages) for label, per_party in SHAPES.items()}
    print(f"\n{'':<30} {'drained/s':>9} {'CPU ms/incident':>16} {'p50 ms':>7} {'p99 ms':>7} {'lost':>5}")
    for label, result in results.items():
        drained, offered = result["drained"], result["offered"]
        print(f"{label:<30} {drained['rate']:9.1f} {sum(drained['cpu_ms'].values()):16.2f} {offered['p50']:7.1f} "
              f"{offered['p99']:7.1f} {offered['sent'] - offered['completed'] + drained['count'] - drained['done']:5d}")
    for label, result in results.items():
        print(f"  {label}, CPU ms per incident: " + ", ".join(
            f"{name} {ms:.2f}" for name, ms in result["drained"]["cpu_ms"].items()))
