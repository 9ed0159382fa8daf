"""Run every benchmark module (bench/bench_*.py, each with a `main()`), or the ones named.

    python -m bench                 # all
    python -m bench dedup dispatch  # bench_dedup.py, bench_dispatch.py
"""
from __future__ import annotations

import importlib
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402  (benchmarks that run nameko containers need it patched first)

eventlet.monkey_patch()


def main(names: list[str]) -> int:
    modules = sorted(path.stem for path in Path(__file__).parent.glob("bench_*.py"))
    chosen = [m for m in modules if not names or m.removeprefix("bench_") in names]
    for module in chosen:
        print(f"\n=== {module} ===", flush=True)
        importlib.import_module(f"bench.{module}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
