"""Declare Siaga's whole broker topology (exchanges, queues, dead letter) and exit.

    AMQP_URI=amqp://… python -m siaga.declare

Run before any service or upstream app starts, so no early event is routed nowhere.
"""
from __future__ import annotations

import sys

from shared import topology
from shared.config import service_config


def main() -> int:
    amqp_uri = service_config("reports")["AMQP_URI"]
    for name in topology.declare_topology(amqp_uri):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
