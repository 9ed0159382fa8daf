"""Container health: the broker and the database answer, and the service's queues have consumers.

    python -m siaga.healthcheck reports
"""
from __future__ import annotations

import sys

from kombu import Connection

from shared import topology
from shared.config import service_config
from shared.mongo import connect


def check(service: str) -> list[str]:
    config = service_config(service)
    problems = []
    client = connect(config["MONGO_URI"], server_selection_seconds=5)
    try:
        client.admin.command("ping")
    except Exception as exc:  # any failure is unhealthy; say which
        problems.append(f"database {config['MONGO_DATABASE']} does not answer ({type(exc).__name__}): "
                        f"{service} holds its messages until it does")
    finally:
        client.close()
    service_cls = next(cls for cls in topology.siaga_service_classes() if cls.name == service)
    with Connection(config["AMQP_URI"], connect_timeout=5) as connection:
        channel = connection.default_channel
        for queue in topology.service_queues(service_cls):
            if channel.queue_declare(queue.name, passive=True).consumer_count == 0:
                problems.append(f"queue {queue.name} has no consumer")
    return problems


def main(argv: list[str]) -> int:
    problems = check(argv[0])
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
