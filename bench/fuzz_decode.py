"""Coverage-guided fuzzing of every consumer's decode: bytes in, a decoded message or InvalidMessage out.

Every entrypoint of every service class (`shared.topology.siaga_service_classes()`) is a target. Half
the inputs are raw bodies; the other half are built: a valid envelope of the entrypoint's own event type
(from the fixture factories) mutated by the fuzzer's bytes — values swapped for hostile ones, keys
dropped, added or repeated, numbers and strings spelled as json.dumps never would — so inputs get past
the envelope into each event's schema. Anything raised but InvalidMessage is a finding: in a running
service it is a message no rule foresaw.

    python -m bench.fuzz_decode                 # FUZZ_SECONDS (300) of atheris/libFuzzer
    python -m bench.fuzz_decode -runs=2000      # any libFuzzer flag passes through
"""
from __future__ import annotations

import copy
import inspect
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import atheris

# Coverage is collected from the decode path only: the code every consumer runs on a body, and the
# schemas it runs them through. (Instrumenting everything loaded, eventlet and kombu included, takes minutes.)
with atheris.instrument_imports(include=["shared", "services", "marshmallow"]):
    from shared import topology
    from shared.envelope import CONTENT_TYPE, InvalidMessage
    from shared.trust import Senders
    topology.siaga_service_classes()
from testkit import events
from testkit.fuzzing import CONTENT_TYPES


def consumers() -> list[tuple[str, Any]]:
    """(service.method, entrypoint) for every entrypoint that decodes broker messages, each as its
    service runs in production: as its own party's broker user, so the sender checks run too."""
    found = []
    for service_cls in topology.siaga_service_classes():
        for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if hasattr(entrypoint, "decode"):
                    entrypoint.senders = Senders(f"amqp://siaga-{service_cls.name}:x@localhost/", service_cls.name)
                    found.append((f"{service_cls.name}.{method_name}", entrypoint))
    return sorted(found, key=lambda pair: pair[0])


# Who a message may claim to come from, as the broker would have vouched (or not).
USERS = [None, "", "guest", "siaga-citizen-app", "siaga-officer-app", "siaga-sms-gateway", "siaga-reports",
         "siaga-dispatch", "siaga-notify", "siaga-console", "siaga-", "siaga-../x", "other-citizen-app"]


def seeds() -> dict[str, dict]:
    """One valid message of every event type, as its publisher sends it."""
    received = events.create_report_received()
    created = events.create_assignment_created(received)
    at = events.now()
    report_id = received["data"]["report_id"]
    built = [
        events.create_incident(), received, events.create_duplicate_reported(received),
        events.create_report_rejected(), created, events.create_assignment_escalated(received),
        *(events.create_step(step, created) for step in
          ("acknowledged", "declined", "departed", "arrived", "completed", "expired")),
        events.create_sms_accepted("sms-1", 1), events.create_sms_refused("sms-1", True),
        events.create_delivery_reported("sms-1", "delivered"),
        events.create_sms_received(events.OFFICER["phone"], "OK 1A2B3C"),
        events.envelope("report_cancelled", {"report_id": report_id, "number": events.number_of(report_id),
                                             "reason": "laporan palsu", "cancelled_by": "piket.menteng", "at": at}),
        events.envelope("officer_location_updated", {"nrp": events.OFFICER["nrp"], "lat": -6.19, "lon": 106.83,
                                                     "at": at}),
        events.envelope("officer_status_changed", {"nrp": events.OFFICER["nrp"], "status": "available", "at": at}),
        events.envelope("officer_replied", {"nrp": events.OFFICER["nrp"], "phone": events.OFFICER["phone"],
                                            "assignment_id": str(uuid.uuid4()), "action": "acknowledge",
                                            "replied_at": at}),
        events.envelope("sms_failed", {"sms_id": "sms-1", "to": events.OFFICER["phone"],
                                       "recipient_role": "officer", "attempts": 3, "reason": "no answer"}),
        events.envelope("reply_unmatched", {"phone": events.OFFICER["phone"], "action": "acknowledge",
                                            "number": "1A2B3C", "text": None, "replied_at": at, "known": "not_yours"}),
        events.create_reply_refused(events.OFFICER["phone"], "which", ["1A2B3C", "4D5E6F"]),
        events.create_visit_recorded(), events.create_concern_reported(), events.create_community_sms_requested(),
    ]
    return {body["type"]: json.loads(json.dumps(body, default=str)) for body in built}


