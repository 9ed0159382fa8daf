"""Declare Siaga's whole broker topology (exchanges, queues, dead letter) and exit.

    AMQP_URI=amqp://… python -m siaga.declare     # unset: the local broker, on the instance's vhost

Run before any service or upstream app starts, so no early event is routed nowhere.
"""
from __future__ import annotations

import sys

from shared import topology
from siaga.settings import siaga_settings


def main() -> int:
    for name in topology.declare_topology(siaga_settings().broker_uri):
        print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
