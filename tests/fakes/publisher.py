"""What a service published, in order: the stand-in for shared.messaging.EventPublisher's callable."""
from __future__ import annotations

from typing import Any

from shared.contract import EventType


class Published(list):
    def __call__(self, event_type: EventType, data: dict, **envelope: Any) -> dict:
        self.append((event_type.name, data, envelope))
        return {}

    def of(self, name: str) -> list[dict]:
        """The data of every `name` event, in the order published."""
        return [data for published, data, _ in self if published == name]

    def names(self) -> list[str]:
        return [name for name, _, _ in self]
