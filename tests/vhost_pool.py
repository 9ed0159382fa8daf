"""Vhosts with the whole topology declared, handed to one test at a time and made as new between tests.

Declaring Siaga's topology (some fifty quorum queues, each a Raft group) and deleting it with its vhost
costs the broker about 0.6 s of CPU and the test 0.85 s; the suite did it for almost every test. Made as
new, a vhost costs some 0.1 s: its queues purged and proven empty, whatever the test added removed. A
vhost the test changed in a way that cannot be undone cheaply — a broker user granted on it, a policy, a
limit, a binding or queue of the topology gone, a connection or consumer still there — is deleted and
replaced instead, so a test never sees what an earlier one left.

A process holds one vhost at a time, and one it cannot reuse is deleted before another is made: each
quorum queue reserves about 2.3 of RabbitMQ's file handles, so a vhost with the topology takes some
110 of the 927 a broker has under Debian's default limit of 1,024 open files. Past that budget RabbitMQ
accepts no connection at all, without a word in its log.

A test process's vhosts carry its pid: one killed (a run stopped with Ctrl-C twice, a CI timeout) left
its vhosts behind, each with its quorum queues' file handles, and a broker left holding 17 hung (a vhost
being made never finished, no connection was answered). A run first deletes the vhosts of test
processes no longer running (`delete_orphans`).

Needs the management API (its lists of connections, permissions and bindings); with `rabbitmqctl`
only, or with SIAGA_TEST_FRESH_VHOSTS set (to rule the pool out when a test misbehaves), every test gets
a new vhost.
"""
from __future__ import annotations

import json
import logging
import os
import re
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote

import kombu.pools
from kombu import Connection

from siaga.broker_admin import BrokerAdmin, ManagementApi

log = logging.getLogger(__name__)

# Each of these lists must be empty in a vhost handed to the next test.
MUST_BE_EMPTY = ("vhosts/{v}/topic-permissions", "policies/{v}",
                 "operator-policies/{v}", "vhost-limits/{v}")


PREFIX = "siaga-test-"
OWNED = re.compile(rf"{PREFIX}pid(\d+)-[0-9a-f]+")


def vhost_name(pid: int | None = None) -> str:
    """A new vhost's name, saying which process it is for (this one unless `pid`)."""
    return f"{PREFIX}pid{os.getpid() if pid is None else pid}-{uuid.uuid4().hex[:10]}"


