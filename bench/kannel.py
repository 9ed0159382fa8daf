"""The bridge's sustained rate against a real Kannel: a burst of officer SMS submitted one after the
other (as the bridge's consumer does), then Kannel's delivery reports for every one of them.

    python -m bench.kannel                     # 1000 SMS, Kannel's throughput 100/s
    KANNEL_BENCH_COUNT=200 KANNEL_BENCH_THROUGHPUT=50 python -m bench.kannel

The broker is left out (the bridge's publisher records instead): what is measured is the bridge,
smsbox, bearerbox and the test SMSC. Not under `python -m bench`, which runs with eventlet's patches.
"""
from __future__ import annotations

import os
import tempfile
import threading
import time
import uuid
from pathlib import Path

from nameko.testing.utils import find_free_port

from shared.contract import SMS_REQUESTED
from siaga import kannel
from siaga.kannel_bridge import Bridge, BridgeSettings, State
from testkit.events import OFFICER, as_event, envelope


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.published: list[tuple[str, dict]] = []

    def publish(self, event_type, data, cause=None, id=None):
        with self.lock:
            self.published.append((event_type.name, data))

    def count(self, name: str, **data) -> int:
        with self.lock:
            return sum(1 for n, d in self.published if n == name and all(d.get(k) == v for k, v in data.items()))


def request(number: int) -> object:
    return as_event(envelope(SMS_REQUESTED, {
        "sms_id": str(uuid.uuid4()), "to": OFFICER["phone"], "text": f"SIAGA P2 #B{number:05d} tes beban Kannel",
        "encoding": "GSM-7", "segments": 1, "priority": "P2", "recipient_role": "officer",
        "kind": "officer_assignment", "attempt": 1}))


def main() -> None:
    count = int(os.environ.get("KANNEL_BENCH_COUNT", "1000"))
    throughput = float(os.environ.get("KANNEL_BENCH_THROUGHPUT", "100"))
    folder = Path(tempfile.mkdtemp(prefix="kannel-bench-"))
    ports, recorder = kannel.Ports(), Recorder()
    settings = BridgeSettings(sendsms_url=f"http://127.0.0.1:{ports.sendsms}/cgi-bin/sendsms", password="bench",
                              address=f"127.0.0.1:{find_free_port()}")
    bridge = Bridge("amqp://unused", settings, State(folder / "bridge.sqlite3"), publisher=recorder)
    server = bridge.serve_http()
    gateway = kannel.Kannel(folder, bridge.inbound_url, password="bench", throughput=throughput, ports=ports).start()
    smsc = kannel.TestSmsc(ports.smsc)
    try:
        smsc.connected.wait(20)
        requests = [request(n) for n in range(count)]
        started = time.monotonic()
        for event in requests:
            while not bridge.forward(event):
                time.sleep(0.05)
        submitted = time.monotonic() - started
        deadline = time.monotonic() + 120 + count / throughput
        while recorder.count("sms_delivery_reported", status="delivered") < count and time.monotonic() < deadline:
            time.sleep(0.05)
        delivered = time.monotonic() - started
        got = recorder.count("sms_delivery_reported", status="delivered")
        while len(smsc.received) < count and time.monotonic() < deadline:  # its stdout may lag behind
            time.sleep(0.05)
        print(f"{count} SMS: accepted by Kannel in {submitted:.2f} s ({count / submitted:.0f}/s, "
              f"one sendsms + one state write each); {got} delivery reports in {delivered:.2f} s "
              f"({got / delivered:.0f}/s; the SMSC's throughput setting is {throughput:g}/s); "
              f"the test SMSC got {len(smsc.received)} SMS")
    finally:
        server.shutdown()
        smsc.stop()
        gateway.stop()


if __name__ == "__main__":
    main()
