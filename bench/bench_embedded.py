"""The embedded server's write rate as writes accumulate, with and without retryable writes; and what a
write or a lookup costs when several share one command (shared/grouped_inserts.py,
shared/grouped_lookups.py).

SecantusDB keeps the reply of every retryable write (pymongo's default) for 30 minutes and, on
each write, scans that list; past 10,000 records it sorts them all. Its write rate therefore falls
with every write since start-up, which is what slowed the whole pipeline to a few incidents a
second after some thousands. The project's clients of the embedded server turn retryable writes off
(shared/embedded_db.py); this prints why.

    python -m bench embedded           # EMBEDDED_WRITES=12000 by default
"""
from __future__ import annotations

import os
import tempfile
import time
import uuid

from pymongo import ASCENDING, MongoClient, UpdateOne

from bench.bench_pipeline import cpu_seconds
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


def grouped_costs(documents: int = 2000) -> None:
    """On disk, synced per commit as the services run it, into a collection with four indexes beside
    `_id` (as the SMS records have): the server's CPU and the wall time per document, by documents per command."""
    print(f"\nembedded SecantusDB on disk, {documents} documents of ~400 bytes, 4 indexes: per document")
    with tempfile.TemporaryDirectory() as directory, EmbeddedMongo(directory) as server, \
            MongoClient(server.uri, w="majority") as client:
        collection = client.bench.grouped
        for field in "abcd":
            collection.create_index([(field, ASCENDING)], name=field)
        for per_command in (1, 2, 5, 10):
            cpu, started = cpu_seconds(server.process.pid), time.perf_counter()
            for first in range(0, documents, per_command):
                batch = [{"_id": uuid.uuid4().hex, "a": i, "b": str(i), "c": i % 7, "d": time.time(), "text": "x" * 300}
                         for i in range(first, first + per_command)]
                collection.insert_many(batch, ordered=False) if per_command > 1 else collection.insert_one(batch[0])
            wall, cpu = time.perf_counter() - started, cpu_seconds(server.process.pid) - cpu
            print(f"  {per_command:2d} per command: server CPU {cpu / documents * 1000:5.2f} ms, "
                  f"wall {wall / documents * 1000:5.2f} ms")


def grouped_lookup_costs(lookups: int = 1200) -> None:
    """Dispatch's area-officer lookup (a few keys, two officers found) and intake's duplicate check (a few
    dozen keys, nothing found) against 5,000 indexed documents: the server's CPU and this client's per
    lookup, by lookups per command (shared/grouped_lookups.py)."""
    print(f"\nembedded SecantusDB on disk, 5,000 officers indexed by keys, {lookups} lookups: per lookup")
    with tempfile.TemporaryDirectory() as directory, EmbeddedMongo(directory) as server, \
            MongoClient(server.uri, w="majority") as client:
        collection = client.bench.officers
        collection.create_index([("keys", ASCENDING)], name="keys")
        collection.insert_many([{"_id": f"{i:08d}", "keys": [f"v{i}", f"v{i}/RW01", f"nrp:{i}"]
                                 + ([f"desk:{i // 20}"] if i % 20 == 0 else []), "role": "bhabinkamtibmas",
                                 "name": f"Bripka {i}", "skills": ["investigation"], "text": "x" * 200}
                                for i in range(5000)])
        shapes = {"area officers": lambda i: [f"v{i % 4900}", f"v{i % 4900}/RW01", f"desk:{i % 4900 // 20}"],
                  "duplicate check": lambda i: [f"curanmor|{i}|{hour}" for hour in range(24)]}
        for shape, keys_of in shapes.items():
            for per_command in (1, 5, 10):
                server_cpu, own_cpu = cpu_seconds(server.process.pid), time.process_time()
                for first in range(0, lookups, per_command):
                    keys = [key for i in range(first, first + per_command) for key in keys_of(i)]
                    list(collection.find({"keys": {"$in": keys}}))
                server_cpu = cpu_seconds(server.process.pid) - server_cpu
                own_cpu = time.process_time() - own_cpu
                print(f"  {shape:<16} {per_command:2d} per command: server CPU {server_cpu / lookups * 1000:5.2f} ms, "
                      f"client CPU {own_cpu / lookups * 1000:5.2f} ms")


def grouped_update_costs(updates: int = 1200) -> None:
    """Dispatch's claim of a free officer (a compare-and-set on a document with four secondary indexes):
    the server's CPU and this client's per update, by updates per command (shared/grouped_updates.py)."""
    print(f"\nembedded SecantusDB on disk, officers with 4 secondary indexes, {updates} claims: per update")
    with tempfile.TemporaryDirectory() as directory, EmbeddedMongo(directory) as server, \
            MongoClient(server.uri, w="majority") as client:
        collection = client.bench.officers
        for field in ("keys", "free_cell", "polsek", "phone"):
            collection.create_index([(field, ASCENDING)], name=field)
        collection.insert_many([{"_id": f"{i:08d}", "keys": [f"v{i}", f"nrp:{i}"], "free_cell": f"cell{i % 300}",
                                 "polsek": f"p{i % 40}", "phone": f"+6281{i:08d}", "status": "available",
                                 "assignment_id": None, "text": "x" * 200} for i in range(3 * updates)])
        first_free = 0
        for per_command in (1, 5, 10):
            server_cpu, own_cpu = cpu_seconds(server.process.pid), time.process_time()
            for first in range(first_free, first_free + updates, per_command):
                claims = [({"_id": f"{i:08d}", "assignment_id": None, "status": "available"},
                           {"$set": {"status": "assigned", "assignment_id": f"a{i}", "free_cell": f"claim:a{i}"}})
                          for i in range(first, first + per_command)]
                if per_command == 1:
                    collection.update_one(*claims[0])
                else:
                    collection.bulk_write([UpdateOne(*claim) for claim in claims], ordered=False)
            first_free += updates
            server_cpu = cpu_seconds(server.process.pid) - server_cpu
            own_cpu = time.process_time() - own_cpu
            print(f"  {per_command:2d} per command: server CPU {server_cpu / updates * 1000:5.2f} ms, "
                  f"client CPU {own_cpu / updates * 1000:5.2f} ms")


def main() -> None:
    print(f"embedded SecantusDB, one client, {WRITES} insert_one in blocks of {STEP}: inserts/s per block")
    for retry_writes in (False, True):
        with EmbeddedMongo(MEMORY) as server:
            rates = write_rates(server.uri, retry_writes)
        print(f"  retryWrites={str(retry_writes).lower():<5} " + " ".join(f"{rate:6.0f}" for rate in rates))
    grouped_costs()
    grouped_lookup_costs()
    grouped_update_costs()


if __name__ == "__main__":
    main()
