"""The gateway simulator's decisions (its publishing is recorded here; the e2e tests run it for real)."""
from __future__ import annotations

import pytest

from services.notify import domain
from shared.contract import SMS_REQUESTED
from siaga.gateway_simulator import Behaviour, Simulator, behaviour_from, parse_args
from tests.factories import OFFICER, as_event, create_assignment_created, create_report_received, envelope


class Recording(Simulator):
    def __init__(self, behaviour: Behaviour):
        super().__init__("amqp://unused", behaviour, seed=1)
        self.published: list[tuple[str, dict]] = []
        self.ids: list[str | None] = []

    def publish(self, event_type, data, cause=None, id=None):
        self.published.append((event_type.name, data))
        self.ids.append(id)

    def settle(self):
        while self.schedule:
            self.schedule.sort()
            self.schedule[0] = (0, *self.schedule[0][1:])
            self.run_due()


def request(attempt: int = 1):
    [message] = domain.officer_assignment_sms(as_event(create_assignment_created(create_report_received())))
    return as_event(envelope(SMS_REQUESTED, message | {"attempt": attempt}))


def quick(**overrides) -> Behaviour:
    return Behaviour(answer_delay=0, receipt_delay=0, reply_delay=0, **overrides)


def test_an_accepted_sms_gets_a_receipt_and_a_retry_of_it_is_accepted_again_but_never_sent_twice():
    """A request said again (a retry, or notify asking for a receipt it never kept) gets the same answers."""
    simulator = Recording(quick())
    first = request()
    simulator.on_request(first)
    simulator.settle()
    simulator.on_request(as_event(envelope(SMS_REQUESTED, first.data | {"attempt": 2})))
    simulator.settle()
    kinds = [name for name, _ in simulator.published]
    assert kinds == ["sms_accepted", "sms_delivery_reported", "sms_accepted", "sms_delivery_reported"]
    assert simulator.published[0][1]["gateway_id"] == simulator.published[2][1]["gateway_id"]
    assert simulator.published[1] == simulator.published[3] and simulator.ids[1] == simulator.ids[3] is not None


@pytest.mark.parametrize("rule, answer, temporary", [
    ("refuse", "sms_refused", False), ("refuse_for_now", "sms_refused", True), ("ignore", None, None),
])
def test_per_number_rules_fail_a_phone_the_same_way_every_time(rule, answer, temporary):
    simulator = Recording(quick(**{rule: {OFFICER["phone"]}}))
    simulator.on_request(request())
    simulator.settle()
    assert [name for name, _ in simulator.published] == ([answer] if answer else [])
    if answer:
        assert simulator.published[0][1]["temporary"] is temporary


def test_an_undeliverable_number_is_accepted_then_reported_undelivered():
    simulator = Recording(quick(undeliverable={OFFICER["phone"]}))
    simulator.on_request(request())
    simulator.settle()
    assert simulator.published[1][1]["status"] == "undelivered"


def test_auto_reply_answers_an_officers_assignment_with_its_report_number():
    simulator = Recording(quick(auto_reply="OK {number}"))
    sms = request()
    simulator.on_request(sms)
    simulator.settle()
    name, inbound = simulator.published[-1]
    number = sms.data["text"].split("#")[1].split(" ")[0]
    assert (name, inbound["sender"], inbound["text"]) == ("sms_received", OFFICER["phone"], f"OK {number}")


def test_command_line_options_become_the_behaviour():
    behaviour = behaviour_from(parse_args(["--accept-rate", "0.5", "--refuse", "0812-1001-0505",
                                           "--auto-reply", "ok {number}"]))
    assert (behaviour.accept_rate, behaviour.refuse, behaviour.auto_reply) == (0.5, {OFFICER["phone"]}, "ok {number}")


def test_the_simulator_remembers_only_its_latest_sms_so_a_long_run_does_not_grow_it():
    """A real gateway keeps its message store for a while, not forever; a retry of a recent SMS is still
    recognised."""
    simulator = Recording(quick(remember=3))
    requests = [as_event(envelope(SMS_REQUESTED, request().data | {"sms_id": f"sms-{i}"})) for i in range(5)]
    for sms in requests:
        simulator.on_request(sms)
        simulator.settle()
    assert len(simulator.accepted) == len(simulator.receipts) == 3
    simulator.published.clear()
    simulator.on_request(as_event(envelope(SMS_REQUESTED, requests[-1].data | {"attempt": 2})))
    simulator.settle()
    assert [name for name, _ in simulator.published] == ["sms_accepted", "sms_delivery_reported"]
