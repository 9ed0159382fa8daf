"""The tests' fixture factories: every event's builder (from `testkit.events`), and waiting on what
a console or a gateway would observe. Per service: `console`, `dispatch`, `reports`."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

from kombu import Connection, Queue
from pymongo import monitoring

from shared.config import PROJECT_ROOT
from testkit.events import *  # noqa: F403  (every event's builder: the tests import them from here)

DEMO_ROSTER = Path(PROJECT_ROOT, "services", "dispatch", "demo_roster.json")


def of_type(event_type: str, **data: Any) -> Callable[[dict], bool]:
    return lambda body: body.get("type") == event_type and all(body["data"].get(k) == v for k, v in data.items())


def eventually(read: Callable[[], Any], holds: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    """Poll until `holds(read())`, with a deadline: for a write that has no event to wait on."""
    deadline = time.monotonic() + timeout
    while not holds(value := read()):
        assert time.monotonic() < deadline, f"never held within {timeout}s; last value {value!r}"
        time.sleep(0.05)
    return value


def wait_until(read: Callable[[], Any], predicate: Callable[[Any], bool], timeout: float = 20.0) -> Any:
    """Poll what a console would read (the database) until it exists and `predicate` holds, with a deadline."""
    return eventually(read, lambda value: value is not None and predicate(value), timeout)


def read_queue(amqp_uri: str, queue_name: str, until: Callable[[list], bool], timeout: float = 30.0) -> list:
    """Take raw messages off a durable queue, as the party that owns it would, until `until(taken)`.

    Returns whatever was taken when the deadline passes, so callers assert on what they expected.
    """
    taken: list = []
    deadline = time.monotonic() + timeout
    with Connection(amqp_uri) as connection:
        queue = Queue(queue_name, no_declare=True)(connection.default_channel)
        while not until(taken) and time.monotonic() < deadline:
            message = queue.get(no_ack=True)
            if message is None:
                time.sleep(0.05)
            else:
                taken.append(message)
    return taken


class WriteCommands(monitoring.CommandListener):
    """The write commands a client sends, by name, in order (pymongo's command monitor): how many round
    trips a store's writes took, and what each said."""

    WRITES = ("insert", "update", "delete")
    STATEMENTS = {"insert": "documents", "update": "updates", "delete": "deletes"}

    def __init__(self):
        self.commands: list[str] = []
        self.statements: list[tuple[str, int]] = []  # (command, how many statements it carried)
        self.sent: list[dict] = []  # each command as sent

    def started(self, event):
        if event.command_name in self.WRITES:
            self.commands.append(event.command_name)
            self.statements.append((event.command_name,
                                    len(event.command.get(self.STATEMENTS.get(event.command_name, ""), ()))))
            self.sent.append(dict(event.command))

    def succeeded(self, event):
        pass

    def failed(self, event):
        pass


class FindCommands(WriteCommands):
    """The find commands a client sends."""

    WRITES = ("find",)
