"""How long choosing an officer takes at 1k, 10k and 100k officers.

    python -m bench dispatch        # about 45 s on 2 cores, the 100k roster loaded in about 30 s

Two figures per roster size, because they have different owners:
- the pure choice (CPU): the area lookup, the H3 ring around the report, and `choice.choose` over
  the officers the ring holds — what dispatch itself costs;
- the database queries of the hot path on the embedded Mongo-wire server: the indexed area query
  and the ring query (`cell $in …`) — what a round trip costs here.
Reports fall where no area officer serves, so every choice takes the nearest-officer fallback (the
slow path). Officers are spread over Java (realistic density: ~0.8/km² at 100k) and, as a worst
case, packed into Jakarta.
"""
from __future__ import annotations

import random
import statistics
import time
from collections import defaultdict
from datetime import datetime, timedelta, timezone

from services.dispatch import choice, geo
from services.dispatch import officers as officer_rules
from services.dispatch.settings import Settings
from services.dispatch.storage import DispatchStore
from shared.embedded_db import EmbeddedMongo
from shared.mongo import connect

SETTINGS = Settings()
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=timezone.utc)
JAVA = ((-8.2, -6.1), (105.8, 114.4))
JAKARTA = ((-6.37, -6.09), (106.69, 106.97))
SKILLS = ("first_aid", "traffic", "investigation", "crowd_control", "ppa", "armed_response")
REPORTS = 300
DB_REPORTS = 100


def synthetic_roster(count: int, box, rng: random.Random) -> list[dict]:
    (lat0, lat1), (lon0, lon1) = box
    officers = []
    for i in range(count):
        lat, lon = rng.uniform(lat0, lat1), rng.uniform(lon0, lon1)
        officer = {
            "_id": f"{60000000 + i}", "name": f"Officer {i}", "rank": "Brigpol",
            "role": rng.choice(("patrol_unit", "bhabinkamtibmas", "polisi_rw")), "polsek": "31.71.06",
            "areas": [f"31.71.06.{1001 + i % 3}/RW{(i // 3) % 99 + 1:02d}"], "skills": rng.sample(SKILLS, 2),
            "phone": "+6281100000000", "status": rng.choice(("available", "available", "assigned", "off_duty")),
            "assignment_id": None, "shifts": rng.choice(([], ["daily 06:00-18:00"], ["daily 18:00-06:00"])),
            "status_reported_at": officer_rules.NEVER,
        }
        officer = officer_rules.located(officer, lat, lon, NOW - timedelta(seconds=rng.uniform(0, 1800)),
                                 SETTINGS.h3_resolution)
        free_cell = officer["cell"] if officer["status"] == "available" else None
        keys = officer_rules.lookup_keys(officer, SETTINGS.h3_resolution)
        officers.append(officer | {"keys": keys, "free_cell": free_cell})
    return officers


def report_places(box, rng: random.Random) -> list[dict]:
    (lat0, lat1), (lon0, lon1) = box
    # Gondangdia (1004) has no officer of its own here: the area rules find nobody, the ring decides
    return [{"lat": rng.uniform(lat0, lat1), "lon": rng.uniform(lon0, lon1), "village_code": "31.71.06.1004",
             "rw": 3} for _ in range(REPORTS)]


def figures(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"median {statistics.median(ordered) * 1000:7.3f} ms   p99 {p99 * 1000:7.3f} ms"


def bench_pure(officers: list[dict], places: list[dict]) -> tuple[list[float], float]:
    by_cell, by_key = defaultdict(list), defaultdict(list)
    for officer in officers:  # the same index the database keeps: free officers by cell
        by_cell[officer["free_cell"]].append(officer)
        for key in officer["keys"]:
            by_key[key].append(officer)
    samples, seen = [], 0
    for place in places:
        start = time.perf_counter()
        request = {"place": place, "skills": ["first_aid"], "reporting_officer_nrp": None}
        area = [o for key in choice.request_keys(request) for o in by_key.get(key, ())]
        cells = geo.cells_within(place["lat"], place["lon"], SETTINGS.nearest_radius_m, SETTINGS.h3_resolution)
        nearby = [o for cell in cells for o in by_cell.get(cell, ()) if "first_aid" in o["skills"]]
        choice.choose(place, area, "bench", now=NOW, skills=["first_aid"], nearby=nearby, settings=SETTINGS)
        samples.append(time.perf_counter() - start)
        seen += len(nearby)
    return samples, seen / len(places)


def bench_db(store: DispatchStore, places: list[dict]) -> tuple[list[float], list[float]]:
    area_times, ring_times = [], []
    for place in places[:DB_REPORTS]:
        start = time.perf_counter()
        store.officers_by_keys(choice.request_keys({"place": place, "reporting_officer_nrp": None}))
        area_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        store.officers_near(place, ["first_aid"])
        ring_times.append(time.perf_counter() - start)
    return area_times, ring_times


def main() -> None:
    rng = random.Random(110)
    ring = geo.ring_size(SETTINGS.nearest_radius_m, SETTINGS.h3_resolution)
    print(f"radius {SETTINGS.nearest_radius_m:.0f} m, H3 resolution {SETTINGS.h3_resolution}, ring k={ring} "
          f"({1 + 3 * ring * (ring + 1)} cells); {REPORTS} reports (pure), {DB_REPORTS} (database)")
    cases = [("Java", JAVA, 1_000), ("Java", JAVA, 10_000), ("Java", JAVA, 100_000),
             ("Jakarta", JAKARTA, 1_000), ("Jakarta", JAKARTA, 10_000)]
    with EmbeddedMongo(":memory:") as server:
        client = connect(server.uri)
        for n, (where, box, count) in enumerate(cases):
            officers, places = synthetic_roster(count, box, rng), report_places(box, rng)
            samples, in_ring = bench_pure(officers, places)
            print(f"{count:>7,} officers over {where:<8} pure choice   {figures(samples)}"
                  f"   ({in_ring:.0f} officers in the ring on average)", flush=True)
            store = DispatchStore(client[f"bench_dispatch_{n}"], SETTINGS)
            store.ensure_indexes()
            loading = time.perf_counter()
            for start in range(0, len(officers), 5_000):
                store.db.officers.insert_many(officers[start:start + 5_000], ordered=False)
            loaded = time.perf_counter() - loading
            area_times, ring_times = bench_db(store, places)
            print(f"{'':>7}  {'':<21} area query    {figures(area_times)}   (roster loaded, indexed, in "
                  f"{loaded:.0f} s)")
            print(f"{'':>7}  {'':<21} ring query    {figures(ring_times)}", flush=True)
            client.drop_database(store.db.name)
        client.close()
