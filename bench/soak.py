"""Soak: incidents at a steady rate for a long time, against the embedded server, with archiving on — is the
pipeline as fast at the end as at the start, and does its memory stay flat while data piles up?

    make soak                                                # 100,000 incidents at 12/s: about 2 h 20 min
    SOAK_INCIDENTS=1800 SOAK_VILLAGES=600 SOAK_ARCHIVE_AFTER=10 python -m bench soak   # about 3 min

The whole system runs as `siaga run` runs it (five services, the embedded server syncing every commit with
the server's own 1 GB cache unless SOAK_DB_CACHE says otherwise, the SMS gateway simulator), on a vhost of
its own, with one difference: the server's files are in memory-backed storage (/dev/shm where the machine
has it; SOAK_DB_DIR names another directory). A crash of the server still loses nothing (its commits reach
the files before they are acknowledged); what the soak leaves out is the disk's sync. On the embedded
server every write statement is a commit of its own, synced under the server's one lock, and an incident's
whole cycle makes about 25: on this kind of machine's disk that alone bounds the system at about 12
incidents/s, the same with one document stored as with a million (4,000 at 12/s: on disk the live SMS grew
from 1,100 to 5,800 and p50 from 440 to 890 ms; in memory both held, p50 130 → 56 ms). Production's
MongoDB syncs its journal for many commits at once. A soak on disk measures the disk; this one measures
whether data piling up slows Siaga. Every officer answers his assignment SMS with `SELESAI <number>` a
second after it is delivered (the simulator's auto-reply), so reports resolve, officers come free and the
run can go on for as long as it is given; the incidents go to SOAK_VILLAGES villages in turn, each with its
Bhabinkamtibmas. Archiving is on with a short age (SOAK_ARCHIVE_AFTER seconds, swept every 2 s), so
resolved reports, ended assignments and settled SMS leave the live collections during the run, as a year's
would.

Latency is what `python -m bench pipeline` measures (its helpers): incident published → the officer's
sms_requested. Printed: the sustained rate and p50/p99 of the first and the last SOAK_WINDOW incidents
(10,000; a tenth of the run when that is smaller; the first window starts once the first documents were old
enough to move), every process's resident memory after the first window, at the middle and at the end, and
its CPU per incident, the database commands per incident, and the live and archived collection sizes and the
database's files at the end; every twentieth of the run, where the SMS archive stands. Exit status 1 when the last
window's rate is more than 10% below the first's or its p99 more than 10% above (plus SOAK_P99_SLACK_MS,
0), when a service's memory grows by more than SOAK_MEMORY_GROWTH (10%, and at least 32 MB) from the first
window's end to the run's end, when the database's grows by more than its cache, when the first window's
median is over SOAK_SATURATED_MS (1,000 ms: the rate is more than the machine takes, so both windows are
backlogs and their likeness says nothing), or when an incident got no
officer SMS, or was taken as a duplicate of a report still open in its village (a village comes round again
every SOAK_VILLAGES incidents: a run that far behind stops sending officers, it does not just slow down).
The broker's memory is shown, not judged: other runs share it.

An incident's whole cycle here (three SMS, each accepted and delivered, the officer's reply, the
completion, the archive's copy and delete) costs about 120 ms of CPU on a 2-core machine, 53 of it the
embedded server's, against about 70 ms for the path `bench pipeline` measures: 12/s keeps 1.5 cores busy
and leaves the rest to the machine. `tests/e2e/test_soak.py` runs 200 incidents through the same code.
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import time
import uuid
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from itertools import cycle
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from bench.bench_pipeline import (
    bench_roster,
    bench_villages,
    broker_pid,
    cpu_seconds,
    database_pid,
    incident,
    latencies,
    load_roster,
    officer_sms_report,
    report_key,
    resident_mb,
    steady_load,
    throwaway_vhost,
)
from shared.archive import count_both, held
from shared.config import PROJECT_ROOT
from shared.embedded_db import EmbeddedMongo
from shared.lifecycle import DUPLICATE
from shared.mongo import connect
from siaga.system import System

INCIDENTS = int(os.environ.get("SOAK_INCIDENTS", "100000"))
RATE = float(os.environ.get("SOAK_RATE", "12"))
WINDOW = int(os.environ.get("SOAK_WINDOW", "10000"))
VILLAGES = int(os.environ.get("SOAK_VILLAGES", "2000"))
ARCHIVE_AFTER = float(os.environ.get("SOAK_ARCHIVE_AFTER", "30"))
DB_CACHE = os.environ.get("SOAK_DB_CACHE", "1G")  # the server's default, which `siaga run` keeps
SHM = Path("/dev/shm")
# Where the server keeps its files: memory-backed where the machine has it (see the module's docstring).
DB_DIR = Path(os.environ["SOAK_DB_DIR"]) if os.environ.get("SOAK_DB_DIR") else SHM if SHM.is_dir() else None
MEMORY_GROWTH = float(os.environ.get("SOAK_MEMORY_GROWTH", "0.10"))
MEMORY_FLOOR_MB = 32.0
P99_SLACK_MS = float(os.environ.get("SOAK_P99_SLACK_MS", "0"))
# A first window slower than this at its median was already a backlog: the rate is beyond the machine.
SATURATED_MS = float(os.environ.get("SOAK_SATURATED_MS", "1000"))
WORSE = 0.10  # the last window may be this much slower than the first
ARCHIVE_SWEEP_SECONDS = 2
ROSTER_CHUNK = 250  # the embedded server's bulk roster write is quadratic in its size (bench/chaos.py)
# What the services archive, and where (shared/archive.py).
COLLECTIONS = {"reports": "reports", "dispatch": "assignments", "notify": "notifications"}
# What grows and is not archived: a record per assignment closed for replies, per reply, per report on the board.
UNARCHIVED = {"notify": ("closed_assignments", "inbound"), "console": ("board",)}
# The whole run is one month, a month no Polsek sends: its budget would hold the reporters' SMS part way
# (and change the load). The spending is still recounted every minute, as in production.
UNBOUNDED_SPENDING = {"SMS_MONTHLY_BUDGET": "default=0"}


def archive_env(after: float) -> dict[str, str]:
    """Archiving with a short age, swept every 2 s, in batches that keep up with the run."""
    env = {}
    for service in COLLECTIONS:
        env |= {f"{service.upper()}_ARCHIVE_AFTER_SECONDS": str(after),
                f"{service.upper()}_ARCHIVE_SECONDS": str(ARCHIVE_SWEEP_SECONDS),
                f"{service.upper()}_ARCHIVE_BATCH": "500"}
    return env


@dataclass
class Soak:
    """What a run measured."""

    incidents: int
    rate: float
    window: int
    warm_up: int  # incidents before the first window: until the first documents were old enough to move
    first: dict = field(default_factory=dict)
    last: dict = field(default_factory=dict)
    memory: dict[str, dict[str, float]] = field(default_factory=dict)  # process → moment → MB
    cpu_ms: dict[str, float] = field(default_factory=dict)  # process → CPU ms per incident over the run
    collections: dict[str, tuple[int, int | None]] = field(default_factory=dict)  # → (live, archived)
    reports_held: int = 0  # distinct reports, live or archived: one mid-move is in both
    duplicates: int = 0  # reports linked to an open one of the same village: no officer was sent
    archived_read: str = ""  # what Open311 answered for the first report, archived by then
    seconds: float = 0.0
    commands: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)  # → (count, seconds)
    db_files_mb: float = 0.0

    def verdicts(self) -> list[str]:
        """What failed, in words; empty when the run holds up."""
        failed = []
        if self.first["completed"] < self.window or self.last["completed"] < self.window:
            failed.append(f"incidents without an officer SMS: {self.first['sent'] - self.first['completed']} "
                          f"in the first window, {self.last['sent'] - self.last['completed']} in the last")
        if self.duplicates:
            failed.append(f"{self.duplicates:,} incidents taken as duplicates of a report still open in their "
                          f"village (a village comes round again every SOAK_VILLAGES incidents: the run was that "
                          f"far behind, or it has fewer villages than incidents to spare)")
        if self.reports_held != self.incidents:
            failed.append(f"{self.reports_held:,} reports kept, live or archived, of {self.incidents:,} incidents")
        if self.first["p50"] > SATURATED_MS:
            failed.append(f"the first window's median was {self.first['p50']:.0f} ms: {self.rate:g}/s is more than "
                          f"this machine takes, every incident waited in a queue, and two backlogs compared say "
                          f"nothing of the data's growth (a lower SOAK_RATE)")
        if self.last["rate"] < self.first["rate"] * (1 - WORSE):
            failed.append(f"sustained rate fell from {self.first['rate']:.1f}/s to {self.last['rate']:.1f}/s")
        if self.last["p99"] > self.first["p99"] * (1 + WORSE) + P99_SLACK_MS:
            failed.append(f"p99 rose from {self.first['p99']:.0f} ms to {self.last['p99']:.0f} ms")
        for name, seen in self.memory.items():
            if name in ("rabbitmq",) or "end" not in seen or "warm" not in seen:
                continue  # the broker is shared with whoever else uses it: shown, not judged
            allowed = cache_mb(DB_CACHE) if name == "database" else max(MEMORY_FLOOR_MB, seen["warm"] * MEMORY_GROWTH)
            if seen["end"] - seen["warm"] > allowed:
                failed.append(f"{name} grew from {seen['warm']:.0f} MB to {seen['end']:.0f} MB "
                              f"(allowed: {allowed:.0f} MB more)")
        return failed


def cache_mb(size: str) -> float:
    units = {"K": 1 / 1024, "M": 1.0, "G": 1024.0}
    return float(size[:-1]) * units[size[-1].upper()] if size[-1].upper() in units else float(size) / 2**20


def run(incidents: int = INCIDENTS, rate: float = RATE, window: int = WINDOW, villages: int = VILLAGES,
        archive_after: float = ARCHIVE_AFTER, log_dir: Path | None = None, amqp_uri: str | None = None,
        extra_env: dict[str, str] | None = None) -> Soak:
    """The run; `amqp_uri`: a vhost to use (the tests' own), else a throwaway one on the local broker."""
    window = min(window, max(1, incidents // 10))
    warm_up = min(math.ceil(rate * (archive_after + ARCHIVE_SWEEP_SECONDS)), incidents - 2 * window)
    log_dir = log_dir or PROJECT_ROOT / "var" / "soak" / time.strftime("%Y%m%d-%H%M%S")
    log_dir.mkdir(parents=True, exist_ok=True)
    storage = tempfile.mkdtemp(prefix="siaga-soak-mongo-", dir=DB_DIR or log_dir)
    try:
        with EmbeddedMongo(storage, log_path=str(log_dir / "mongo.log"), cache_size=DB_CACHE) as mongo:
            if amqp_uri:
                soak = _run(amqp_uri, mongo.uri, incidents, rate, window, warm_up, villages, archive_after, log_dir,
                            extra_env)
            else:
                with throwaway_vhost() as vhost:
                    soak = _run(vhost, mongo.uri, incidents, rate, window, warm_up, villages, archive_after,
                                log_dir, extra_env)
            soak.db_files_mb = sum(f.stat().st_size for f in Path(storage).rglob("*") if f.is_file()) / 2**20
            return soak
    finally:
        shutil.rmtree(storage, ignore_errors=True)


def _run(amqp_uri: str, mongo_uri: str, incidents: int, rate: float, window: int, warm_up: int, villages: int,
         archive_after: float, log_dir: Path, extra_env: dict[str, str] | None) -> Soak:
    soak = Soak(incidents, rate, window, max(warm_up, 0))
    places = bench_villages(villages)
    run_id = uuid.uuid4().hex[:6]
    databases = {f"{service.upper()}_MONGO_DATABASE": f"soak{run_id}_{service}"
                 for service in ("reports", "dispatch", "notify", "console", "community")}
    env = {"LOG_LEVEL": "WARNING", **UNBOUNDED_SPENDING} | databases | archive_env(archive_after)
    simulator = ("--auto-reply", "SELESAI {number}", "--reply-delay", "1")
    system = System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, log_dir=log_dir, extra_env=env | (extra_env or {}),
                    gateway_simulator=True, simulator_args=simulator)
    with system, closing(connect(mongo_uri)) as client:
        roster = bench_roster(places)
        for chunk in range(0, len(roster), ROSTER_CHUNK):
            load_roster(mongo_uri, system.database_name("dispatch"), roster[chunk:chunk + ROSTER_CHUNK])
        pids = {name: process.pid for name, process in system.processes.items()}
        pids |= {name: pid for name, pid in (("database", database_pid(mongo_uri)), ("rabbitmq", broker_pid()))
                 if pid}
        village = cycle(places)

        def make(i: int) -> tuple[str, dict]:
            body = incident(next(village))
            return report_key(body), body

        sent: dict[str, float] = {}
        done: dict[str, float] = {}
        twentieth = max(1, incidents // 20)

        def on_sent(i: int) -> None:
            moment = {soak.warm_up + window - 1: "warm", incidents // 2: "middle"}.get(i)
            if moment:
                read_memory(soak, pids, moment)
            if (i + 1) % twentieth == 0:
                database = f"; database {resident_mb(pids['database']):.0f} MB" if "database" in pids else ""
                print(f"  {i + 1:,} of {incidents:,} incidents published; {progress(client, system)}; "
                      f"{previous_twentieth(sent, done, i + 1, twentieth)}{database}", flush=True)

        began, cpu = time.perf_counter(), {name: cpu_seconds(pid) for name, pid in pids.items()}
        steady_load(amqp_uri, make, "intake.events", "incident_reported", ("notify.events", "sms_requested"),
                    officer_sms_report, rate, incidents, on_sent=on_sent, sent=sent, done=done)
        soak.seconds = time.perf_counter() - began
        read_memory(soak, pids, "end")
        soak.cpu_ms = {name: 1000 * (cpu_seconds(pid) - cpu[name]) / incidents for name, pid in pids.items()
                       if os.path.exists(f"/proc/{pid}")}
        order = list(sent)  # in the order published
        soak.first = latencies({k: sent[k] for k in order[soak.warm_up:soak.warm_up + window]}, done)
        soak.last = latencies({k: sent[k] for k in order[-window:]}, done)
        archived(client[system.database_name("reports")].reports_archive, order[0], archive_after + 30)
        soak.collections = collection_sizes(client, system)
        soak.reports_held = len(held(client[system.database_name("reports")].reports))
        soak.duplicates = count_both(client[system.database_name("reports")].reports, {"intake_status": DUPLICATE})
        soak.archived_read = open311_status(system, order[0])
        soak.commands = database_commands(system)
    return soak


def progress(client, system: System) -> str:
    """Where the SMS archive stands: how many SMS are live, how many of those are settled, and how long ago the
    longest-settled one settled (the sweep's lag behind the archive age)."""
    notifications = client[system.database_name("notify")].notifications
    live = notifications.estimated_document_count()
    settled = notifications.count_documents({"settled_at": {"$exists": True}}, hint="settled_at")
    oldest = notifications.find_one({"settled_at": {"$exists": True}}, {"settled_at": 1}, sort=[("settled_at", 1)])
    lag = (datetime.now(timezone.utc) - oldest["settled_at"].replace(tzinfo=timezone.utc)).total_seconds() \
        if oldest else 0.0
    archived = metric_total(system, "notify", "siaga_archived_documents_total", collection="notifications")
    return f"SMS live {live:,} (settled {settled:,}, the oldest {lag:.0f} s ago), archived {archived:,.0f}"


def previous_twentieth(sent: dict[str, float], done: dict[str, float], published: int, twentieth: int) -> str:
    """p50 and p99 of the twentieth published before the latest one: long done by now, so its tail is whole
    (when in the run the latency rose)."""
    if published < 2 * twentieth:
        return "latency of the previous twentieth: not yet"
    keys = list(sent)[published - 2 * twentieth:published - twentieth]
    figures = latencies({k: sent[k] for k in keys}, done)
    return (f"the previous twentieth p50 {figures['p50']:.0f} ms, p99 {figures['p99']:.0f} ms "
            f"({figures['completed']:,} of {figures['sent']:,})")


def read_memory(soak: Soak, pids: dict[str, int], moment: str) -> None:
    for name, pid in pids.items():
        try:
            soak.memory.setdefault(name, {})[moment] = resident_mb(pid)
        except (OSError, StopIteration):  # a process gone, or dead and not yet reaped (no VmRSS): its figure
            # is missing, which the print shows
            pass


def archived(collection, report_id: str, patience: float) -> bool:
    """Wait (up to `patience` s) until the report is in the archive: the first is by the end of the run."""
    deadline = time.monotonic() + patience
    while collection.find_one({"_id": report_id}, {"_id": 1}) is None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.5)
    return True


def collection_sizes(client, system: System) -> dict[str, tuple[int, int | None]]:
    """(live, archived) of each archived collection, then (size, None) of those that grow unarchived."""
    sizes: dict[str, tuple[int, int | None]] = {}
    for service, collection in COLLECTIONS.items():
        db = client[system.database_name(service)]
        sizes[collection] = (db[collection].estimated_document_count(),
                             db[f"{collection}_archive"].estimated_document_count())
    for service, collections in UNARCHIVED.items():
        for collection in collections:
            sizes[collection] = (client[system.database_name(service)][collection].estimated_document_count(), None)
    return sizes


def metric_samples(system: System, service: str):
    """The samples of one service's metrics, as it serves them."""
    text = requests.get(f"http://{system.metrics_addresses[service]}/metrics", timeout=10).text
    return (sample for family in text_string_to_metric_families(text) for sample in family.samples)


def metric_total(system: System, service: str, name: str, **labels: str) -> float:
    """A counter of one service, summed over the labels not given. From its metrics, not the database: the
    embedded server counts a collection by reading it (0.75 s for 93,000 archived SMS, with the services'
    commands waiting behind it), which would slow the run it measures more the longer it ran."""
    return sum(sample.value for sample in metric_samples(system, service)
               if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()))


def database_commands(system: System) -> dict[tuple[str, str], tuple[float, float]]:
    """(service, command) → (how many, seconds in all), as each service's metrics counted them over its life."""
    totals: dict[tuple[str, str], tuple[float, float]] = {}
    for name in system.metrics_addresses:
        try:
            samples = list(metric_samples(system, name))
        except requests.RequestException:
            continue
        for sample in samples:
            if sample.name in ("siaga_db_command_seconds_count", "siaga_db_command_seconds_sum"):
                key = (sample.labels["service"], sample.labels["command"])
                count, seconds = totals.get(key, (0.0, 0.0))
                totals[key] = (count + sample.value, seconds) if sample.name.endswith("_count") \
                    else (count, seconds + sample.value)
    return totals


def open311_status(system: System, report_id: str) -> str:
    """What Open311 GET says of a report (the run's first, archived by the end)."""
    url = f"http://{system.http_addresses['reports']}/open311/v2/requests/{report_id}.json"
    response = requests.get(url, timeout=10)
    return f"{response.status_code} {response.json()[0]['status'] if response.ok else response.text[:80]}"


def print_soak(soak: Soak) -> None:
    print(f"\nsoak: {soak.incidents:,} incidents offered at {soak.rate:g}/s, published and answered in "
          f"{soak.seconds:.0f} s; windows of {soak.window:,}, the first after {soak.warm_up:,} (archiving started)")
    print(f"  {'window':<8} {'done/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'no SMS':>7}")
    for name, figures in (("first", soak.first), ("last", soak.last)):
        print(f"  {name:<8} {figures['rate']:7.1f} {figures['p50']:7.1f} {figures['p99']:7.1f} "
              f"{figures['sent'] - figures['completed']:7d}")
    print(f"  last/first: rate {soak.last['rate'] / soak.first['rate']:.2f}, "
          f"p99 {soak.last['p99'] / soak.first['p99']:.2f}")
    print(f"  {'process':<14} {'RSS warm MB':>11} {'middle MB':>10} {'end MB':>8} {'CPU ms/incident':>16}")
    for name, seen in soak.memory.items():
        print(f"  {name:<14} " + " ".join(f"{seen.get(m, float('nan')):{w}.1f}"
                                         for m, w in (("warm", 11), ("middle", 10), ("end", 8)))
              + f" {soak.cpu_ms.get(name, float('nan')):16.1f}")
    busy = sum(ms for name, ms in soak.cpu_ms.items()) * soak.incidents / max(soak.seconds, 1e-9) / 1000
    print(f"  cores busy: {busy:.2f} of {os.cpu_count()} (these processes, RabbitMQ's share of others' work too)")
    print(f"  {'collection':<18} {'live':>8} {'archived':>9}")
    for collection, (live, moved) in soak.collections.items():
        print(f"  {collection:<18} {live:8,} {'(not archived)' if moved is None else f'{moved:9,}'}")
    if soak.commands:
        print(f"  {'database commands':<30} {'per incident':>12} {'ms each':>8}")
        for (service, command), (count, seconds) in sorted(soak.commands.items(), key=lambda kv: -kv[1][0]):
            if count >= soak.incidents / 10:
                print(f"  {service + ' ' + command:<30} {count / soak.incidents:12.2f} {1000 * seconds / count:8.1f}")
        print(f"  {'all':<30} {sum(c for c, _ in soak.commands.values()) / soak.incidents:12.2f}")
    print(f"  database files at the end: {soak.db_files_mb:,.0f} MB in {DB_DIR or 'the run directory'}")
    print(f"  reports kept, live or archived, each once: {soak.reports_held:,} of {soak.incidents:,}; "
          f"taken as duplicates: {soak.duplicates:,}")
    print(f"  Open311 GET of the first report, archived: {soak.archived_read}")


def main() -> int:
    print(f"soak: {INCIDENTS:,} incidents at {RATE:g}/s (about {INCIDENTS / RATE / 60:.0f} min), archive age "
          f"{ARCHIVE_AFTER:g} s, {VILLAGES} villages and officers, database cache {DB_CACHE}", flush=True)
    soak = run()
    print_soak(soak)
    failed = soak.verdicts()
    for reason in failed:
        print(f"soak: FAILED: {reason}")
    print("soak: " + ("the last window held up against the first, memory flat" if not failed else "see above"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
