"""Redelivery: every message of a run, delivered again twice in a shuffled order, changes no database.

    python -m bench.replay                      # 300 incidents
    REPLAY_INCIDENTS=1000 REPLAY_SEED=7 python -m bench.replay

A recording queue is bound (routing key `#`) to every event exchange and to the dead-letter exchange
before the system starts, so it keeps every message of the run: body, properties, headers,
exchange and routing key. The run is varied on purpose: incidents to many villages, a second
incident of another kind in the same village (a busy officer, the duty desk), near-duplicates,
anonymous reporters, invalid incidents (unknown village, a schema violation, a body that is not
JSON), officers answering by SMS (OK, TOLAK, JALAN, TIBA, SELESAI, a text that is no reply, a
stranger's text) and cancellations by a duty officer. Acknowledgement deadlines are raised to a
day, so no timer can change anything while the replay runs: a difference means a handler that is
not idempotent, never a clock.

When the system is quiet (no message in any consumed queue, every database unchanged over a
settle period) every collection of every service database is snapshotted; then each recorded
message is published twice, in one shuffled order, to its original exchange with its original
routing key and properties; when quiet again the databases are snapshotted again. It prints the
difference per database, collection, document and field — no field is exempt: none is expected
to change on a redelivery — and the counts. It also counts the events the services published
during the replay whose `source`+`id` the first run never published: a redelivery that makes a
new fact (a second SMS, a second assignment) breaks the contract even where no row changes.
Exits non-zero on any difference. `tests/e2e/test_replay.py` runs a short version in the suite.
"""
from __future__ import annotations

import json
import os
import random
import sys
import time
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

warnings.filterwarnings("ignore", message=r"(?s).*Eventlet is deprecated")

import eventlet  # noqa: E402  (the RPC proxy that cancels reports runs on eventlet)

eventlet.monkey_patch()

import amqp  # noqa: E402
from bson import json_util  # noqa: E402
from kombu import Connection  # noqa: E402

from shared import topology  # noqa: E402
from shared.contract import EVENT_TYPES, PARTIES, SMS_RECEIVED, dump_event  # noqa: E402
from shared.envelope import utcnow  # noqa: E402
from shared.mongo import connect  # noqa: E402
from siaga.gateway_simulator import SOURCE as SIMULATOR_SOURCE  # noqa: E402
from siaga.system import SERVICES, System  # noqa: E402

RECORDER = "replay-recorder"
ECHO = "replay-echo"
EXCHANGES = sorted({event_type.exchange for event_type in EVENT_TYPES.values()} | {topology.DEAD_LETTER_EXCHANGE})
# No deadline may pass while the replay runs: a day for every priority.
QUIET_CLOCKS = {f"DISPATCH_ACK_{p}_SECONDS": "86400" for p in ("P1", "P2", "P3", "P4")}
SIMULATOR_ARGS = ("--answer-delay", "0.05", "--receipt-delay", "0.1")
UNKNOWN_VILLAGE = "31.71.06.9999"


@dataclass(frozen=True)
class Recorded:
    """One message as the broker routed it, enough to publish it again byte for byte."""

    exchange: str
    routing_key: str
    body: bytes | str  # py-amqp hands a body with a content encoding over decoded, and encodes it again
    properties: dict[str, Any]

    @property
    def key(self) -> str | None:
        """`source|id` of the event, None for a body that is not a JSON envelope."""
        try:
            body = json.loads(self.body)
            return f"{body['source']}|{body['id']}"
        except (ValueError, TypeError, KeyError):
            return None


# ------------------------------------------------------------------ recording and replaying


def bind_recorder(amqp_uri: str, name: str) -> None:
    """A durable classic queue on every exchange: it outlives our connection and keeps the run's messages."""
    with Connection(amqp_uri) as connection:
        channel = connection.default_channel
        channel.queue_declare(name, durable=True, auto_delete=False)
        for exchange in EXCHANGES:
            channel.queue_bind(name, exchange, "#")


def take_recorded(amqp_uri: str, name: str) -> list[Recorded]:
    """Everything the queue holds, in arrival order; the queue is deleted afterwards."""
    taken = []
    with Connection(amqp_uri) as connection:
        channel: amqp.Channel = connection.connection.channel()
        while (message := channel.basic_get(name, no_ack=True)) is not None:
            info = message.delivery_info
            taken.append(Recorded(info["exchange"], info["routing_key"], message.body,
                                  dict(message.properties)))
        channel.queue_delete(name)
    return taken


