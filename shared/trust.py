"""Who sent a message: the broker says, never the message.

Every publisher sets the AMQP `user_id` property, and RabbitMQ refuses a message whose `user_id` is
not the user of the connection it came on; each party has its own broker user, `<instance>-<party>`
(siaga/broker_users.py). A consumer takes the party from that user and lets the contract's table
(`shared.contract.refusal`) say whether that party may state this fact.

On a development broker where one user runs everything (the tests' `guest`) the broker cannot tell
senders apart: the party is then read from the event's own `source` (`/<party>/…`), so addressed
answers still find their app, and nothing is refused for its sender. A service knows which case it
is in from its own user: `<instance>-<service>` means every party has its own.
"""
from __future__ import annotations

import logging
import re
from dataclasses import replace

from kombu import Connection

from shared.contract import UNKNOWN_PARTY, refusal
from shared.envelope import Event, InvalidMessage

log = logging.getLogger(__name__)

PARTY_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
SENDER_HEADER = "x-siaga-sender"  # on a dead letter: the party that sent the original
_warned: set[tuple[str, str]] = set()  # once per service and user, not once per entrypoint


def party_named(value: object) -> str:
    """A party's name as a routing key may carry it, or UNKNOWN_PARTY."""
    return value if isinstance(value, str) and PARTY_NAME.fullmatch(value) else UNKNOWN_PARTY


def broker_user(amqp_uri: str) -> str:
    return Connection(amqp_uri).userid or "guest"


class Senders:
    """Tells, for one service, which party sent a message and whether it may state what it says."""

    def __init__(self, amqp_uri: str, service_name: str):
        self.user = broker_user(amqp_uri)
        suffix = f"-{service_name}"
        # The instance's prefix of every party's user; None on a broker with one user for all.
        self.prefix = self.user[:-len(service_name)] if self.user.endswith(suffix) else None
        if self.prefix is None and (service_name, self.user) not in _warned:
            _warned.add((service_name, self.user))
            log.warning("%s runs as broker user %r, not as its own party's user: senders cannot be told "
                        "apart, so what each may state is not checked", service_name, self.user)

    def party(self, user_id: str | None, source: object) -> str:
        """The party the broker vouches for; refuses a message the broker did not vouch for."""
        if self.prefix is None:
            return party_named(source.split("/")[1] if isinstance(source, str) and source.count("/") >= 1 else "")
        if not isinstance(user_id, str) or not user_id:
            raise InvalidMessage({"sender": "no user_id: the broker did not vouch for the sender"})
        party = user_id[len(self.prefix):] if user_id.startswith(self.prefix) else ""
        if not PARTY_NAME.fullmatch(party):
            raise InvalidMessage({"sender": f"not allowed for {user_id}"})
        return party

    def vouched(self, event: Event, user_id: str | None) -> Event:
        """The event with its sender, when that sender may state it; else an InvalidMessage naming the user."""
        party = self.party(user_id, event.source)
        if self.prefix is not None:
            why = refusal(party, event)
            if why:
                raise InvalidMessage({"sender": f"not allowed for {user_id}: {why}"}, source=event.source, id=event.id)
        return replace(event, sender=party)
