"""The demo: start Siaga, load the Polsek Metro Menteng roster, send sample incidents, show the outcome.

    python -m siaga.demo                  # keeps running (and printing events) until Ctrl-C
    python -m siaga.demo --exit-after-demo   # or SIAGA_DEMO_EXIT=1: for tests and CI
    SIAGA_INSTANCE=demo2 python -m siaga.demo   # a second demo beside the first (see siaga.settings)

The demo plays the upstream apps (it publishes plain JSON on intake.events like any app would)
and the SMS gateway (it consumes the gateway's queue), so what it shows is what they would see.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys
import time
import traceback
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from kombu import Connection, Exchange, Queue
from rich.console import Console
from rich.table import Table

from services.console.operators import add_operator, open_store
from services.dispatch.roster import load_roster_file
from shared import wilayah
from shared.config import PROJECT_ROOT
from shared.contract import INCIDENT_REPORTED, REPORT_REJECTED
from shared.phones import mask_phone
from shared.topology import external_queue
from siaga.broker_admin import can_administer
from siaga.demo_community import run_community
from siaga.settings import SERVICES, SiagaSettings, use_instance
from siaga.system import System

ROSTER = PROJECT_ROOT / "services" / "dispatch" / "demo_roster.json"
# The simulated gateway (or Kannel's test SMSC) delivers every SMS; officers answer "OK <number>".
OFFICER_REPLY = "OK {number}"
SIMULATOR_ARGS = ("--auto-reply", OFFICER_REPLY, "--reply-delay", "1")
# Well-known addresses the README names, taken only while free and when the user set none.
DEMO_HTTP = {"reports": "127.0.0.1:8311", "console": "127.0.0.1:8080"}
DEMO_OPERATOR = "piket.menteng"
DEMO_POLSEK = "31.71.06"  # Polsek Metro Menteng: the roster, the login and the open figures printed
APPS = ("citizen-app", "hotline-110", "cctv", "siskamling")

SAMPLES: list[dict[str, Any]] = [  # each from the app its source names (APPS)
    {"source": "/citizen-app/android", "data": {
        "source_kind": "citizen_app", "category": "laka lantas",
        "description": "Tabrakan motor dengan angkot, satu pengendara luka di kepala",
        "location": {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001", "rw": 5,
                     "address": "Jl. HOS Cokroaminoto 12"},
        "reporter": {"name": "Budi Santoso", "phone": "0812-9999-1234"}}},
    {"source": "/hotline-110/jakarta-pusat", "data": {
        "source_kind": "hotline_110", "category": "curanmor",
        "description": "Sepeda motor Honda Beat hitam B 1234 XYZ dicuri dari parkiran minimarket",
        "location": {"village_code": "31.71.06.1003", "rw": 7, "address": "Jl. Cikini Raya 45"},
        "reporter": {"name": "Sri Wahyuni", "phone": "+62 813 8888 4321"}}},
    {"source": "/cctv/menteng-analytics", "data": {
        "source_kind": "cctv", "category": "tawuran",
        "description": "Kerumunan remaja membawa senjata tajam terdeteksi kamera KS-03",
        "location": {"lat": -6.1860, "lon": 106.8310, "village_code": "31.71.06.1005", "rw": 2},
        "details": {"camera_id": "KS-03", "label": "crowd_with_weapons", "confidence": 0.91}}},
    {"source": "/siskamling/gondangdia-pos-2", "data": {
        "source_kind": "siskamling", "category": "kebakaran",
        "description": "Asap tebal dari gudang di belakang pos ronda",
        "location": {"village_code": "31.71.06.1004", "rw": 3, "address": "Gg. Gondangdia Kecil"},
        "reporter": {"name": "Pak RT Slamet", "phone": "0857-7777-2020"}}},
    {"source": "/citizen-app/android", "data": {
        "source_kind": "citizen_app", "category": "kdrt",
        "description": "Terdengar teriakan dan barang pecah dari rumah tetangga",
        "location": {"village_code": "31.71.06.1002", "rw": 1},
        "reporter": {"anonymous": True}}},
    {"source": "/siskamling/gondangdia-pos-5", "data": {  # every neighbour's officer is out by now: the duty desk
        "source_kind": "siskamling", "category": "tawuran",
        "description": "Dua kelompok pemuda saling lempar batu di ujung gang",
        "location": {"village_code": "31.71.06.1004", "rw": 5, "address": "Jl. Srikaya"},
        "reporter": {"name": "Pak RW Darto", "phone": "0857-7777-3030"}}},
    {"source": "/citizen-app/ios", "data": {
        "source_kind": "citizen_app", "category": "pencurian",
        "description": "Kode kelurahan salah ketik di aplikasi",
        "location": {"village_code": "31.71.06.1999"},
        "reporter": {"name": "Andi", "phone": "0812-1"}}},
]


def incident_envelope(sample: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": sample["source"],
            "type": INCIDENT_REPORTED.name, "time": datetime.now(timezone.utc).isoformat(), "data": sample["data"]}


class Observer:
    """Follows a demo run: each upstream app publishes as its own broker user and reads its own
    rejections; a private tap (as the admin) shows the decisions and SMS requests in between (the
    simulator consumes the gateway's queue)."""

    def __init__(self, amqp_uri: str, party_uris: dict[str, str]):
        self.connection = Connection(amqp_uri, transport_options={"confirm_publish": True})
        channel = self.connection.default_channel
        self.tap = Queue(f"demo-tap-{uuid.uuid4().hex[:8]}", exclusive=True, auto_delete=True)(channel)
        self.tap.declare()
        channel.queue_bind(self.tap.name, "reports.events", "report_received")
        channel.queue_bind(self.tap.name, "dispatch.events", "#")
        channel.queue_bind(self.tap.name, "notify.events", "sms_requested")
        channel.queue_bind(self.tap.name, "community.events", "#")
        self.apps = {party: Connection(party_uris.get(party, amqp_uri), transport_options={"confirm_publish": True})
                     for party in APPS}
        self.rejections = [Queue(external_queue(party, REPORT_REJECTED).name, no_declare=True)(channel)
                           for party in APPS]
        self.events: list[dict] = []
        self.sms: list[dict] = []

    def publish_incident(self, envelope: dict[str, Any]) -> None:
        """As the app the incident's source names, which the broker vouches for (AMQP user_id)."""
        app = self.apps[envelope["source"].split("/")[1]]
        app.Producer().publish(
            json.dumps(envelope), exchange=Exchange(INCIDENT_REPORTED.exchange, no_declare=True),
            routing_key=INCIDENT_REPORTED.name, content_type="application/json", content_encoding="utf-8",
            delivery_mode=2, mandatory=True, user_id=app.userid)

    def poll(self) -> list[dict]:
        """New messages since the last poll (events and SMS), acknowledged as read."""
        fresh = []
        for queue in (self.tap, *self.rejections):
            while (message := queue.get(no_ack=True)) is not None:
                body = json.loads(message.body)
                (self.sms if body["type"] == "sms_requested" else self.events).append(body)
                fresh.append(body)
        return fresh

    def close(self) -> None:
        for connection in (self.connection, *self.apps.values()):
            connection.release()


def outcome_of(incident: dict, events: list[dict], sms: list[dict]) -> dict[str, Any] | None:
    """What became of one incident, or None while it is still on its way."""
    rejected = next((e for e in events if e["type"] == "report_rejected"
                     and e["data"]["original"]["id"] == incident["id"]), None)
    if rejected:
        return {"status": "rejected", "detail": "; ".join(flatten(rejected["data"]["reasons"])), "sms": None}
    received = next((e for e in events if e["type"] == "report_received" and e["causationid"] == incident["id"]), None)
    if not received:
        return None
    decision = next((e for e in events if e["type"] in ("assignment_created", "assignment_escalated")
                     and e["causationid"] == received["id"]), None)
    message = next((s for s in sms if decision and s["causationid"] == decision["id"]
                    and s["data"]["recipient_role"] in ("officer", "duty_desk")), None)
    if not decision or not message:
        return None
    if decision["type"] == "assignment_created":
        data = decision["data"]
        officer = data["officer"]
        who = f"{officer['name']} ({officer['role']})\n{data.get('reason_bahasa') or data['reason']} ({data['rule']})"
        acknowledged = next((e for e in events if e["type"] == "assignment_acknowledged"
                             and e["data"]["assignment_id"] == decision["data"]["assignment_id"]), None)
        if not acknowledged:
            return None  # the simulated officer answers "OK <number>" by SMS a moment later
        status = f"acknowledged ({acknowledged['data']['via']})"
    else:
        data = decision["data"]
        who = (f"{(data['duty_desk'] or {}).get('name', '-')}\n{data.get('reason_bahasa') or data['reason']}"
               f" ({', '.join(data.get('rules') or ())})")
        status = "escalated"
    return {"status": status, "report": received["data"], "detail": who, "sms": message["data"]}


def decided(incident: dict, events: list[dict]) -> bool:
    """Rejected, or given to an officer or the duty desk (the SMS and the answer come later)."""
    received = next((e for e in events if e["type"] == "report_received" and e["causationid"] == incident["id"]), None)
    return any(e["type"] == "report_rejected" and e["data"]["original"]["id"] == incident["id"] for e in events) or (
        received is not None and any(e["type"] in ("assignment_created", "assignment_escalated")
                                     and e["causationid"] == received["id"] for e in events))


def flatten(reasons: Any, prefix: str = "") -> list[str]:
    if isinstance(reasons, dict):
        return [item for key, value in reasons.items() for item in flatten(value, f"{prefix}{key}.")]
    if isinstance(reasons, list):
        return [f"{prefix.rstrip('.')}: {'; '.join(map(str, reasons))}"]
    return [f"{prefix.rstrip('.')}: {reasons}"]


def outcome_table(incidents: list[dict], outcomes: list[dict | None], gateway: str) -> Table:
    table = Table(title="Siaga demo — Polsek Metro Menteng (31.71.06)", caption=f"SMS sent through {gateway}",
                  show_lines=True)
    for column, width in (("Report", 8), ("Source", 11), ("Category", 17), ("Place", 11),
                          ("Outcome", 12), ("Officer / reason", 24), ("SMS", 44)):
        table.add_column(column, min_width=width, max_width=width, overflow="fold")
    for incident, outcome in zip(incidents, outcomes):
        data = incident["data"]
        place = data["location"].get("village_code", "-") + (f" RW{data['location']['rw']:02d}"
                                                              if data["location"].get("rw") else "")
        if outcome is None:
            table.add_row("-", data["source_kind"], data["category"], place, "[red]no outcome[/]", "", "")
            continue
        report = outcome.get("report") or {}
        sms = outcome["sms"]
        segments = f"{sms['segments']} segment{'s' if sms['segments'] > 1 else ''}" if sms else ""
        sms_cell = f"to {mask_phone(sms['to'])} [{sms['encoding']}, {segments}]\n{sms['text']}" if sms else "-"
        priority = report.get("priority", "")
        category = f"{report.get('category', data['category'])} {priority}".strip()
        if priority == "P1":
            category = f"[bold red]{category}[/]"
        table.add_row(f"#{report.get('number', '-')}", data["source_kind"], category,
                      (report.get("place") or {}).get("village_name") or place,
                      outcome["status"], outcome["detail"], sms_cell)
    return table


def demo_operator(system: System) -> str:
    """A duty officer's console login for Polsek Metro Menteng, with a fresh password each run."""
    client, store = open_store(system.mongo_uri)
    try:
        login = add_operator(store, DEMO_OPERATOR, [DEMO_POLSEK], "Piket Polsek Metro Menteng", reset_password=True)
    finally:
        client.close()
    return login["password"]


def run_demo(system: System, console: Console, timeout: float = 45.0) -> tuple[Observer, bool]:
    count = load_roster_file(ROSTER, system.mongo_uri)
    console.print(f"Roster loaded: {count} officers of Polsek Metro Menteng from {ROSTER.relative_to(PROJECT_ROOT)}")
    password = demo_operator(system)
    console.print(f"[bold]Duty console: http://{system.http_addresses['console']}/[/]  log in as "
                  f"[bold]{DEMO_OPERATOR}[/] / [bold]{password}[/]")
    observer = Observer(system.amqp_uri, system.amqp_uris)
    incidents = [incident_envelope(sample) for sample in SAMPLES]
    deadline = time.monotonic() + timeout
    for incident in incidents:  # one after the other: each is decided knowing who the ones before took
        observer.publish_incident(incident)
        while not decided(incident, observer.events) and time.monotonic() < deadline:
            observer.poll()
            time.sleep(0.05)
    console.print(f"Published {len(incidents)} sample incidents on intake.events as upstream apps would.")
    while True:
        observer.poll()
        outcomes = [outcome_of(incident, observer.events, observer.sms) for incident in incidents]
        if all(outcomes) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    console.print(outcome_table(incidents, outcomes, system.gateway_name))
    community = run_community(system, observer, console, DEMO_OPERATOR, password)
    return observer, all(outcomes) and community


def follow(observer: Observer, console: Console) -> None:
    """Print every later event until Ctrl-C, so hand-sent incidents show up too."""
    while True:
        for body in observer.poll():
            data = body["data"]
            summary = data.get("text") or data.get("reason") or data.get("report_id") or data.get("reasons")
            console.print(f"[dim]{body['time']}[/] [bold]{body['type']}[/] {summary}")
        time.sleep(0.2)


def describe_start(system: System, settings: SiagaSettings, console: Console) -> None:
    """Where this instance runs, so a second one (or a command such as `siaga roster import`) can find it."""
    console.print(f"Broker {Connection(system.amqp_uri).as_uri()} (users {settings.user_name('<party>')}), databases "
                  f"{', '.join(system.database_name(service) for service in SERVICES)}")
    where = (f"embedded SecantusDB at {system.mongo_uri} (data in {system.storage_path}, emptied for the demo)"
             if system.mongo else f"MongoDB at {system.mongo_uri}")
    console.print(f"Database: {where}")
    console.print(f"Services {', '.join(SERVICES)} and {system.gateway_name} are consuming"
                  f"{', each as its own broker user' if system.amqp_uris else ''}; logs in {system.log_dir}")
    moved = [f"{DEMO_HTTP[service]} is taken, so {service} listens on {address}"
             for service, address in system.http_addresses.items()
             if service not in settings.http_addresses and address != DEMO_HTTP[service]]
    if moved:
        console.print(f"[yellow]{'; '.join(moved)}[/]")
    console.print("Metrics (Prometheus) and health: " + ", ".join(
        f"{service} http://{address}/metrics" for service, address in system.metrics_addresses.items()))
    console.print(f"Open311 GeoReport v2: http://{system.http_addresses['reports']}/open311/v2/services.json")
    month = datetime.now(timezone(timedelta(hours=wilayah.time_zone(DEMO_POLSEK)[1]))).strftime("%Y-%m")
    console.print(f"Open figures (public): "
                  f"http://{system.http_addresses['reports']}/figures/polsek/{DEMO_POLSEK}/{month}")


def main(argv: list[str] | None = None) -> int:
    settings = use_instance()
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exit-after-demo", action="store_true", default=settings.demo_exit,
                        help="stop after showing the demo (also SIAGA_DEMO_EXIT=1)")
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 160))
    system = System(gateway_simulator=True, simulator_args=SIMULATOR_ARGS, kannel_gateway=settings.demo_uses_kannel,
                    kannel_reply=OFFICER_REPLY, preferred_http=DEMO_HTTP,
                    least_privilege=can_administer(settings.broker_uri), fresh_databases=True, settings=settings)
    console.print(f"Starting Siaga instance {settings.instance}…")
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    observer = None
    try:
        system.start()
        describe_start(system, settings, console)
        observer, complete = run_demo(system, console)
        if args.exit_after_demo:
            return 0 if complete else 1
        console.print("Siaga is running. Events follow below; press Ctrl-C to stop.")
        follow(observer, console)
    except KeyboardInterrupt:
        console.print("Stopping Siaga…")
    except Exception as exc:  # a newcomer gets what failed and where to look, not a traceback
        failed = system.log_dir / "demo-failure.log"
        failed.parent.mkdir(parents=True, exist_ok=True)
        failed.write_text(traceback.format_exc())
        console.print(f"[red]Siaga could not run the demo:[/] {type(exc).__name__}: {exc} (where: {failed}; "
                      f"the services' logs beside it)")
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second Ctrl-C/TERM must not cut the shutdown short
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if observer:
            observer.close()
        system.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
