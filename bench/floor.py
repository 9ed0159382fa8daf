"""The framework's floor: do-nothing stock nameko services passing one event along three hops (the issue's
floor), and along the same fan-out as the real pipeline.

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


# The same fan-out as Siaga's main path, still doing nothing: 4 services, 7 deliveries and 4 publishes
# per incident (intake → received → dispatch, notify, console; assigned → reports, notify, console;
# an SMS for the reporter and one for the officer). The 3-hop floor above has 3 and 3, so this is
# the fairer measure of what our own work costs on top of the messaging it needs.

class FanoutReports:
    name = "fanout_reports"
    dispatch = EventDispatcher()

    @event_handler("floor_upstream", "floor_started")
    def handle_incident(self, payload):
        self.dispatch("received", payload)

    @event_handler("fanout_dispatch", "assigned")
    def handle_assigned(self, payload):
        pass


class FanoutDispatch:
    name = "fanout_dispatch"
    dispatch = EventDispatcher()

    @event_handler("fanout_reports", "received")
    def handle_received(self, payload):
        self.dispatch("assigned", payload)


class FanoutNotify:
    name = "fanout_notify"
    dispatch = EventDispatcher()

    @event_handler("fanout_reports", "received")
    def handle_received(self, payload):
        self.dispatch("sms", dict(payload, to="reporter"))

    @event_handler("fanout_dispatch", "assigned")
    def handle_assigned(self, payload):
        self.dispatch("sms", dict(payload, to="officer"))


class FanoutConsole:
    name = "fanout_console"

    @event_handler("fanout_reports", "received")
    def handle_received(self, payload):
        pass

    @event_handler("fanout_dispatch", "assigned")
    def handle_assigned(self, payload):
        pass