def replay(amqp_uri: str, messages: list[Recorded]) -> None:
    """Publish each message to its exchange and routing key with its own properties, confirmed."""
    with Connection(amqp_uri) as connection:
        channel: amqp.Channel = connection.connection.channel()
        channel.confirm_select()
        for message in messages:
            channel.basic_publish_confirm(amqp.Message(message.body, **message.properties),
                                          exchange=message.exchange, routing_key=message.routing_key)


# ------------------------------------------------------------------ quiet and snapshots


def consumed_queues() -> list[str]:
    """Every queue a service or the gateway simulator consumes (the dead letters and the upstream apps'
    rejections have no consumer in this run and keep what they hold)."""
    return [q.name for cls in topology.siaga_service_classes() for q in topology.service_queues(cls)] + [
        q.name for q in topology.party_queues(PARTIES["sms-gateway"])]


def backlog(connection: Connection, queues: list[str]) -> int:
    """Messages waiting in the consumed queues. A message a handler holds unacknowledged is not
    counted: `wait_quiet` covers it by asking for unchanged databases across a settle period."""
    channel = connection.default_channel
    return sum(channel.queue_declare(name, passive=True).message_count for name in queues)


def canonical(value: Any) -> Any:
    """Plain JSON values (dates as `$date`, ids as `$oid`), so two snapshots compare with `==`."""
    return json.loads(json_util.dumps(value, json_options=json_util.CANONICAL_JSON_OPTIONS))


def snapshot(mongo_uri: str, databases: dict[str, str]) -> dict[str, dict[str, dict[str, Any]]]:
    """`{"db.collection": {document id: document}}` for every collection of every service database."""
    client = connect(mongo_uri)
    try:
        shot = {}
        for name in databases.values():
            db = client[name]
            for collection in sorted(db.list_collection_names()):
                shot[f"{name}.{collection}"] = {json.dumps(canonical(doc["_id"]), sort_keys=True): canonical(doc)
                                                for doc in db[collection].find()}
        return shot
    finally:
        client.close()


def wait_quiet(amqp_uri: str, read: Callable[[], Any], settle: float = 2.0, timeout: float = 600.0) -> Any:
    """Quiet: no backlog, and the databases unchanged across `settle` seconds with no backlog either side.

    The settle period outlasts the gateway simulator's delays (0.15 s), whose pending answers no queue shows.
    """
    deadline, queues = time.monotonic() + timeout, consumed_queues()
    with Connection(amqp_uri) as connection:  # one for the whole wait: a loaded broker is slow to open one
        while time.monotonic() < deadline:
            if backlog(connection, queues):
                time.sleep(0.3)
                continue
            before = read()
            time.sleep(settle)
            if backlog(connection, queues) == 0 and (after := read()) == before:
                return after
    raise RuntimeError(f"the system never became quiet within {timeout}s")


