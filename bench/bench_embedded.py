"""The embedded server's write rate as writes accumulate, with and without retryable writes.

SecantusDB keeps the reply of every retryable write (pymongo's default) for 30 minutes and, on
each write, scans that list; past 10,000 records it sorts them all. Its write rate therefore falls
with every write since start-up, which is what slowed the whole pipeline to a few incidents a
second after some thousands. The project's clients of the embedded server turn retryable writes off
(shared/embedded_db.py); this prints why.

    python -m bench embedded           # EMBEDDED_WRITES=12000 by default
"""
from __future__ import annotations

import os
import time

from pymongo import MongoClient

from shared.embedded_db import MEMORY, EmbeddedMongo

WRITES = int(os.environ.get("EMBEDDED_WRITES", "12000"))
STEP = 2000


def write_rates(uri: str, retry_writes: bool) -> list[float]:
    """Inserts per second over each successive block of STEP writes."""
    with MongoClient(uri, retryWrites=retry_writes) as client:
        collection = client.bench.writes
        rates, started = [], time.perf_counter()
        for i in range(WRITES):
            collection.insert_one({"_id": i, "n": i})
            if (i + 1) % STEP == 0:
                now = time.perf_counter()
                rates.append(STEP / (now - started))
                started = now
        return rates


def main() -> None:
    print(f"embedded SecantusDB, one client, {WRITES} insert_one in blocks of {STEP}: inserts/s per block")
    for retry_writes in (False, True):
        with EmbeddedMongo(MEMORY) as server:
            rates = write_rates(server.uri, retry_writes)
        print(f"  retryWrites={str(retry_writes).lower():<5} " + " ".join(f"{rate:6.0f}" for rate in rates))


if __name__ == "__main__":
    main()
