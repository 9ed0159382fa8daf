"""Group commit for a process's concurrent workers: what they ask of one collection while an earlier
command is in flight goes to the database as one command, and each worker gets its own answer back.

Under load the workers queue up on exactly these commands, so the groups form by themselves; alone, a
worker's request goes out at once, as before: nothing waits for company. shared/grouped_lookups.py and
shared/grouped_updates.py say what each kind shares and what a worker gets back; shared/grouped_inserts.py
is the same for inserts, with a linger for those nobody waits on.
"""
from __future__ import annotations

from typing import Any

import eventlet
from eventlet.event import Event


class CommandGroup:
    """One kind of request on one collection: the pending ones, and the single greenthread that sends them."""

    def __init__(self, most: int):
        self.most = most  # weight per command (`weight`): far below the server's limits
        self.waiting: list[tuple[Any, Event]] = []
        self.sending = False

    def ask(self, request: Any) -> Any:
        """`request`'s answer, or its error raised; blocks this greenthread only."""
        answered = Event()
        self.waiting.append((request, answered))
        if not self.sending:
            self.sending = True
            eventlet.spawn_n(self._send_while_waiting)
        answer = answered.wait()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def send(self, requests: list[Any]) -> list[Any]:
        """One command for these requests: each one's answer, or the Exception that is its answer."""
        raise NotImplementedError

    def weight(self, request: Any) -> int:
        return 1

    def _send_while_waiting(self) -> None:
        """Sends what is waiting, then what came meanwhile, until nothing is."""
        try:
            while self.waiting:
                batch, self.waiting = self._next_batch()
                try:
                    answers = self.send([request for request, _ in batch])
                except Exception as failed:  # the command failed (an outage, a timeout): every caller's
                    answers = [failed] * len(batch)
                for (_, answered), answer in zip(batch, answers):
                    answered.send(answer)
        finally:
            self.sending = False

    def _next_batch(self) -> tuple[list[tuple[Any, Event]], list[tuple[Any, Event]]]:
        """The waiting requests, in order, up to `most` weight (at least one, however heavy)."""
        total = 0
        for taken, (request, _) in enumerate(self.waiting):
            total += self.weight(request)
            if total > self.most and taken:
                return self.waiting[:taken], self.waiting[taken:]
        return self.waiting, []
