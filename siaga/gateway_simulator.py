"""A small SMS gateway that speaks Siaga's gateway contract, so the whole path runs without a real one.

    python -m siaga.gateway_simulator                       # accept everything, deliver everything
    python -m siaga.gateway_simulator --accept-rate 0.8 --final-share 0.25 --silence-rate 0.05 \\
        --answer-delay 0.5 --delivery-rate 0.9 --auto-reply "OK {number}" --reply-delay 5
    python -m siaga.gateway_simulator send --from 0812-1001-0505 "OK C0FFEE"   # one inbound SMS

It is what a real gateway adapter replaces: a plain AMQP client (no nameko) that consumes
`sms_requested` from its durable queue `evt-notify-sms_requested--sms-gateway` and publishes on
`gateway.events`, JSON CloudEvents envelopes with source `/sms-gateway/simulator`, persistent,
mandatory, with publisher confirms:

- for each request, after `--answer-delay`: `sms_accepted`, or `sms_refused` (temporary or
  final), or nothing at all (`--silence-rate`: the sender's timeout must cope);
- for each accepted SMS, after `--receipt-delay`: `sms_delivery_reported` (delivered, or
  `--failed-status` for the share `1 - --delivery-rate`);
- an SMS id it already accepted is accepted again with the same gateway id and never sent twice, as long
  as it is among the latest `--remember` it took (50,000), so that a run of months stays its size;
- `--auto-reply` answers an officer's assignment SMS from the officer's phone (`{number}` is the
  report number read from the text), as an inbound `sms_received`, after `--reply-delay`.

Per-number rules (`--refuse`, `--refuse-for-now`, `--ignore`, `--undeliverable`) make a given
phone fail the same way every time, which is what the tests use.
"""
from __future__ import annotations

import argparse
import heapq
import itertools
import json
import logging
import os
import random
import re
import socket
import sys
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, TypeVar

from kombu import Connection, Consumer, Producer

from shared.contract import (
    SMS_ACCEPTED,
    SMS_DELIVERY_REPORTED,
    SMS_RECEIVED,
    SMS_REFUSED,
    EventType,
    dump_event,
)
from shared.envelope import Event, utcnow
from shared.phones import mask_phone, normalise_phone
from shared.trust import broker_user
from siaga.gateway_party import GatewayLoop, read_request, request_queue, serve

log = logging.getLogger("siaga.gateway_simulator")

SOURCE = "/sms-gateway/simulator"
DEFAULT_AMQP_URI = "amqp://guest:guest@127.0.0.1:5672/"
_NAMESPACE = uuid.UUID("1c1f7a2e-5d55-4b7e-9a77-3c0d6f9b2e10")
_REPORT_NUMBER = re.compile(r"#([0-9A-Z]{3,12})\b")
V = TypeVar("V")


@dataclass
class Behaviour:
    accept_rate: float = 1.0
    final_share: float = 0.0  # of the refusals, how many are final
    silence_rate: float = 0.0
    answer_delay: float = 0.2
    receipt_delay: float = 0.5
    delivery_rate: float = 1.0
    failed_status: str = "undelivered"
    auto_reply: str | None = None
    reply_delay: float = 2.0
    remember: int = 50_000  # SMS ids kept to recognise a retry, the oldest forgotten first
    refuse: set[str] = field(default_factory=set)
    refuse_for_now: set[str] = field(default_factory=set)
    ignore: set[str] = field(default_factory=set)
    undeliverable: set[str] = field(default_factory=set)


class Recent(OrderedDict[str, V]):
    """The latest `size` entries: what a gateway's message store holds, so a run of months stays its size."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def __setitem__(self, key: str, value: V) -> None:
        super().__setitem__(key, value)
        while len(self) > self.size:
            self.popitem(last=False)


def gateway_id_for(sms_id: str) -> str:
    """The gateway's id of an SMS: one per sms_id, so a retried request maps to the same message."""
    return "SIM-" + uuid.uuid5(_NAMESPACE, sms_id).hex[:16]