def running(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # PermissionError: running, as another user
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def delete_orphans(admin: BrokerAdmin) -> list[str]:
    """Delete the vhosts of test processes of this machine that are no longer running; which ones."""
    if not isinstance(admin, ManagementApi):
        return []
    orphans = [vhost["name"] for vhost in json.loads(admin.call("GET", "vhosts?columns=name"))
               if (owned := OWNED.fullmatch(vhost["name"])) and not running(int(owned[1]))]
    for vhost in orphans:
        log.warning("vhost %s deleted: the test process that made it is gone", vhost)
        admin.delete_vhost(vhost)
    return orphans


@dataclass(frozen=True)
class Pristine:
    """What a vhost holds right after the topology was declared on it."""

    queues: frozenset[str]
    exchanges: frozenset[str]
    bindings: frozenset[tuple[str, str, str, str]]


def close_pooled_connections(vhost: str) -> None:
    """nameko publishes through kombu's process-wide pools, which keep a connection open per vhost after
    the services stopped; keyed by the connection's fields, the vhost the fifth (as nameko's own test
    fixture reads it)."""
    for group in (kombu.pools.producers, kombu.pools.connections):
        for key, pool in list(group.items()):
            if isinstance(key, Iterable) and key[4] == vhost:
                pool.force_close_all()
                dict.__delitem__(group, key)


class VhostPool:
    def __init__(self, admin: BrokerAdmin, broker: str, declare, reuse: bool = True):
        """`broker`: user:password@host:port; `declare(amqp_uri)`: declares the topology every vhost holds."""
        self.admin, self.broker, self.declare = admin, broker, declare
        self.user = broker.split(":")[0]
        self.reusable = reuse and isinstance(admin, ManagementApi)
        self.returned: list[str] = []
        self.pristine: Pristine | None = None
        self.made = self.reused = 0

    def uri(self, vhost: str) -> str:
        return f"amqp://{self.broker}/{vhost}"

    def take(self) -> str:
        while self.returned:
            vhost = self.returned.pop()
            close_pooled_connections(vhost)
            if self.reusable and not (why := self.not_as_new(vhost)):
                self.reused += 1
                return self.uri(vhost)
            log.info("vhost %s deleted, not reused: %s", vhost, why if self.reusable else "reuse is off")
            self.admin.delete_vhost(vhost)
        vhost = vhost_name()
        self.admin.add_vhost(vhost, self.user)
        self.declare(self.uri(vhost))
        self.made += 1
        if self.reusable and self.pristine is None:
            self.pristine = self.state(vhost)
        return self.uri(vhost)

    def give_back(self, uri: str) -> None:
        """Made as new when the next test takes it: by then this test's services have stopped (nameko's
        `fast_teardown` stops containers after the test's other fixtures)."""
        self.returned.append(uri.rsplit("/", 1)[1])

    def release_idle(self) -> None:
        """Before a test makes vhosts of its own (each with the topology's file handles): the one kept
        for the next test goes, so a process never holds more than one vhost of quorum queues."""
        for vhost in self.returned:
            close_pooled_connections(vhost)
            self.admin.delete_vhost(vhost)
        self.returned.clear()

    def close(self) -> None:
        for vhost in self.returned:
            self.admin.delete_vhost(vhost)
        self.returned.clear()

    def listed(self, path: str, vhost: str) -> list[dict]:
        return json.loads(self.admin.call("GET", path.format(v=quote(vhost, safe=""))))

    def state(self, vhost: str) -> Pristine:
        return Pristine(
            queues=frozenset(queue["name"] for queue in self.listed("queues/{v}?columns=name", vhost)),
            exchanges=frozenset(exchange["name"] for exchange in self.listed("exchanges/{v}?columns=name", vhost)),
            bindings=frozenset((binding["source"], binding["destination"], binding["destination_type"],
                                binding["routing_key"]) for binding in self.listed("bindings/{v}", vhost)))

    def not_as_new(self, vhost: str) -> str | None:
        """Why the vhost cannot be made as it was made, or None once it is: what the test added removed,
        its queues purged."""
        try:
            if not self.disconnected(vhost):
                return "a connection is still open"
            if changed := [path for path in MUST_BE_EMPTY if self.listed(path, vhost)]:
                return f"the test added {changed}"
            if {grant["user"] for grant in self.listed("vhosts/{v}/permissions", vhost)} != {self.user}:
                return "another user was granted on it"
            added = self.state(vhost)
            with Connection(self.uri(vhost), connect_timeout=5) as connection:
                channel = connection.default_channel
                for queue in added.queues - self.pristine.queues:
                    channel.queue_delete(queue)
                for exchange in added.exchanges - self.pristine.exchanges:
                    channel.exchange_delete(exchange)
                if (now := self.state(vhost)) != self.pristine:
                    return (f"queues gone {sorted(self.pristine.queues - now.queues)}, bindings changed "
                            f"{sorted(self.pristine.bindings ^ now.bindings)}")
                return self.not_emptied(channel)
        except Exception as error:  # anything unexpected: a new vhost is the safe answer
            return repr(error)

    def disconnected(self, vhost: str, patience: float = 2.0) -> bool:
        """No connection left: the broker lists a closed one for some milliseconds more."""
        deadline = time.monotonic() + patience
        while self.listed("vhosts/{v}/connections?columns=name", vhost):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def not_emptied(self, channel) -> str | None:
        """Purged, and proven empty and unconsumed by the queues themselves (the API's figures lag). A
        message still being dead-lettered into a queue just purged is caught by the second look."""
        for _ in range(3):
            for queue in self.pristine.queues:
                channel.queue_purge(queue)
            looks = [channel.queue_declare(queue, passive=True) for queue in self.pristine.queues]
            if any(look.consumer_count for look in looks):
                return "a queue still has a consumer"
            if not any(look.message_count for look in looks):
                return None
        return "messages kept arriving"
