"""The gateway bridge to Kannel: Siaga's gateway contract on one side, Kannel's HTTP interfaces on the other.

    KANNEL_SENDSMS_URL=http://127.0.0.1:13013/cgi-bin/sendsms KANNEL_PASSWORD=... python -m siaga.kannel_bridge

It replaces the simulator (`siaga.gateway_simulator`) where a real gateway runs, as a plain AMQP
client publishing as the `sms-gateway` party (source `/sms-gateway/kannel`):

- each `sms_requested` from `evt-notify-sms_requested--sms-gateway` is submitted to smsbox's
  `sendsms` with a `dlr-url` back to this bridge; `sms_accepted` only once Kannel answered 202 (it has
  stored the message), `sms_refused` (final) when Kannel says the request itself is wrong (4xx);
- Kannel unreachable, failing (5xx) or refusing our credentials: the request stays unacknowledged in
  the bridge, in order, and is tried again with backoff; nothing is acknowledged until Kannel took it;
- an SMS id Kannel already took (a retry, a redelivery, a later attempt) is answered `sms_accepted`
  again and never submitted twice: the fence is the bridge's state file, keyed by sms_id;
- Kannel's delivery reports (`/dlr`, signed per sms_id so nobody else can forge one) become one
  `sms_delivery_reported` per SMS, whatever their order or number; Kannel's inbound SMS (`/inbound`,
  from smsbox's `sms-service`, with the bridge's token) become `sms_received`, one per Kannel id.
  Kannel gets 200 only once the broker confirmed; otherwise 503, and smsbox retries.

A crash in the instant between Kannel's 202 and the state file's write sends that one SMS twice on
redelivery: an officer reading an SMS twice is better than one never sent.
"""
from __future__ import annotations

import argparse
import hashlib
import hmac
import json
import logging
import os
import secrets
import socket
import sqlite3
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable, ClassVar

from kombu import Connection, Consumer, Producer
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from shared import metrics
from shared.contract import (
    SMS_ACCEPTED,
    SMS_DELIVERY_REPORTED,
    SMS_RECEIVED,
    SMS_REFUSED,
    EventType,
    dump_event,
)
from shared.envelope import Event, utcnow
from shared.phones import mask_phone
from shared.settings import load, setting
from shared.trust import broker_user
from siaga.gateway_party import GatewayLoop, read_request, request_queue, serve
from siaga.settings import siaga_settings

log = logging.getLogger("siaga.kannel_bridge")

SOURCE = "/sms-gateway/kannel"
_NAMESPACE = uuid.UUID("6b0e2c4a-8f61-4d7c-b1d3-2a9e5f7c0d42")
# Kannel's delivery report types (dlr-mask bits): the final ones are the contract's receipts.
DLR_STATUS = {1: "delivered", 2: "undelivered", 16: "rejected"}
DLR_MASK = 1 | 2 | 8 | 16  # 8 (reached the SMSC) is logged only
CODING = {"GSM-7": "0", "UCS-2": "2"}
MAX_TEXT = 1600
# What smsbox's sms-service appends to the bridge's /inbound URL (Kannel's escape codes).
GET_URL_PARAMETERS = "&from=%p&to=%P&id=%I&at=%T&text=%a"


@dataclass(frozen=True)
class BridgeSettings:
    SECTION: ClassVar[str] = "environment"
    sendsms_url: str = setting("http://127.0.0.1:13013/cgi-bin/sendsms", "Kannel smsbox's sendsms URL",
                               key="KANNEL_SENDSMS_URL")
    username: str = setting("siaga", "the bridge's Kannel sendsms-user", key="KANNEL_USERNAME")
    password: str = setting("", "its password", key="KANNEL_PASSWORD")
    sender: str = setting("", "the SMS sender (from); unset: Kannel's own", key="KANNEL_SENDER")
    address: str = setting("127.0.0.1:13080", "host:port of the bridge's HTTP server (Kannel's DLRs and "
                           "inbound SMS)", key="KANNEL_BRIDGE_ADDRESS")
    public_url: str = setting("", "the URL Kannel reaches the bridge at; unset: http://<address>",
                              key="KANNEL_BRIDGE_URL")
    state: str = setting("", "the bridge's state file (the fence against sending twice); unset: "
                         "var/<instance>/kannel-bridge.sqlite3", key="KANNEL_BRIDGE_STATE")
    secret: str = setting("", "signs the dlr-urls and the inbound URL; unset: one generated and kept in the "
                          "state file", key="KANNEL_BRIDGE_SECRET")
    timeout: float = setting(10.0, "seconds Kannel has to answer one sendsms", key="KANNEL_TIMEOUT")
    retry_base: float = setting(0.5, "seconds before retrying Kannel after a failure; doubled each time",
                                key="KANNEL_RETRY_BASE")
    retry_max: float = setting(30.0, "the longest wait between two tries at Kannel (seconds)",
                               key="KANNEL_RETRY_MAX")
    prefetch: int = setting(50, "requests the bridge holds unacknowledged at once", key="KANNEL_PREFETCH")

    @property
    def base_url(self) -> str:
        return (self.public_url or f"http://{self.address}").rstrip("/")