class Simulator(GatewayLoop):
    """One thread: consume requests, keep a schedule of answers, publish them when due."""

    def __init__(self, amqp_uri: str, behaviour: Behaviour, seed: int | None = None):
        self.amqp_uri = amqp_uri
        self.behaviour = behaviour
        self.random = random.Random(seed)
        self.accepted: Recent[str] = Recent(behaviour.remember)  # sms_id → gateway id
        self.receipts: Recent[dict[str, Any]] = Recent(behaviour.remember)  # sms_id → the receipt said for it
        self.schedule: list[tuple[float, int, Callable[[], None]]] = []
        self.counter = itertools.count()
        self.stopping = False

    # ---- deciding ------------------------------------------------------------------------------

    def on_request(self, request: Event) -> None:
        data, behaviour = request.data, self.behaviour
        to = data["to"]
        log.info("request %s attempt %s to %s (%s, %s, %d segment)", data["sms_id"][:8], data["attempt"],
                 mask_phone(to), data["kind"], data["encoding"], data["segments"])
        if data["sms_id"] in self.accepted:  # a retry or redelivery of an SMS already taken: never send twice
            self.later(behaviour.answer_delay, lambda: self.accept(request, deliver=False))
            if receipt := self.receipts.get(data["sms_id"]):  # asked again for a receipt notify never kept
                self.later(behaviour.answer_delay, lambda: self.publish_receipt(receipt))
            return
        roll = self.random.random()
        if to in behaviour.ignore or (to not in behaviour.refuse | behaviour.refuse_for_now
                                      and roll < behaviour.silence_rate):
            log.info("  ... and stays silent")
            return
        if to in behaviour.refuse:
            self.later(behaviour.answer_delay, lambda: self.refuse(request, "number blocked", temporary=False))
        elif to in behaviour.refuse_for_now:
            self.later(behaviour.answer_delay, lambda: self.refuse(request, "throttled", temporary=True))
        elif self.random.random() < behaviour.accept_rate:
            self.later(behaviour.answer_delay, lambda: self.accept(request, deliver=True))
        else:
            final = self.random.random() < behaviour.final_share
            reason = "invalid destination" if final else "queue full, try later"
            self.later(behaviour.answer_delay, lambda: self.refuse(request, reason, temporary=not final))

    def accept(self, request: Event, deliver: bool) -> None:
        data = request.data
        first = data["sms_id"] not in self.accepted
        gateway_id = self.accepted.setdefault(data["sms_id"], gateway_id_for(data["sms_id"]))
        self.publish(SMS_ACCEPTED, {"sms_id": data["sms_id"], "gateway_id": gateway_id, "at": utcnow(),
                                    "attempt": data["attempt"]}, cause=request)
        if deliver and first:
            self.later(self.behaviour.receipt_delay, lambda: self.deliver(request, gateway_id))

    def refuse(self, request: Event, reason: str, temporary: bool) -> None:
        self.publish(SMS_REFUSED, {"sms_id": request.data["sms_id"], "reason": reason, "temporary": temporary,
                                   "at": utcnow(), "attempt": request.data["attempt"]}, cause=request)

    def deliver(self, request: Event, gateway_id: str) -> None:
        data, behaviour = request.data, self.behaviour
        delivered = data["to"] not in behaviour.undeliverable and self.random.random() < behaviour.delivery_rate
        status = "delivered" if delivered else behaviour.failed_status
        self.receipts[data["sms_id"]] = {"sms_id": data["sms_id"], "gateway_id": gateway_id, "status": status,
                                         "at": utcnow()}
        self.publish_receipt(self.receipts[data["sms_id"]])
        number = _REPORT_NUMBER.search(data["text"])
        if delivered and behaviour.auto_reply and data["kind"] == "officer_assignment" and number:
            text = behaviour.auto_reply.format(number=number.group(1))
            self.later(behaviour.reply_delay, lambda: self.inbound(data["to"], text))

    def publish_receipt(self, receipt: dict[str, Any]) -> None:
        """One receipt per SMS, under one id however often it is said."""
        self.publish(SMS_DELIVERY_REPORTED, receipt, id=f"{receipt['gateway_id']}-receipt")

    def inbound(self, sender: str, text: str) -> None:
        gateway_id = "SIM-IN-" + uuid.uuid4().hex[:16]
        self.publish(SMS_RECEIVED, {"gateway_id": gateway_id, "sender": sender, "text": text, "at": utcnow()},
                     id=gateway_id)

    # ---- running -------------------------------------------------------------------------------

    def later(self, delay: float, action: Callable[[], None]) -> None:
        heapq.heappush(self.schedule, (time.monotonic() + max(delay, 0.0), next(self.counter), action))

    def run_due(self) -> None:
        while self.schedule and self.schedule[0][0] <= time.monotonic():
            _, _, action = heapq.heappop(self.schedule)
            action()

    def publish(self, event_type: EventType, data: dict[str, Any], cause: Event | None = None,
                id: str | None = None) -> None:
        body = dump_event(event_type, data, source=SOURCE, cause=cause, id=id)
        self.producer.publish(json.dumps(body), exchange=event_type.exchange, routing_key=event_type.name,
                              content_type="application/json", content_encoding="utf-8",
                              delivery_mode=2, mandatory=True, user_id=broker_user(self.amqp_uri))
        log.info("  %s %s", event_type.name, _summary(data))

    def handle_message(self, body: Any, message) -> None:
        """Answers still scheduled when the broker goes are published after it is back."""
        if (request := read_request(message)) is not None:
            self.on_request(request)
            message.ack()

    def consume(self, ready: Callable[[], None] | None) -> None:
        with Connection(self.amqp_uri, transport_options={"confirm_publish": True}) as connection:
            channel = connection.channel()
            queue = request_queue()(channel)
            queue.declare()
            self.producer = Producer(connection.channel())
            with Consumer(channel, queues=[queue], callbacks=[self.handle_message], prefetch_count=100):
                log.info("SMS gateway simulator consuming %s", queue.name)
                if ready:
                    ready()
                while not self.stopping:
                    self.run_due()
                    wait = self.schedule[0][0] - time.monotonic() if self.schedule else 0.5
                    try:
                        connection.drain_events(timeout=min(max(wait, 0.01), 0.5))
                    except socket.timeout:
                        pass


