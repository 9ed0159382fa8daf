"""What a durable commit costs on the embedded server, and what it saves: inserts per second, and
acknowledged inserts missing after a SIGKILL, for no sync (the old default), each write with `j=true`,
and the server syncing every commit (`--sync-on-commit`, what EmbeddedMongo now runs on disk).

    python -m bench durability
    DURABILITY_CLIENTS=8 DURABILITY_WRITES=200 python -m bench durability
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

from pymongo import MongoClient, WriteConcern

from shared.config import PROJECT_ROOT
from shared.embedded_db import EmbeddedMongo

CLIENTS = [int(n) for n in os.environ.get("DURABILITY_CLIENTS", "1,8").split(",")]
WRITES = int(os.environ.get("DURABILITY_WRITES", "300"))
KILLS = int(os.environ.get("DURABILITY_KILLS", "3"))
MODES = {"no sync, w=1": (False, WriteConcern(w=1)), "j=true per write": (False, WriteConcern(w=1, j=True)),
         "--sync-on-commit": (True, WriteConcern(w=1))}


def insert_rate(collection, clients: int) -> float:
    def write(k: int) -> None:
        for i in range(WRITES):
            collection.insert_one({"_id": f"{k}-{i}", "text": "x" * 200})
    threads = [threading.Thread(target=write, args=(k,)) for k in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return clients * WRITES / (time.perf_counter() - started)


def missing_after_kill(server: EmbeddedMongo, concern: WriteConcern, clients: int, kill: int) -> tuple[int, int]:
    """Insert from `clients` threads, SIGKILL the server mid-flight, restart it on the same data:
    (acknowledged, acknowledged but gone)."""
    collection = MongoClient(server.uri).db.get_collection("killed", write_concern=concern)
    acked: list[str] = []

    def write(k: int) -> None:
        i = 0
        while True:
            key = f"{kill}-{k}-{i}"
            try:
                collection.insert_one({"_id": key})
            except Exception:
                return
            acked.append(key)
            i += 1
    threads = [threading.Thread(target=write, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    server.kill()
    for thread in threads:
        thread.join()
    server.start()
    with MongoClient(server.uri) as client:
        kept = {doc["_id"] for doc in client.db.killed.find({"_id": {"$in": acked}}, {"_id": 1})}
    return len(acked), len(acked) - len(kept)


def main() -> None:
    print(f"{'mode':<18} {'clients':>7} {'inserts/s':>10} {'acked':>7} {'missing after SIGKILL':>22}")
    for mode, (sync, concern) in MODES.items():
        for clients in CLIENTS:
            path = tempfile.mkdtemp(prefix="durability-", dir=PROJECT_ROOT / "var")
            server = EmbeddedMongo(path, sync_on_commit=sync).start()
            try:
                collection = MongoClient(server.uri).db.get_collection("rate", write_concern=concern)
                rate = insert_rate(collection, clients)
                losses = [missing_after_kill(server, concern, clients, kill) for kill in range(KILLS)]
            finally:
                server.stop()
                shutil.rmtree(path, ignore_errors=True)
            acked, missing = sum(a for a, _ in losses), sum(m for _, m in losses)
            print(f"{mode:<18} {clients:>7} {rate:10.0f} {acked:7d} {missing:>15d} in {KILLS} kills")


if __name__ == "__main__":
    main()
