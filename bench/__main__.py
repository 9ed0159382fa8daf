"""Run every benchmark module (bench/bench_*.py, each with a `main()`), or the ones named.

    python -m bench                 # all
    python -m bench dedup dispatch  # bench_dedup.py, bench_dispatch.py
    python -m bench soak            # bench/soak.py: hours long, so only when named

A `main()` that returns a non-zero status makes this exit with it (after the others ran).
"""
from __future__ import annotations

import importlib
import signal
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402  (benchmarks that run nameko containers need it patched first)

eventlet.monkey_patch()


# Benchmarks too long for `make bench`: run only when named.
NAMED_ONLY = ("soak",)


def main(names: list[str]) -> int:
    modules = sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))
    chosen = [m for m in modules if not names or m.removeprefix("bench_") in names]
    chosen += [m for m in NAMED_ONLY if m in names]
    # A run stopped with SIGTERM (a CI's timeout, `kill`) unwinds like Ctrl-C: its services, embedded server and
    # throwaway vhost go with it instead of running on as orphans.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    status = 0
    for module in chosen:
        print(f"\n=== {module} ===", flush=True)
        status = importlib.import_module(f"bench.{module}").main() or status
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