def _summary(data: dict[str, Any]) -> str:
    shown = {k: v for k, v in data.items() if k in ("sms_id", "status", "reason", "temporary", "text")}
    if "sender" in data:
        shown["from"] = mask_phone(data["sender"])
    return json.dumps(shown, default=str, ensure_ascii=False)


def send_one(amqp_uri: str, sender: str, text: str) -> None:
    """Inject one inbound SMS, as if `sender` had texted the gateway's number."""
    simulator = Simulator(amqp_uri, Behaviour())
    with Connection(amqp_uri, transport_options={"confirm_publish": True}) as connection:
        simulator.producer = Producer(connection.channel())
        simulator.inbound(normalise_phone(sender), text)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m siaga.gateway_simulator", description=__doc__.split("\n")[0])
    parser.add_argument("--amqp-uri", default=None, help="broker (default: $AMQP_URI or the local RabbitMQ)")
    sub = parser.add_subparsers(dest="command")
    send = sub.add_parser("send", help="inject one inbound SMS and exit")
    send.add_argument("--from", dest="sender", required=True, help="the sender's phone (0812..., +62812...)")
    send.add_argument("text")
    rates = parser.add_argument_group("behaviour (rates are 0..1, delays in seconds)")
    rates.add_argument("--accept-rate", type=float, default=1.0, help="share of requests accepted")
    rates.add_argument("--final-share", type=float, default=0.0, help="share of refusals that are final")
    rates.add_argument("--silence-rate", type=float, default=0.0, help="share of requests never answered")
    rates.add_argument("--answer-delay", type=float, default=0.2)
    rates.add_argument("--receipt-delay", type=float, default=0.5)
    rates.add_argument("--delivery-rate", type=float, default=1.0, help="share of accepted SMS delivered")
    rates.add_argument("--failed-status", default="undelivered",
                       choices=("undelivered", "expired", "rejected", "unknown"))
    rates.add_argument("--auto-reply", default=None, help='officers answer assignments, e.g. "OK {number}"')
    rates.add_argument("--reply-delay", type=float, default=2.0)
    rates.add_argument("--seed", type=int, default=None)
    rates.add_argument("--remember", type=int, default=Behaviour.remember,
                       help="SMS ids kept to recognise a retry (the oldest forgotten first)")
    phones = parser.add_argument_group("per-number rules (repeatable)")
    for flag, what in (("--refuse", "refuse for good"), ("--refuse-for-now", "refuse temporarily, always"),
                       ("--ignore", "never answer"), ("--undeliverable", "accept, then report not delivered")):
        phones.add_argument(flag, action="append", default=[], metavar="PHONE", help=what)
    return parser.parse_args(argv)


def behaviour_from(args: argparse.Namespace) -> Behaviour:
    def numbers(values: list[str]) -> set[str]:
        return {normalise_phone(value) for value in values}

    return Behaviour(
        accept_rate=args.accept_rate, final_share=args.final_share, silence_rate=args.silence_rate,
        answer_delay=args.answer_delay, receipt_delay=args.receipt_delay, delivery_rate=args.delivery_rate,
        failed_status=args.failed_status, auto_reply=args.auto_reply, reply_delay=args.reply_delay,
        remember=args.remember,
        refuse=numbers(args.refuse), refuse_for_now=numbers(args.refuse_for_now), ignore=numbers(args.ignore),
        undeliverable=numbers(args.undeliverable),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s sms-gateway %(levelname)s: %(message)s")
    amqp_uri = args.amqp_uri or os.environ.get("AMQP_URI") or DEFAULT_AMQP_URI
    if args.command == "send":
        send_one(amqp_uri, args.sender, args.text)
        return 0
    simulator = Simulator(amqp_uri, behaviour_from(args), seed=args.seed)
    return serve(simulator)


if __name__ == "__main__":
    sys.exit(main())