def flat(value: Any, prefix: str = "") -> dict[str, Any]:
    """Dotted paths to leaves; a list is one leaf, so a reordered or longer history shows whole."""
    if isinstance(value, dict) and not (len(value) == 1 and next(iter(value)).startswith("$")):
        return {path: leaf for key, inner in value.items() for path, leaf in flat(inner, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def diff(before: dict, after: dict) -> Iterator[str]:
    """One line per missing or added collection or document, and per changed field."""
    for collection in sorted(before.keys() | after.keys()):
        old, new = before.get(collection, {}), after.get(collection, {})
        for doc_id in sorted(old.keys() | new.keys()):
            if doc_id not in new:
                yield f"{collection} {doc_id}: document gone"
            elif doc_id not in old:
                yield f"{collection} {doc_id}: new document {short(telling_first(new[doc_id]))}"
            elif old[doc_id] != new[doc_id]:
                a, b = flat(old[doc_id]), flat(new[doc_id])
                for field in sorted(a.keys() | b.keys()):
                    if a.get(field, "<absent>") != b.get(field, "<absent>"):
                        yield (f"{collection} {doc_id} {field}: before {short(a.get(field, '<absent>'))}"
                               f" after {short(b.get(field, '<absent>'))}")


def telling_first(document: dict) -> dict:
    """What a new document is (its kind, state, text) before the rest, so a cut line still says it."""
    first = ("kind", "state", "recipient_role", "text")
    return {key: document[key] for key in first if key in document} | {
        key: value for key, value in sorted(document.items()) if key not in first}


def short(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit] + "…"


# ------------------------------------------------------------------ the run that is recorded


def envelope(data: dict[str, Any]) -> dict[str, Any]:
    return {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "/replay/citizen-app",
            "type": "incident_reported", "time": datetime.now(timezone.utc).isoformat(), "data": data}


def incident(village: str, category: str = "curanmor", anonymous: bool = False) -> dict[str, Any]:
    return envelope({"source_kind": "citizen_app", "category": category, "description": "Kejadian di desa",
                     "location": {"village_code": village},
                     "reporter": {"name": "Warga", "phone": "0812-9999-1234", "anonymous": anonymous}})


def incidents(villages: list[str], count: int, rng: random.Random) -> list[dict[str, Any] | bytes]:
    """Mostly thefts, one per village first; then a traffic accident where the officer is busy,
    near-duplicates, anonymous reporters and invalid incidents, in a shuffled order after the first wave."""
    first = [incident(v, anonymous=i % 7 == 0) for i, v in enumerate(villages)]
    rest: list[dict[str, Any] | bytes] = []
    for i in range(count - len(first)):
        village = villages[i % len(villages)]
        kind = i % 10
        if kind < 4:
            rest.append(incident(village, "laka lantas"))
        elif kind < 7:
            rest.append(incident(village, "maling"))  # a theft nearby, still open: a duplicate
        elif kind == 7:
            rest.append(incident(village, "keributan", anonymous=True))
        elif kind == 8:
            rest.append(incident(UNKNOWN_VILLAGE))  # rejected: no such village
        else:
            rest.append(envelope({"source_kind": "citizen_app"}) if i % 20 == 9 else b"{not json")
    rng.shuffle(rest)
    return first + rest


def publish_incidents(amqp_uri: str, bodies: list[dict[str, Any] | bytes]) -> None:
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for body in bodies:
            payload = body if isinstance(body, bytes) else json.dumps(body)
            producer.publish(payload, exchange="intake.events", routing_key="incident_reported",
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                             mandatory=True)


def send_sms(amqp_uri: str, texts: list[tuple[str, str]]) -> None:
    """Inbound SMS (sender, text) as the gateway publishes them."""
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        producer = connection.Producer()
        for sender, text in texts:
            gateway_id = "REPLAY-IN-" + uuid.uuid4().hex[:16]
            body = dump_event(SMS_RECEIVED, {"gateway_id": gateway_id, "sender": sender, "text": text,
                                             "at": utcnow()}, source=SIMULATOR_SOURCE, id=gateway_id)
            producer.publish(json.dumps(body), exchange="gateway.events", routing_key="sms_received",
                             content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                             mandatory=True)


def assignments(mongo_uri: str, db_name: str, state: str) -> list[dict[str, Any]]:
    client = connect(mongo_uri)
    try:
        return sorted(client[db_name].assignments.find({"state": state}), key=lambda a: a["_id"])
    finally:
        client.close()


def reply(assignment: dict[str, Any], code: str, rest: str = "") -> tuple[str, str]:
    return assignment["officer"]["phone"], f"{code} {assignment['report']['number']} {rest}".strip()


def cancel(amqp_uri: str, report_ids: list[str]) -> None:
    """A duty officer cancels reports through the reports service's RPC, as the console does."""
    from nameko.standalone.rpc import ServiceRpcProxy

    with ServiceRpcProxy("reports", {"AMQP_URI": amqp_uri}, timeout=30) as reports:
        for report_id in report_ids:
            reports.cancel_report(report_id, "pelapor menelepon: salah lapor", "piket.replay")


def officers_answer(system: System, quiet: Callable[[], Any], rng: random.Random) -> dict[str, int]:
    """Rounds of SMS answers, each after the system is quiet, so every step has something to act on."""
    dispatch_db, sent = system.database_name("dispatch"), {"officer SMS": 0, "cancellations": 0}

    def round_of(texts: list[tuple[str, str]]) -> None:
        send_sms(system.amqp_uri, texts)
        sent["officer SMS"] += len(texts)
        quiet()

    created = assignments(system.mongo_uri, dispatch_db, "created")
    round_of([reply(a, "TOLAK", "sedang sakit") if i % 8 == 3 else reply(a, "OK") for i, a in enumerate(created)])
    round_of([reply(a, "OK") for a in assignments(system.mongo_uri, dispatch_db, "created")])
    acknowledged = assignments(system.mongo_uri, dispatch_db, "acknowledged")
    rng.shuffle(acknowledged)
    moving, cancelled = acknowledged[: len(acknowledged) // 2], acknowledged[-max(1, len(acknowledged) // 30):]
    strangers = [("+6281100000001", "OK 123456"), (moving[0]["officer"]["phone"], "halo pak, ini siapa?")]
    round_of([reply(a, "JALAN") for a in moving] + strangers)
    cancel(system.amqp_uri, [a["report_id"] for a in cancelled])
    sent["cancellations"] = len(cancelled)
    arriving = moving[: len(moving) // 2]
    round_of([reply(a, "TIBA") for a in arriving])
    round_of([reply(a, "SELESAI", "pelaku diamankan") for a in arriving[: len(arriving) // 2]])
    return sent


# ------------------------------------------------------------------ the whole check


def run(count: int, log_dir: Path, amqp_uri: str, mongo_uri: str | None = None,
        extra_env: dict[str, str] | None = None, seed: int = 1) -> dict[str, Any]:
    """Record a run, replay it twice shuffled, and return the counts and the difference lines."""
    from bench.bench_pipeline import bench_roster, bench_villages, load_roster

    rng = random.Random(seed)
    villages = bench_villages(max(2, count // 2))
    env = {"LOG_LEVEL": "WARNING"} | QUIET_CLOCKS | (extra_env or {})
    system = System(amqp_uri=amqp_uri, mongo_uri=mongo_uri, storage_path=":memory:", log_dir=log_dir,
                    extra_env=env, gateway_simulator=True, simulator_args=SIMULATOR_ARGS)
    topology.declare_topology(amqp_uri)
    bind_recorder(amqp_uri, RECORDER)
    system.start()
    try:
        databases = {service: system.database_name(service) for service in SERVICES}
        load_roster(system.mongo_uri, databases["dispatch"], bench_roster(villages))

        def quiet(timeout: float = 600.0):
            return wait_quiet(amqp_uri, lambda: snapshot(system.mongo_uri, databases), timeout=timeout)

        publish_incidents(amqp_uri, incidents(villages, count, rng))
        quiet()
        sent = officers_answer(system, quiet, rng)
        before = quiet()
        recorded = take_recorded(amqp_uri, RECORDER)
        bind_recorder(amqp_uri, ECHO)
        again = recorded * 2
        rng.shuffle(again)
        replay(amqp_uri, again)
        after = quiet(timeout=max(600.0, len(again) / 10))  # 1000 incidents: ~22k messages, >10 min here
        echoed = take_recorded(amqp_uri, ECHO)
    finally:
        system.stop()
    known = {message.key for message in recorded}
    new_events = sorted({f"{m.routing_key} {m.key}" for m in echoed if m.key is not None and m.key not in known})
    return {"incidents": count, **sent, "messages recorded": len(recorded), "messages replayed": len(again),
            "events published during the replay": len(echoed) - len(again),
            "new event ids during the replay": len(new_events),
            "documents compared": sum(len(docs) for docs in before.values()),
            "documents after the replay": sum(len(docs) for docs in after.values()),
            "diff": list(diff(before, after)), "new events": new_events}


def main() -> int:
    from bench.bench_pipeline import throwaway_vhost

    count = int(os.environ.get("REPLAY_INCIDENTS", "300"))
    seed = int(os.environ.get("REPLAY_SEED", "1"))
    log_dir = Path("var/replay")
    log_dir.mkdir(parents=True, exist_ok=True)
    print(f"replay: {count} incidents, every message replayed twice, shuffled (seed {seed})", flush=True)
    with throwaway_vhost() as amqp_uri:
        result = run(count, log_dir, amqp_uri, seed=seed)
    lines, new_events = result.pop("diff"), result.pop("new events")
    for name, value in result.items():
        print(f"  {name:<40} {value}")
    print(f"diff ({len(lines)} lines):")
    for line in lines:
        print(f"  {line}")
    for line in new_events:
        print(f"  new event: {line}")
    bad = bool(lines or new_events)
    print("replay: " + ("DIFFERENCES FOUND" if bad else "every database equals the first run's"))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