def bridge_settings(environ=os.environ) -> BridgeSettings:
    return load(BridgeSettings, environ)


def sign(secret: bytes, subject: str) -> str:
    return hmac.new(secret, subject.encode(), hashlib.sha256).hexdigest()[:32]


def inbound_url(base_url: str, secret: bytes) -> str:
    """What smsbox's sms-service calls, before the %-parameters it fills in (GET_URL_PARAMETERS)."""
    return f"{base_url}/inbound?token={sign(secret, 'inbound')}"


def gateway_id_for(sms_id: str) -> str:
    """The gateway id of an SMS: one per sms_id, so every answer about it names the same message."""
    return "KANNEL-" + uuid.uuid5(_NAMESPACE, sms_id).hex[:16]


class State:
    """What Kannel took and which receipts were passed on; survives the bridge's restarts."""

    def __init__(self, path: str | Path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()
        self.db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self.db.executescript("""
            PRAGMA journal_mode=WAL;
            CREATE TABLE IF NOT EXISTS accepted (sms_id TEXT PRIMARY KEY, attempt INTEGER, at TEXT);
            CREATE TABLE IF NOT EXISTS receipts (sms_id TEXT PRIMARY KEY, status TEXT, at TEXT);
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
        """)

    def _one(self, sql: str, *args: Any):
        with self.lock:
            return self.db.execute(sql, args).fetchone()

    def _write(self, sql: str, *args: Any) -> None:
        with self.lock:
            self.db.execute(sql, args)

    def was_accepted(self, sms_id: str) -> bool:
        return self._one("SELECT 1 FROM accepted WHERE sms_id = ?", sms_id) is not None

    def accept(self, sms_id: str, attempt: int) -> None:
        self._write("INSERT OR IGNORE INTO accepted VALUES (?, ?, ?)", sms_id, attempt, utcnow().isoformat())

    def receipt(self, sms_id: str) -> tuple[str, datetime] | None:
        """The final receipt passed on for this SMS: its status and the network's time."""
        row = self._one("SELECT status, at FROM receipts WHERE sms_id = ?", sms_id)
        return (row[0], datetime.fromisoformat(row[1])) if row else None

    def record_receipt(self, sms_id: str, status: str, at: datetime) -> None:
        self._write("INSERT OR IGNORE INTO receipts VALUES (?, ?, ?)", sms_id, status, at.isoformat())

    def secret(self, given: str = "") -> str:
        if given:
            return given
        self._write("INSERT OR IGNORE INTO meta VALUES ('secret', ?)", secrets.token_hex(32))
        return self._one("SELECT value FROM meta WHERE key = 'secret'")[0]


class Publisher:
    """Publishes as the sms-gateway party, with publisher confirms; shared by the consumer and HTTP threads."""

    def __init__(self, amqp_uri: str):
        self.amqp_uri = amqp_uri
        self.lock = threading.Lock()
        self.connection: Connection | None = None

    def publish(self, event_type: EventType, data: dict[str, Any], cause: Event | None = None,
                id: str | None = None) -> None:
        body = json.dumps(dump_event(event_type, data, source=SOURCE, cause=cause, id=id))
        with self.lock:
            try:
                if self.connection is None:
                    self.connection = Connection(self.amqp_uri, transport_options={"confirm_publish": True})
                    self.producer = Producer(self.connection.channel())
                self.producer.publish(body, exchange=event_type.exchange, routing_key=event_type.name,
                                      content_type="application/json", content_encoding="utf-8", delivery_mode=2,
                                      mandatory=True, user_id=broker_user(self.amqp_uri))
            except Exception:
                self.close()
                raise
        metrics.observe_published("sms-gateway", event_type.name, data)
        log.info("  %s %s", event_type.name, {k: v for k, v in data.items() if k in ("sms_id", "status", "reason")})

    def close(self) -> None:
        if self.connection is not None:
            try:
                self.connection.release()
            except Exception:  # a connection already broken has nothing left to release
                pass
        self.connection = None


class KannelUnavailable(Exception):
    """Kannel did not take the SMS, and not because of the SMS: try it again later."""


def sendsms(settings: BridgeSettings, params: dict[str, str]) -> tuple[int, str]:
    """One HTTP request to smsbox: (status, body); KannelUnavailable when Kannel cannot be reached."""
    url = f"{settings.sendsms_url}?{urllib.parse.urlencode(params)}"
    try:
        with urllib.request.urlopen(url, timeout=settings.timeout) as response:
            return response.status, response.read().decode("utf-8", "replace").strip()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace").strip()
    except (OSError, socket.timeout) as exc:
        raise KannelUnavailable(f"Kannel unreachable: {exc}") from exc


class Bridge(GatewayLoop):
    """The consumer side holds requests in order until Kannel takes them; the HTTP side turns Kannel's
    callbacks into events."""

    def __init__(self, amqp_uri: str, settings: BridgeSettings, state: State,
                 submit: Callable[[BridgeSettings, dict[str, str]], tuple[int, str]] = sendsms,
                 publisher: Publisher | None = None):
        self.amqp_uri = amqp_uri
        self.settings = settings
        self.state = state
        self.secret = state.secret(settings.secret).encode()
        self.submit = submit
        self.publisher = publisher or Publisher(amqp_uri)
        self.pending: deque[tuple[Event, Any]] = deque()  # (request, its AMQP message) not yet acknowledged
        self.failures = 0
        self.retry_at = 0.0
        self.submitted = 0
        self.stopping = False

    # ---- signing -------------------------------------------------------------------------------

    def token(self, subject: str) -> str:
        return sign(self.secret, subject)

    def verified(self, subject: str, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.token(subject), token)

    def dlr_url(self, sms_id: str, attempt: int) -> str:
        query = urllib.parse.urlencode({"sms": sms_id, "attempt": attempt, "token": self.token(sms_id)})
        return f"{self.settings.base_url}/dlr?{query}&type=%d&at=%T"

    @property
    def inbound_url(self) -> str:
        return inbound_url(self.settings.base_url, self.secret)

    # ---- requests --------------------------------------------------------------------------------

    def forward(self, request: Event) -> bool:
        """Answer one request; False when Kannel did not take it and it must be tried again."""
        data = request.data
        sms_id, attempt = data["sms_id"], data["attempt"]
        log.info("request %s attempt %s to %s", sms_id[:8], attempt, mask_phone(data["to"]))
        if self.state.was_accepted(sms_id):
            self.answer_accepted(request)
            if receipt := self.state.receipt(sms_id):  # asked again for a receipt notify never kept
                self.publish_receipt(sms_id, *receipt)
            return True
        params = {"username": self.settings.username, "password": self.settings.password, "to": data["to"],
                  "text": data["text"], "charset": "UTF-8", "coding": CODING.get(data["encoding"], "0"),
                  "dlr-mask": str(DLR_MASK), "dlr-url": self.dlr_url(sms_id, attempt)}
        if self.settings.sender:
            params["from"] = self.settings.sender
        try:
            status, body = self.submit(self.settings, params)
        except KannelUnavailable as exc:
            log.warning("%s; keeping %s", exc, sms_id[:8])
            return False
        if status == 202:
            self.submitted += 1
            self.state.accept(sms_id, attempt)
            self.answer_accepted(request)
            return True
        if 400 <= status < 500 and status not in (401, 403):
            self.publisher.publish(SMS_REFUSED, {"sms_id": sms_id, "reason": f"Kannel {status}: {body}"[:200],
                                                 "temporary": False, "at": utcnow(), "attempt": attempt},
                                   cause=request)
            return True
        log.warning("Kannel answered %s %r; keeping %s", status, body, sms_id[:8])
        return False

    def answer_accepted(self, request: Event) -> None:
        data = request.data
        self.publisher.publish(SMS_ACCEPTED, {"sms_id": data["sms_id"], "gateway_id": gateway_id_for(data["sms_id"]),
                                              "at": utcnow(), "attempt": data["attempt"]}, cause=request)

    def flush(self) -> None:
        """Forward held requests in order while Kannel takes them; after a failure, wait out the backoff."""
        while self.pending and time.monotonic() >= self.retry_at:
            request, message = self.pending[0]
            if not self.forward(request):
                self.failures += 1
                self.retry_at = time.monotonic() + min(self.settings.retry_base * 2 ** (self.failures - 1),
                                                       self.settings.retry_max)
                return
            self.failures = 0
            self.pending.popleft()
            message.ack()

    def handle_message(self, body: Any, message) -> None:
        if (request := read_request(message)) is not None:
            self.pending.append((request, message))
            self.flush()

    # ---- Kannel's callbacks ------------------------------------------------------------------------

    def on_dlr(self, query: dict[str, str]) -> int:
        """A delivery report: the HTTP status for Kannel (it retries what did not get 200)."""
        sms_id = query.get("sms", "")
        if not self.verified(sms_id, query.get("token")):
            return 403
        kind = int(query["type"]) if query.get("type", "").isdigit() else 0
        status = DLR_STATUS.get(kind)
        log.info("delivery report %s for %s", kind, sms_id[:8])
        if status is None or self.state.receipt(sms_id):
            return 200  # on its way (4, 8), or a receipt already passed on: Kannel can repeat them
        at = _when(query.get("at"))
        self.publish_receipt(sms_id, status, at)
        self.state.record_receipt(sms_id, status, at)
        return 200

    def publish_receipt(self, sms_id: str, status: str, at: datetime) -> None:
        """One receipt per SMS, under one id however often it is said (Kannel's repeats, notify's asks)."""
        self.publisher.publish(SMS_DELIVERY_REPORTED, {
            "sms_id": sms_id, "gateway_id": gateway_id_for(sms_id), "status": status, "at": at},
            id=f"{gateway_id_for(sms_id)}-receipt")

    def on_inbound(self, query: dict[str, str]) -> int:
        if not self.verified("inbound", query.get("token")):
            return 403
        if not query.get("from") or not query.get("id"):
            return 400
        gateway_id = f"KANNEL-IN-{query['id']}"
        self.publisher.publish(SMS_RECEIVED, {"gateway_id": gateway_id, "sender": query["from"],
                                              "text": query.get("text", "")[:MAX_TEXT], "at": _when(query.get("at"))},
                               id=gateway_id)
        return 200

    # ---- running ---------------------------------------------------------------------------------

    def serve_http(self) -> ThreadingHTTPServer:
        host, port = self.settings.address.rsplit(":", 1)
        server = ThreadingHTTPServer((host, int(port)), _handler(self))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="kannel-callbacks", daemon=True).start()
        return server

    def connection_lost(self) -> None:
        self.pending.clear()

    def consume(self, ready: Callable[[], None] | None) -> None:
        with Connection(self.amqp_uri) as connection:
            channel = connection.channel()
            queue = request_queue()(channel)
            queue.declare()
            with Consumer(channel, queues=[queue], callbacks=[self.handle_message],
                          prefetch_count=self.settings.prefetch):
                log.info("Kannel bridge consuming %s, submitting to %s", queue.name, self.settings.sendsms_url)
                if ready:
                    ready()
                while not self.stopping:
                    self.flush()
                    wait = self.retry_at - time.monotonic() if self.pending else 0.5
                    try:
                        connection.drain_events(timeout=min(max(wait, 0.01), 0.5))
                    except socket.timeout:
                        pass


