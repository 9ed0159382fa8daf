"""Container health: the service itself says it reaches the broker and its database, and its queues have consumers.

    python -m siaga.healthcheck reports

The service's own /healthz (shared/metrics.py, on METRICS.ADDRESS) answers from the probes its outage gate
uses, so what this reports is what the service sees; a service configured without one is asked nothing,
and its broker and database are pinged from here instead.
"""
from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

from kombu import Connection

from shared import topology
from shared.config import service_config
from shared.metrics import MetricsSettings
from shared.mongo import connect
from shared.settings import read


def check(service: str) -> list[str]:
    config = service_config(service)
    address = read(MetricsSettings, config).address
    problems = service_health(service, address) if address else database_problems(service, config)
    service_cls = next(cls for cls in topology.siaga_service_classes() if cls.name == service)
    with Connection(config["AMQP_URI"], connect_timeout=5) as connection:
        channel = connection.default_channel
        for queue in topology.service_queues(service_cls):
            if channel.queue_declare(queue.name, passive=True).consumer_count == 0:
                problems.append(f"queue {queue.name} has no consumer")
    return problems


def service_health(service: str, address: str) -> list[str]:
    """What the service's /healthz says does not answer (a 503 names it)."""
    host, _, port = address.rpartition(":")
    url = f"http://{'127.0.0.1' if host in ('', '0.0.0.0') else host}:{port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            health = json.loads(answer.read())
    except urllib.error.HTTPError as error:
        health = json.loads(error.read() or b"{}")
    except OSError as exc:
        return [f"{service} does not answer on {url} ({type(exc).__name__})"]
    return [f"{service}: {name} {said}" for name, said in health.items()
            if name not in ("ok", "held", "seconds", "outage") and said != "ok"] + (
        [f"{service} holds its messages: {health['outage']}"] if "outage" in health else [])


def database_problems(service: str, config: dict) -> list[str]:
    client = connect(config["MONGO_URI"], server_selection_seconds=5)
    try:
        client.admin.command("ping")
    except Exception as exc:  # any failure is unhealthy; say which
        return [f"database {config['MONGO_DATABASE']} does not answer ({type(exc).__name__}): "
                f"{service} holds its messages until it does"]
    finally:
        client.close()
    return []


def main(argv: list[str]) -> int:
    problems = check(argv[0])
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
