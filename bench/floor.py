"""The framework's floor: three do-nothing stock nameko services passing one event along three hops.

Same broker, same hops as the real pipeline (upstream → A → B → C → observer), no database, no
validation: what nameko itself costs. The pipeline benchmark reports our rate as a share of this.
"""
from nameko.events import EventDispatcher, event_handler


class FloorA:
    name = "floor_a"
    dispatch = EventDispatcher()

    @event_handler("floor_upstream", "floor_started")
    def handle(self, payload):
        self.dispatch("floor_hopped", payload)


class FloorB:
    name = "floor_b"
    dispatch = EventDispatcher()

    @event_handler("floor_a", "floor_hopped")
    def handle(self, payload):
        self.dispatch("floor_hopped", payload)


class FloorC:
    name = "floor_c"
    dispatch = EventDispatcher()

    @event_handler("floor_b", "floor_hopped")
    def handle(self, payload):
        self.dispatch("floor_finished", payload)
