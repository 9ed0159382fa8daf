"""The near-duplicate check as stored reports grow: median and p99 at 10k and 100k reports, and on to 1M.

    python -m bench dedup
    DEDUP_SIZES=10000,100000,1000000 python -m bench dedup   # 1M: about 8-10 min of loading on 2 cores

Reports are spread like a province's: 20 towns, points within a few km of each town centre,
every category, received over the last 30 days (5% in the last 3 hours, so that new incidents in
a town centre do find originals), about 80% of them still open (the worst case for
the check: closed reports are filtered out by status, not by the index). Each probe is what
intake does for a new incident: one lookup (`ReportStore.open_near`) and the exact distance
check (`dedup.choose_original`). Each step also prints the server's own account of one probe
(`explain`: plan, documents examined), which says whether the cost can grow with the archive.
Runs on the embedded server unless MONGO_URI is set.

Where it runs: the embedded server on a data directory of its own (no log sync per commit: nothing here
needs to survive a crash), never `:memory:`. That is WiredTiger's in-memory engine, whose cache must hold
every document and index entry (1 GB by default, DEDUP_DB_CACHE): 1M reports do not fit, and the server
answers the write that overflows it with "internal server error" (its log: "WT_CACHE_FULL: operation would
overflow cache"). On disk the cache only holds what is being worked on.

Loading: the indexes are made first, as the service makes them, and the reports go in with insert_many
in batches of 1,000, each a transaction of its own. Building an index over reports already stored is
faster for a small collection, but the server builds it in one go, holding every entry (4M dedup keys at 1M
reports) in memory and in one transaction until the end; the chunked inserts never hold more than a batch.
"""
from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone

from services.reports import dedup, domain
from services.reports.settings import IntakeSettings
from services.reports.storage import ReportStore
from shared.categories import CATEGORIES
from shared.config import PROJECT_ROOT
from shared.embedded_db import EmbeddedMongo
from shared.lifecycle import CLOSED_STATUSES
from shared.mongo import connect

SIZES = tuple(int(size) for size in os.environ.get("DEDUP_SIZES", "10000,100000").split(","))
PROBES = int(os.environ.get("DEDUP_PROBES", "300"))
BATCH = 1_000  # an insert_many the embedded server writes in one transaction (its own chunk)
CACHE = os.environ.get("DEDUP_DB_CACHE", "1G")
TOWNS = [(random.Random(i).uniform(-8.0, 3.5), random.Random(i + 99).uniform(98.0, 125.0)) for i in range(20)]
RULES = IntakeSettings()


def random_report(rng: random.Random, now: datetime, spread: float = 0.03) -> dict:
    lat0, lon0 = rng.choice(TOWNS)
    category = rng.choice(list(CATEGORIES))
    has_point = rng.random() < 0.8
    place = {"lat": lat0 + rng.gauss(0, spread) if has_point else None,
             "lon": lon0 + rng.gauss(0, spread) if has_point else None,
             "village_code": f"31.71.0{rng.randrange(1, 9)}.{1001 + rng.randrange(200)}",
             "village_name": None, "rw": None, "address": None}
    report_id = str(uuid.uuid4())
    received_at = now - timedelta(seconds=rng.uniform(0, 3 * 3600 if rng.random() < 0.05 else 30 * 86400))
    return {"_id": report_id, "number": domain.report_number(report_id), "category": category, "place": place,
            "status": "received" if rng.random() < 0.8 else rng.choice(CLOSED_STATUSES), "received_at": received_at,
            "dedup_keys": dedup.index_keys(category, place, received_at, RULES.window_for(category)), "history": []}


def probe(store: ReportStore, report: dict) -> tuple[float, bool]:
    started = time.perf_counter()
    found = dedup.choose_original(report, store.open_near(dedup.dedup_query(report, RULES)), RULES)
    return (time.perf_counter() - started) * 1000, found is not None


def run(store: ReportStore, rng: random.Random, now: datetime) -> None:
    stored = 0
    for size in SIZES:
        stored, load = load_to(store, size, stored, rng, now)
        timings, hits = [], 0
        for _ in range(PROBES):
            elapsed, hit = probe(store, new_incident(rng, now))
            timings.append(elapsed)
            hits += hit
        timings.sort()
        p99 = timings[min(len(timings) - 1, int(len(timings) * 0.99))]
        print(f"{size:>9,} stored reports: duplicate check median {statistics.median(timings):7.2f} ms, "
              f"p99 {p99:7.2f} ms  ({PROBES} probes, {hits} found an original; {load})", flush=True)
        print(f"{'':>9}  one probe as the server runs it: {explained(store, rng, now)}", flush=True)


def new_incident(rng: random.Random, now: datetime) -> dict:
    return random_report(rng, now, spread=0.004) | {"status": "received", "received_at": now}


def load_to(store: ReportStore, size: int, stored: int, rng: random.Random, now: datetime) -> tuple[int, str]:
    """Grow the collection to `size` reports, its indexes kept up as the service keeps them."""
    started, before = time.perf_counter(), stored
    store.ensure_indexes()
    while stored < size:
        batch = [random_report(rng, now) for _ in range(min(BATCH, size - stored))]
        store.db.reports.insert_many(batch, ordered=False)
        stored += len(batch)
    took = time.perf_counter() - started
    return stored, f"this step loaded {stored - before:,} in {took:.0f} s, {(stored - before) / took:,.0f}/s"


def explained(store: ReportStore, rng: random.Random, now: datetime) -> str:
    """The server's explain of one probe's filter (the filter `ReportStore.open_near` sends)."""
    query = None
    while query is None:  # some categories are never merged
        query = dedup.dedup_query(new_incident(rng, now), RULES)
    plan = store.db.reports.find(store.near_filter(query)).explain()
    stats, winning = plan.get("executionStats", {}), plan.get("queryPlanner", {}).get("winningPlan", {})
    stages = []
    while winning:
        stages.append(winning.get("stage", "?") + (f"({winning['indexName']})" if winning.get("indexName") else ""))
        winning = winning.get("inputStage")
    return (f"{' <- '.join(stages)}, {stats.get('totalKeysExamined')} index keys and "
            f"{stats.get('totalDocsExamined')} documents examined for {stats.get('nReturned')} returned")


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
    scratch = PROJECT_ROOT / "var" / "bench"
    scratch.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mongo-dedup-", dir=scratch) as storage, \
            EmbeddedMongo(storage, sync_on_commit=False, cache_size=CACHE) as server:
        client = connect(server.uri)
        _run_in(client, database, rng, now)
        client.close()


def _run_in(client, database: str, rng: random.Random, now: datetime) -> None:
    run(ReportStore(client[database]), rng, now)


if __name__ == "__main__":
    main()
