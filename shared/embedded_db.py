"""Start the embedded MongoDB-wire server (SecantusDB) as a separate process when no MONGO_URI is given.

SecantusDB is GPL-2.0, so it is only ever run as its own process and spoken to over the wire,
exactly like a real mongod; nothing of it is imported.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from pymongo import MongoClient
from pymongo.errors import PyMongoError

MEMORY = ":memory:"
# glibc gives each thread that allocates an arena of its own, up to 8 per core, and the server runs a
# thread per connection: WiredTiger's pages, freed on one thread's arena and wanted on another's, left
# the process holding ever more memory beside its cache. In a 4,000-incident soak with a 48 MB cache
# it grew 54 MB with the default and 38 MB with two arenas, for the same CPU (bench/soak.py).
MALLOC_ARENAS = "2"
# How often the server checkpoints its files on disk (its own default: 60 s; SECANTUS_CHECKPOINT_SECONDS in
# the environment wins). With 60, soaks at 9/s met an episode of 15-45 s some 3 minutes in where each
# document cost the server 30-50 times its usual, and a sweep's delete held its collection 0.4-0.6 s at a
# time with the live updates queued behind it; every 15 s, a 2,600-incident run met none (no lock held or
# waited for over 0.2 s) at the same CPU per incident (README: what holds a collection during the soak).
CHECKPOINT_SECONDS = "15"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command() -> str:
    found = shutil.which("secantusd-py") or str(Path(sys.executable).with_name("secantusd-py"))
    if not Path(found).exists():
        raise RuntimeError(
            "No MONGO_URI given and the embedded server is not installed: "
            "run `make setup` (it installs requirements-local.txt) or set MONGO_URI."
        )
    return found


class EmbeddedMongo:
    """A running SecantusDB process; stop() shuts it down cleanly (data flushed).

    On disk it syncs its log on every commit (`--sync-on-commit`): without, a SIGKILL lost the writes
    acknowledged in its last ~45 ms, after their events had gone out. Server-side rather than each
    client's `j=true`: it covers every write of every client; neither was consistently the faster
    (bench/bench_durability.py).

    auth=True requires a login (SCRAM-SHA-256) as a real deployment's MongoDB does; its users are made
    while it runs without (the server has no localhost exception), then it is restarted with auth."""

    def __init__(self, storage_path: str, port: int | None = None, log_path: str | None = None,
                 auth: bool = False, sync_on_commit: bool | None = None, cache_size: str | None = None):
        self.storage_path = storage_path
        self.cache_size = cache_size  # WiredTiger's cache, e.g. "256M" (the server's default: 1G)
        self.auth = auth
        self.sync_on_commit = storage_path != MEMORY if sync_on_commit is None else sync_on_commit
        self.port = port or free_port()
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        """No retryable writes: the server keeps a reply per retryable write and, on every write, scans
        them all (and past 10,000 sorts them), so inserts fell from ~680/s to ~50/s after 12k writes
        (bench/bench_embedded.py). Nothing is lost without them: a write that fails raises, the message
        is redelivered and every handler is idempotent. A real MongoDB (MONGO_URI) keeps the default."""
        return f"mongodb://127.0.0.1:{self.port}/?retryWrites=false"

    def start(self, timeout: float = 30.0) -> "EmbeddedMongo":
        if self.storage_path != MEMORY:
            Path(self.storage_path).mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        # --standalone: no replica-set persona, so no oplog entry written beside every modified
        # document (change streams and transactions need one; Siaga uses neither).
        self.process = subprocess.Popen(
            [server_command(), "--host", "127.0.0.1", "--port", str(self.port), "--standalone",
             "--storage-path", self.storage_path, "--log-level", "WARNING", *(["--auth"] if self.auth else []),
             *(["--sync-on-commit"] if self.sync_on_commit else []),
             *(["--cache-size", self.cache_size] if self.cache_size else [])],
            stdout=log, stderr=log, start_new_session=True,
            env={"MALLOC_ARENA_MAX": MALLOC_ARENAS, "SECANTUS_CHECKPOINT_SECONDS": CHECKPOINT_SECONDS, **os.environ},
        )
        self._wait_until_ready(timeout)
        return self

    def _wait_until_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"embedded MongoDB exited with code {self.process.returncode}"
                                   f" (log: {self.log_path or 'none'})")
            try:
                with MongoClient(self.uri, serverSelectionTimeoutMS=500) as client:
                    client.admin.command("ping")
                return
            except PyMongoError:
                if time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError(f"embedded MongoDB did not answer on {self.uri} in {timeout}s")
                time.sleep(0.2)

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """SIGKILL, as a crash or the OOM killer would: nothing flushed but what was committed durably."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def __enter__(self) -> "EmbeddedMongo":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