CONSUMERS = consumers()
SEEDS = seeds()

# Spelled into the text after json.dumps, which would refuse or normalise them.
RAW = ['1' * 5000, '1' * 400, '-9223372036854775809', '1e400', '-1e400', 'NaN', 'Infinity', '-Infinity',
       '"\\ud800"', '"\\udfff x"', '"\\ud83d\\ude00"', '[' * 5000 + ']' * 5000, '{"a":' * 2000 + '1' + '}' * 2000,
       '0.' + '0' * 1000 + '1', '1E-400', '"\\u0000"']
SENTINEL = "\u0000raw-{}\u0000"
PLAUSIBLE = ["citizen_app", "cctv", "laka lantas", "31.71.06.1001", "31.71.06.1999", "0812-9999-1234", "+62 812",
             "P1", "officer", "acknowledge", "delivered", "available", "/siaga/reports", "1.0", "incident_reported"]


def hostile(fdp: atheris.FuzzedDataProvider) -> Any:
    choice = fdp.ConsumeIntInRange(0, 15)
    if choice == 0:
        return None
    if choice == 1:
        return fdp.ConsumeBool()
    if choice == 2:
        return fdp.ConsumeInt(fdp.ConsumeIntInRange(1, 10))
    if choice == 3:
        return fdp.ConsumeFloat()
    if choice == 4:
        return fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 64))
    if choice == 5:
        return fdp.PickValueInList(PLAUSIBLE)
    if choice == 6:
        return []
    if choice == 7:
        return {}
    if choice == 8:
        return [fdp.ConsumeUnicode(8)] * fdp.ConsumeIntInRange(1, 4)
    if choice == 9:
        return {fdp.ConsumeUnicode(8): fdp.ConsumeUnicode(8)}
    if choice == 10:
        return SENTINEL.format(fdp.ConsumeIntInRange(0, len(RAW) - 1))
    if choice == 11:
        value: Any = fdp.ConsumeUnicode(4)
        for level in range(fdp.ConsumeIntInRange(1, 60)):
            value = [value] if level % 2 else {"n": value}
        return value
    if choice == 12:
        return fdp.PickValueInList(["2026-11-23T01:00:00Z", "2026-11-23T01:00:00", "9999-99-99", "", "T",
                                    "2026-11-23T01:00:00+99:00", "-0001-01-01T00:00:00Z"])
    if choice == 13:
        return "x" * fdp.ConsumeIntInRange(0, 5000)
    if choice == 14:
        return 2 ** fdp.ConsumeIntInRange(0, 70) * (-1 if fdp.ConsumeBool() else 1)
    return fdp.ConsumeIntInRange(-200, 200) / 7


def places(document: Any, path: tuple = ()) -> list[tuple]:
    """Every (container, key) in a document, to pick one to mutate."""
    found = []
    items = document.items() if isinstance(document, dict) else enumerate(document) if isinstance(
        document, list) else ()
    for key, value in items:
        found.append((document, key))
        found.extend(places(value, path + (key,)))
    return found


def mutate(document: dict, fdp: atheris.FuzzedDataProvider) -> None:
    container, key = fdp.PickValueInList(places(document))
    operation = fdp.ConsumeIntInRange(0, 4)
    if operation == 0 and isinstance(container, dict):
        del container[key]
    elif operation == 1 and isinstance(container, dict):
        container[fdp.ConsumeUnicode(fdp.ConsumeIntInRange(0, 12))] = hostile(fdp)
    elif operation == 2:
        container[key] = [container[key]] if fdp.ConsumeBool() else {"value": container[key]}
    else:
        container[key] = hostile(fdp)


