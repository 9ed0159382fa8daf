"""Group commit for a process's concurrent workers: what they ask of one collection while an earlier
command is in flight goes to the database as one command, and each worker gets its own answer back.

Under load the workers queue up on exactly these commands, so the groups form by themselves; alone, a
worker's request goes out at once, as before. Only a request nobody waits on may say how long it can
`linger` for company: it goes with the first request that cannot wait, or with whatever goes meanwhile.
shared/grouped_inserts.py, shared/grouped_lookups.py and shared/grouped_updates.py say what each kind
shares and what a worker gets back.
"""
from __future__ import annotations

from typing import Any

import eventlet
from eventlet.event import Event
from eventlet.greenthread import GreenThread


class CommandGroup:
    """One kind of request on one collection: the pending ones, and the single greenthread that sends them."""

    def __init__(self, most: int):
        self.most = most  # weight per command (`weight`): far below the server's limits
        self.waiting: list[tuple[Any, Event]] = []
        self.sending = False
        self.lingering: GreenThread | None = None  # the timer that sends what waits, when nothing else does

    def ask(self, request: Any, linger: float = 0.0) -> Any:
        """`request`'s answer, or its error raised; blocks this greenthread only, at most `linger` seconds
        longer than the command takes."""
        answered = Event()
        self.waiting.append((request, answered))
        if not self.sending:
            if linger <= 0:
                self._start()
            elif self.lingering is None:
                self.lingering = eventlet.spawn_after(linger, self._start)
        answer = answered.wait()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def send(self, requests: list[Any]) -> list[Any]:
        """One command for these requests: each one's answer, or the Exception that is its answer."""
        raise NotImplementedError

    def weight(self, request: Any) -> int:
        return 1

    def _start(self) -> None:
        if self.lingering is not None:
            self.lingering.cancel()  # a no-op from the timer itself
            self.lingering = None
        if not self.sending and self.waiting:
            self.sending = True
            eventlet.spawn_n(self._send_while_waiting)

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
