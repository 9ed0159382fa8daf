"""Village from coordinates at national scale: lookup p50/p99 and memory per loaded province.

    python -m bench boundaries
    SIAGA_FULL_BOUNDARIES=/path/to/boundaries python -m bench boundaries   # the whole country
    BOUNDARY_PROVINCES=31,32 python -m bench boundaries                     # some provinces only

Reads the full data (83,246 villages, 45 MB gzipped) from SIAGA_FULL_BOUNDARIES, by default
`../shared/data/boundaries` beside the checkout; without it, only the shipped Jakarta file. Each
province is loaded in a fresh child process so its resident memory (RSS after load less RSS before)
is its own; then one process loads them all and answers `BOUNDARY_PROBES` lookups: points drawn
uniformly inside the bounding box of a random village (so most land inside, some between villages),
plus points off a coast for the nearest-village path (`PLACES.NEAREST_VILLAGE_M`).
"""
from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

from shared import boundaries
from shared.config import PROJECT_ROOT

FULL = Path(os.environ.get("SIAGA_FULL_BOUNDARIES", PROJECT_ROOT.parent / "shared" / "data" / "boundaries"))
PROBES = int(os.environ.get("BOUNDARY_PROBES", "20000"))


def rss_kb() -> int:
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) for line in handle if line.startswith("VmRSS:"))


def child(folder: str, provinces: str) -> None:
    """In a fresh process: load the provinces, print {villages, seconds, rss_kb} as JSON."""
    import gc

    import shapely  # noqa: F401  (the library's own memory is not the province's)
    gc.collect()
    before = rss_kb()
    started = time.perf_counter()
    atlas = boundaries.load(Path(folder), tuple(provinces.split(",")))
    seconds = time.perf_counter() - started
    gc.collect()
    print(json.dumps({"villages": len(atlas), "seconds": seconds, "rss_kb": rss_kb() - before,
                      "peak_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


def measure_load(folder: Path, provinces: str) -> dict:
    out = subprocess.run([sys.executable, "-W", "ignore", "-m", "bench.bench_boundaries", "--child", str(folder),
                          provinces], capture_output=True, text=True, check=True, cwd=PROJECT_ROOT)
    return json.loads(out.stdout.strip().splitlines()[-1])


def probes(atlas: boundaries.Atlas, count: int, rng: random.Random) -> list[tuple[float, float]]:
    points = []
    for _ in range(count):
        minx, miny, maxx, maxy = atlas.geometries[rng.randrange(len(atlas))].bounds
        points.append((rng.uniform(miny, maxy), rng.uniform(minx, maxx)))
    return points


def percentiles(samples: list[float]) -> str:
    samples = sorted(samples)
    p = lambda q: samples[min(len(samples) - 1, int(q * len(samples)))] * 1e6  # noqa: E731
    return f"p50 {p(0.50):7.1f} µs  p99 {p(0.99):7.1f} µs  max {samples[-1] * 1e6:8.1f} µs"


def main() -> None:
    folder = FULL if FULL.exists() else boundaries.SHIPPED_DIR
    chosen = os.environ.get("BOUNDARY_PROVINCES")
    provinces = chosen.split(",") if chosen else sorted(p.name[:2] for p in folder.glob("[0-9][0-9].geojsonl.gz"))
    print(f"boundaries from {folder}: {len(provinces)} provinces")
    print(f"{'province':>8} {'villages':>9} {'load s':>7} {'RSS MB':>7} {'KB/village':>10}")
    total_mb = 0.0
    for province in provinces:
        loaded = measure_load(folder, province)
        mb = loaded["rss_kb"] / 1024
        total_mb += mb
        print(f"{province:>8} {loaded['villages']:>9} {loaded['seconds']:>7.2f} {mb:>7.1f} "
              f"{loaded['rss_kb'] / max(loaded['villages'], 1):>10.1f}", flush=True)
    print(f"sum of the provinces' RSS: {total_mb:.0f} MB")

    before = rss_kb()
    started = time.perf_counter()
    atlas = boundaries.load(folder, tuple(provinces))
    print(f"all {len(atlas)} villages in one process: loaded in {time.perf_counter() - started:.1f} s, "
          f"RSS +{(rss_kb() - before) / 1024:.0f} MB")
    rng = random.Random(17)
    settings = boundaries.PlaceSettings()
    timings, inside, nearest, nowhere = [], 0, 0, 0
    for lat, lon in probes(atlas, PROBES, rng):
        started = time.perf_counter()
        found = atlas.village_at(lat, lon, settings.nearest_village_m)
        timings.append(time.perf_counter() - started)
        if found is None:
            nowhere += 1
        elif found.inside:
            inside += 1
        else:
            nearest += 1
    print(f"lookup ({PROBES} points: {inside} inside a village, {nearest} nearest within "
          f"{settings.nearest_village_m:.0f} m, {nowhere} none): {percentiles(timings)}")
    off_coast = [(lat + 0.003, lon) for lat, lon in probes(atlas, 2000, rng)]
    timings = []
    for lat, lon in off_coast:
        started = time.perf_counter()
        atlas.village_at(lat, lon, settings.nearest_village_m)
        timings.append(time.perf_counter() - started)
    timings_nearest = [t for t in timings]
    print(f"lookup, points moved 330 m north (some leave every village): {percentiles(timings_nearest)}")
    started = time.perf_counter()
    sample = rng.sample(atlas.codes, min(2000, len(atlas)))
    for code in sample:
        atlas.neighbours(code)
    print(f"neighbours of a village (first ask, then cached): "
          f"{(time.perf_counter() - started) / len(sample) * 1e6:.0f} µs each")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(sys.argv[2], sys.argv[3])
    else:
        main()