def render(document: dict, fdp: atheris.FuzzedDataProvider) -> bytes:
    text = json.dumps(document, ensure_ascii=fdp.ConsumeBool())
    for index, raw in enumerate(RAW):
        text = text.replace(json.dumps(SENTINEL.format(index), ensure_ascii=False), raw)
        text = text.replace(json.dumps(SENTINEL.format(index)), raw)
    if fdp.ConsumeBool() and text.endswith("}"):  # a key said twice, at the top
        key = fdp.PickValueInList(["id", "source", "type", "data", "time", "specversion"])
        text = f'{text[:-1]}, {json.dumps(key)}: {json.dumps(hostile(fdp))}}}'
    return text.encode("utf-8", "surrogatepass")


def built_message(fdp: atheris.FuzzedDataProvider, entrypoint: Any) -> SimpleNamespace:
    event_type = getattr(entrypoint, "event_type", None)
    document = copy.deepcopy(SEEDS[event_type.name] if event_type else SEEDS["incident_reported"])
    for _ in range(fdp.ConsumeIntInRange(0, 4)):
        mutate(document, fdp)
    content_type = CONTENT_TYPE if fdp.ConsumeIntInRange(0, 7) else fdp.PickValueInList(CONTENT_TYPES)
    return message(render(document, fdp), content_type, headers(fdp), fdp.PickValueInList(USERS))


def headers(fdp: atheris.FuzzedDataProvider) -> dict:
    """What a dead letter's reader meets: our reason header, the broker's x-death, or anything."""
    if fdp.ConsumeBool():
        return {}
    shape = fdp.ConsumeIntInRange(0, 3)
    value = hostile(fdp)
    if shape == 0:
        return {"x-siaga-reason": json.dumps(value)}
    if shape == 1:
        return {"x-siaga-reason": value}
    if shape == 2:
        return {"x-death": value}
    return {"x-death": [value], "x-siaga-queue": value}


def message(body: bytes, content_type: str | None, headers: dict | None = None,
            user_id: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(body=body, content_type=content_type, headers=headers or {},
                           properties={"user_id": user_id} if user_id is not None else {},
                           delivery_info={"exchange": "fuzz", "routing_key": "fuzz"})


def one_input(data: bytes) -> None:
    """The property: decoding anything gives the handler's arguments or InvalidMessage, nothing else."""
    fdp = atheris.FuzzedDataProvider(data)
    name, entrypoint = CONSUMERS[fdp.ConsumeIntInRange(0, len(CONSUMERS) - 1)]
    if fdp.ConsumeBool():
        sent = built_message(fdp, entrypoint)
    else:
        sent = message(fdp.ConsumeBytes(fdp.remaining_bytes()), CONTENT_TYPE)
    try:
        entrypoint.decode(sent)
    except InvalidMessage:
        pass


def write_seed_corpus(folder: Path) -> None:
    """The factories' messages, one per consumer, for the fuzzer to start from."""
    for index, (_, entrypoint) in enumerate(CONSUMERS):
        event_type = getattr(entrypoint, "event_type", None)
        body = json.dumps(SEEDS[event_type.name] if event_type else SEEDS["incident_reported"]).encode()
        folder.joinpath(f"seed-{index}").write_bytes(body + b"\x00" + bytes([index]))


def main(argv: list[str]) -> None:
    seconds = int(os.environ.get("FUZZ_SECONDS", "300"))
    flags = [arg for arg in argv[1:] if arg.startswith("-")]
    corpus = [arg for arg in argv[1:] if not arg.startswith("-")]
    if not corpus:
        corpus = [tempfile.mkdtemp(prefix="siaga-fuzz-decode-")]
        write_seed_corpus(Path(corpus[0]))
    if not any(flag.startswith(("-runs=", "-max_total_time=")) for flag in flags):
        flags.append(f"-max_total_time={seconds}")
    findings = Path("var", "fuzz-decode")
    findings.mkdir(parents=True, exist_ok=True)
    atheris.Setup([argv[0], *flags, "-max_len=65536", "-timeout=20", f"-artifact_prefix={findings}/", *corpus],
                  one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
