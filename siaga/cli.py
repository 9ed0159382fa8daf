"""`siaga`: the command line for trying and watching the system by hand.

    siaga demo                      run the demo (Ctrl-C stops)
    siaga roster import FILE        load a roster file into dispatch's database
    siaga incident --category laka --village 31.71.06.1001 --rw 5
    siaga watch                     every event, as a readable stream
    siaga trace 3F2A9C              a report's whole path across the services, from their databases
    siaga declare                   declare the broker topology and exit

Broker and database come from AMQP_URI and MONGO_URI, as everywhere else; SIAGA_INSTANCE picks
which Siaga (its vhost when AMQP_URI is unset, its databases) when several share a machine. When
either cannot be reached, the command says what it tried and what to do, not a traceback.
"""
from __future__ import annotations

import json
import socket
import sys
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer
from kombu import Connection, Exchange, Queue
from rich.console import Console
from rich.progress import Progress

from shared.config import service_config
from shared.contract import EVENT_TYPES, INCIDENT_REPORTED
from shared.phones import mask_phone
from siaga.settings import siaga_settings, use_instance

app = typer.Typer(help="Siaga: community-policing dispatch. Try it, feed it, watch it.", no_args_is_help=True)
roster_app = typer.Typer(help="The officer roster (dispatch).", no_args_is_help=True)
app.add_typer(roster_app, name="roster")
console = Console()


class Unreachable(Exception):
    """A dependency that did not answer, with what to do about it."""


def amqp_uri() -> str:
    return siaga_settings().broker_uri


def broker() -> Connection:
    uri = amqp_uri()
    connection = Connection(uri, connect_timeout=5)
    try:
        connection.ensure_connection(max_retries=1)
    except (OSError, socket.error, Exception) as exc:
        raise Unreachable(
            f"Could not reach RabbitMQ at {connection.as_uri()} ({exc}).\n"
            "Is it running? On this machine `rabbitmq-server -detached` starts it; "
            "or point AMQP_URI at another broker.") from None
    return connection


@app.command()
def demo(exit_after_demo: bool = typer.Option(False, "--exit-after-demo", help="stop after the table")) -> None:
    """Start Siaga with the demo roster and sample incidents; show what happened."""
    from siaga.demo import main as demo_main

    raise typer.Exit(demo_main(["--exit-after-demo"] if exit_after_demo else []))


@roster_app.command("import")
def import_roster(path: Path = typer.Argument(..., exists=True, readable=True, help="JSON list or CSV")) -> None:
    """Validate a roster file and load it into dispatch's database (all or nothing)."""
    from pymongo.errors import PyMongoError

    from services.dispatch.roster import RosterError, load_roster_file

    with Progress(console=console, transient=True) as progress:
        progress.add_task(f"Loading {path.name}…", total=None)
        try:
            count = load_roster_file(path)
        except RosterError as exc:
            console.print(f"[red]Roster not loaded[/]: {exc}")
            raise typer.Exit(1)
        except PyMongoError as exc:
            uri = service_config("dispatch")["MONGO_URI"]
            raise Unreachable(f"Could not reach MongoDB at {uri} ({exc}).\n"
                              "Start the system (`make demo`) or set MONGO_URI to a running MongoDB.") from None
    console.print(f"Loaded {count} officers from {path}")


