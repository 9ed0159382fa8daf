"""The near-duplicate check as stored reports grow: median and p99 at 10k and 100k reports.

    python -m bench dedup

Reports are spread like a province's: 20 towns, points within a few km of each town centre,
every category, received over the last 30 days (5% in the last 3 hours, so that new incidents in
a town centre do find originals), about 80% of them still open (the worst case for
the check: closed reports are filtered out by status, not by the index). Each probe is what
intake does for a new incident: one indexed lookup (`ReportStore.open_near`) and the exact
distance check (`domain.choose_original`). Runs on the embedded server unless MONGO_URI is set.
"""
from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from datetime import datetime, timedelta, timezone

from services.reports import domain
from services.reports.storage import ReportStore
from shared.categories import CATEGORIES
from shared.embedded_db import EmbeddedMongo
from shared.mongo import connect

SIZES = (10_000, 100_000)
PROBES = 300
BATCH = 5_000
TOWNS = [(random.Random(i).uniform(-8.0, 3.5), random.Random(i + 99).uniform(98.0, 125.0)) for i in range(20)]
CLOSED = ("resolved", "cancelled", "duplicate")
RULES = domain.Rules()


def random_report(rng: random.Random, now: datetime, spread: float = 0.03) -> dict:
    lat0, lon0 = rng.choice(TOWNS)
    category = rng.choice(list(CATEGORIES))
    has_point = rng.random() < 0.8
    place = {"lat": lat0 + rng.gauss(0, spread) if has_point else None,
             "lon": lon0 + rng.gauss(0, spread) if has_point else None,
             "village_code": f"31.71.0{rng.randrange(1, 9)}.{1001 + rng.randrange(200)}",
             "village_name": None, "rw": None, "address": None}
    report_id = str(uuid.uuid4())
    return {"_id": report_id, "number": domain.report_number(report_id), "category": category, "place": place,
            "status": "received" if rng.random() < 0.8 else rng.choice(CLOSED),
            "received_at": now - timedelta(seconds=rng.uniform(0, 3 * 3600 if rng.random() < 0.05 else 30 * 86400)),
            "dedup_keys": domain.index_keys(category, place), "history": []}


def probe(store: ReportStore, report: dict) -> tuple[float, bool]:
    started = time.perf_counter()
    found = domain.choose_original(report, store.open_near(domain.dedup_query(report, RULES)), RULES)
    return (time.perf_counter() - started) * 1000, found is not None


def run(store: ReportStore, rng: random.Random, now: datetime) -> None:
    stored = 0
    for size in SIZES:
        started = time.perf_counter()
        while stored < size:
            batch = [random_report(rng, now) for _ in range(min(BATCH, size - stored))]
            store.db.reports.insert_many(batch, ordered=False)
            stored += len(batch)
        loaded_in = time.perf_counter() - started
        timings, hits = [], 0
        for _ in range(PROBES):
            report = random_report(rng, now, spread=0.004) | {"status": "received", "received_at": now}
            elapsed, hit = probe(store, report)
            timings.append(elapsed)
            hits += hit
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        print(f"{size:>7,} stored reports: duplicate check median {statistics.median(timings):6.2f} ms, "
              f"p99 {p99:6.2f} ms  ({PROBES} probes, {hits} found an original; "
              f"bulk load of this step {loaded_in:.1f} s)", flush=True)


def main() -> None:
    rng = random.Random(7)
    now = datetime.now(timezone.utc)
    database = f"bench_dedup_{uuid.uuid4().hex[:8]}"
    if os.environ.get("MONGO_URI"):
        client = connect(os.environ["MONGO_URI"])
        try:
            _run_in(client, database, rng, now)
        finally:
            client.drop_database(database)
            client.close()
        return
    with EmbeddedMongo(":memory:") as server:
        client = connect(server.uri)
        _run_in(client, database, rng, now)
        client.close()


def _run_in(client, database: str, rng: random.Random, now: datetime) -> None:
    store = ReportStore(client[database])
    store.ensure_indexes()
    run(store, rng, now)


if __name__ == "__main__":
    main()