def _when(epoch: str | None) -> datetime:
    try:
        return datetime.fromtimestamp(int(epoch), tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return utcnow()


def _handler(bridge: Bridge) -> type[BaseHTTPRequestHandler]:
    routes = {"/dlr": bridge.on_dlr, "/inbound": bridge.on_inbound, "/healthz": lambda query: 200}

    class Callbacks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            path, _, raw = self.path.partition("?")
            route = routes.get(path)
            if path == "/metrics":  # what it published (shared/metrics.py), for Prometheus
                self.send_metrics()
                return
            if route is None:
                status = 404
            else:
                query = {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
                try:
                    status = route(query)
                except Exception:
                    log.exception("could not pass on Kannel's %s; it will retry", path)
                    status = 503
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def send_metrics(self) -> None:
            body = generate_latest(REGISTRY)
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE_LATEST)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("http: " + format, *args)

    return Callbacks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siaga.kannel_bridge", description=__doc__.split("\n")[0])
    parser.add_argument("--print-get-url", action="store_true",
                        help="print the get-url for Kannel's sms-service (it holds the bridge's token) and exit")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"),
                        format="%(asctime)s sms-gateway %(levelname)s: %(message)s")
    siaga = siaga_settings()
    settings = bridge_settings()
    state = State(settings.state or siaga.var_dir / "kannel-bridge.sqlite3")
    bridge = Bridge(siaga.broker_uri, settings, state)
    if args.print_get_url:
        print(f"{bridge.inbound_url}{GET_URL_PARAMETERS}")
        return 0
    if not settings.password:
        parser.error("set KANNEL_PASSWORD: the password of the bridge's sendsms-user in kannel.conf")
    bridge.serve_http()
    return serve(bridge)


if __name__ == "__main__":
    sys.exit(main())