@app.command()
def incident(
    category: str = typer.Option(..., help="code or Bahasa word: laka lantas, curanmor, tawuran, kebakaran…"),
    village: str = typer.Option(..., help="Kemendagri village code, e.g. 31.71.06.1001"),
    rw: Optional[int] = typer.Option(None, help="RW number"),
    description: str = typer.Option("Dilaporkan lewat baris perintah siaga", help="what happened"),
    address: Optional[str] = typer.Option(None),
    lat: Optional[float] = typer.Option(None),
    lon: Optional[float] = typer.Option(None),
    phone: Optional[str] = typer.Option(None, help="reporter's phone"),
    name: Optional[str] = typer.Option(None, help="reporter's name"),
    source_kind: str = typer.Option("citizen_app", help="citizen_app, hotline_110, cctv, siskamling, patrol"),
) -> None:
    """Publish one incident_reported exactly as an upstream app would (plain JSON on intake.events)."""
    body = {
        "specversion": "1.0", "id": str(uuid.uuid4()), "source": "/siaga-cli", "type": INCIDENT_REPORTED.name,
        "time": datetime.now(timezone.utc).isoformat(),
        "data": {"source_kind": source_kind, "category": category, "description": description,
                 "location": {"village_code": village, "rw": rw, "address": address, "lat": lat, "lon": lon},
                 "reporter": {"name": name, "phone": phone, "anonymous": not (name or phone)}},
    }
    with broker() as connection:
        connection.Producer().publish(
            json.dumps(body), exchange=Exchange(INCIDENT_REPORTED.exchange, type="topic", no_declare=True),
            routing_key=INCIDENT_REPORTED.name, content_type="application/json", delivery_mode=2, mandatory=True)
    console.print(f"Published incident {body['id']} ({category}, {village}); `siaga watch` shows what follows.")


@app.command()
def watch() -> None:
    """Follow every Siaga event as it happens (Ctrl-C stops)."""
    exchanges = sorted({event_type.exchange for event_type in EVENT_TYPES.values()})
    with broker() as connection:
        tap = Queue(f"siaga-watch-{uuid.uuid4().hex[:6]}", exclusive=True, auto_delete=True)
        bound = tap(connection.default_channel)
        bound.declare()
        for exchange in exchanges:
            bound.bind_to(exchange=exchange, routing_key="#")
        console.print(f"Watching {', '.join(exchanges)}. Ctrl-C stops.")

        def show(body, message):
            console.print(describe(body if isinstance(body, dict) else json.loads(body)))
            message.ack()

        with connection.Consumer(tap, callbacks=[show], accept=["json"]):
            try:
                while True:
                    try:
                        connection.drain_events(timeout=1)
                    except socket.timeout:
                        continue
            except KeyboardInterrupt:
                return


def describe(event: dict) -> str:
    """One readable line per event; phone numbers masked."""
    data = event.get("data") or {}
    details = []
    for key in ("number", "category", "priority", "status", "reason", "text"):
        if isinstance(data.get(key), str):
            details.append(data[key])
    if isinstance(data.get("officer"), dict):
        details.append(data["officer"].get("name", ""))
    if isinstance(data.get("to"), str):
        details.insert(0, f"to {mask_phone(data['to'])}")
    time = str(event.get("time", ""))[11:19]
    return f"[dim]{time}[/] [bold]{event.get('type')}[/] [cyan]{event.get('source')}[/] " + " · ".join(details)


@app.command()
def trace(number: str = typer.Argument(..., help="the report's number (as SMS and consoles show it), or its id")
          ) -> None:
    """Print a report's path: reports' history, dispatch's assignments, notify's SMS (phones masked)."""
    from pymongo.errors import PyMongoError
    from rich.table import Table

    from siaga.trace import read_traces, summary, timeline

    try:
        traces = read_traces(number)
    except PyMongoError as exc:
        uri = service_config("reports")["MONGO_URI"]
        raise Unreachable(f"Could not reach MongoDB at {uri} ({type(exc).__name__}).\n"
                          "Start the system (`make demo`) or set MONGO_URI to a running MongoDB.") from None
    if not traces:
        console.print(f"[red]No report numbered {number}[/] in {service_config('reports')['MONGO_DATABASE']}.")
        raise typer.Exit(1)
    for found in traces:
        table = Table(title=summary(found.report), title_justify="left")
        for column in ("when (UTC)", "service", "what"):
            table.add_column(column, overflow="fold")
        for step in timeline(found):
            table.add_row(step.at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if step.at else "-", step.service, step.what)
        console.print(table)


@app.command()
def declare() -> None:
    """Declare every exchange and queue (idempotent); run before anything publishes."""
    from shared.topology import declare_topology

    broker().release()
    names = declare_topology(amqp_uri())
    console.print(f"Declared {len(names)} queues.")


def main() -> None:
    use_instance()
    try:
        app()
    except Unreachable as exc:
        console.print(f"[red]{exc}[/]")
        sys.exit(2)


if __name__ == "__main__":
    main()
