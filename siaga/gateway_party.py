"""What every SMS gateway process does as the `sms-gateway` party, whatever sends the SMS (the
simulator, the Kannel bridge): read `sms_requested` from the gateway's own queue, and outlive a broker
restart as a real gateway would (what was not acknowledged comes back)."""
from __future__ import annotations

import logging
import signal
import time
from typing import Callable

from kombu import Connection, Queue
from kombu.exceptions import OperationalError

from shared import topology
from shared.contract import SMS_REQUESTED, load_event
from shared.envelope import Event, InvalidMessage, decode_body

log = logging.getLogger(__name__)

GATEWAY = "sms-gateway"  # the party in shared/contract.py PARTIES


def request_queue() -> Queue:
    return topology.external_queue(GATEWAY, SMS_REQUESTED)


def read_request(message) -> Event | None:
    """The request a message holds; an unreadable one is rejected (the queue dead-letters it) and None."""
    try:
        return load_event(decode_body(message.body, message.content_type), SMS_REQUESTED)
    except InvalidMessage as exc:
        log.error("rejecting an unreadable sms_requested: %s", exc)
        message.reject()
        return None


class GatewayLoop:
    """Consume until stopped; a lost broker is waited out, one second at a time."""

    amqp_uri: str
    stopping: bool = False

    def consume(self, ready: Callable[[], None] | None) -> None:
        raise NotImplementedError

    def connection_lost(self) -> None:
        """What the process forgets when its connection goes (messages it held come back)."""

    def run(self, ready: Callable[[], None] | None = None) -> None:
        lost: tuple[type[BaseException], ...] = Connection(self.amqp_uri).connection_errors + (
            OSError, OperationalError)
        while not self.stopping:
            try:
                self.consume(ready)
            except lost as exc:
                log.warning("broker connection lost (%r); reconnecting in 1 s", exc)
                self.connection_lost()
                ready = None
                time.sleep(1)


def serve(process: GatewayLoop) -> int:
    """Run a gateway process as a command: SIGTERM lets it finish its current message, Ctrl-C stops it."""
    signal.signal(signal.SIGTERM, lambda *_: setattr(process, "stopping", True))
    try:
        process.run()
    except KeyboardInterrupt:
        pass
    return 0
