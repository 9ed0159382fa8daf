"""Run pytest as JOBS processes side by side, each on its share of the tests (SIAGA_TEST_SHARD=k/n).

Why not pytest-xdist: its workers talk to the controller over execnet's threads, which hang once
eventlet has patched them, and nameko needs the patch. The tests mostly wait on the broker and
the database, so more processes than cores pays; each test has its own vhost and databases.
Usage: python scripts/test-shards.py JOBS [--save-durations] [pytest arguments...]
--save-durations keeps what each module took in tests/durations.json, by which the next runs share
the suite out (a module missing there is guessed by its tier).
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

LOGS = Path("var", "test-shards")
# The tests, and the services and databases they start, run below the machine's RabbitMQ: with every
# core busy, a broker starved of CPU let AMQP handshakes time out, which no test was about.
NICENESS = 10
DURATIONS = Path("tests", "durations.json")


def main(jobs: int, arguments: list[str]) -> int:
    save = "--save-durations" in arguments
    arguments = [argument for argument in arguments if argument != "--save-durations"]
    LOGS.mkdir(parents=True, exist_ok=True)
    for old in LOGS.glob("durations-*.json"):
        old.unlink()
    shards = []
    for k in range(jobs):
        log = LOGS / f"shard-{k + 1}-of-{jobs}.log"
        with log.open("w") as out:
            shards.append((log, subprocess.Popen(
                [sys.executable, "-m", "pytest", *arguments],
                env=os.environ | {"SIAGA_TEST_SHARD": f"{k + 1}/{jobs}"}, stdout=out, stderr=subprocess.STDOUT,
                preexec_fn=lambda: os.nice(NICENESS))))
    failed, counts = 0, {"passed": 0, "failed": 0, "skipped": 0, "error": 0}
    for log, process in shards:
        code = process.wait()
        lines = log.read_text().splitlines()
        if code not in (0, 5):  # 5: this shard got no tests
            failed += 1
            print("\n".join(lines))
        else:
            print(f"{log}: {lines[-1] if lines else 'no output'}")
        for number, outcome in re.findall(r"(\d+) (passed|failed|skipped|error)", lines[-1] if lines else ""):
            counts[outcome] += int(number)
    if save:
        save_durations()
    print(f"all shards: {counts['passed']} passed, {counts['failed'] + counts['error']} failed, "
          f"{counts['skipped']} skipped")
    return 1 if failed else 0


def save_durations() -> None:
    took: dict[str, float] = {}
    for shard in LOGS.glob("durations-*.json"):
        took |= json.loads(shard.read_text())
    DURATIONS.write_text(json.dumps(dict(sorted(took.items())), indent=1) + "\n")
    print(f"{DURATIONS}: {len(took)} modules, {sum(took.values()):.0f} s in all")


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]), sys.argv[2:]))
