"""The Kannel bridge's rules: the fence, holding while Kannel is down, receipts once, callbacks signed.
Kannel's HTTP side is a recording function here; tests/e2e/test_kannel.py runs the real one."""
from __future__ import annotations

import urllib.parse

import pytest

from services.notify import domain
from shared.contract import SMS_REQUESTED
from siaga.kannel_bridge import Bridge, BridgeSettings, KannelUnavailable, State, gateway_id_for
from tests.factories import as_event, create_assignment_created, create_report_received, envelope


class Recorder:
    def __init__(self):
        self.published: list[tuple[str, dict, str | None]] = []

    def publish(self, event_type, data, cause=None, id=None):
        self.published.append((event_type.name, data, id))

    def types(self) -> list[str]:
        return [name for name, _, _ in self.published]


class Kannel:
    """Answers sendsms with the next of `answers` (a status, or an exception to raise)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[dict[str, str]] = []

    def __call__(self, settings, params):
        self.requests.append(params)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer, "answer"


class Message:
    def __init__(self):
        self.acked = False

    def ack(self):
        self.acked = True


def bridge_with(tmp_path, kannel: Kannel, **settings) -> tuple[Bridge, Recorder]:
    recorder = Recorder()
    bridge = Bridge("amqp://unused", BridgeSettings(address="127.0.0.1:9", retry_base=0, **settings),
                    State(tmp_path / "bridge.sqlite3"), submit=kannel, publisher=recorder)
    return bridge, recorder


def request(attempt: int = 1, sms_id: str | None = None):
    [message] = domain.officer_assignment_sms(as_event(create_assignment_created(create_report_received())))
    return as_event(envelope(SMS_REQUESTED, message | {"attempt": attempt} | ({"sms_id": sms_id} if sms_id else {})))


def hold(bridge: Bridge, event) -> Message:
    message = Message()
    bridge.pending.append((event, message))
    bridge.flush()
    return message


def test_a_repeated_request_is_accepted_again_and_never_submitted_twice_even_by_a_restarted_bridge(tmp_path):
    kannel = Kannel(202)
    bridge, recorder = bridge_with(tmp_path, kannel)
    first = request()
    assert hold(bridge, first).acked and hold(bridge, request(2, first.data["sms_id"])).acked
    restarted, after = bridge_with(tmp_path, kannel)
    assert hold(restarted, request(3, first.data["sms_id"])).acked
    assert len(kannel.requests) == 1
    answers = [data for name, data, _ in recorder.published + after.published]
    assert [(a["attempt"], a["gateway_id"]) for a in answers] == [(n, gateway_id_for(first.data["sms_id"]))
                                                                 for n in (1, 2, 3)]


def test_kannel_gets_the_text_its_coding_and_a_dlr_url_back_to_the_bridge(tmp_path):
    kannel = Kannel(202)
    bridge, _ = bridge_with(tmp_path, kannel, public_url="http://bridge:13080", sender="1717")
    event = request()
    hold(bridge, event)
    [params] = kannel.requests
    assert (params["to"], params["text"], params["coding"], params["from"]) == (
        event.data["to"], event.data["text"], "0", "1717")
    dlr = urllib.parse.urlsplit(params["dlr-url"])
    query = urllib.parse.parse_qs(dlr.query)
    assert dlr.netloc == "bridge:13080" and query["sms"] == [event.data["sms_id"]]
    assert params["dlr-url"].endswith("&type=%d&at=%T")  # Kannel fills these in


@pytest.mark.parametrize("failure", [KannelUnavailable("connection refused"), 503, 403])
def test_while_kannel_cannot_take_it_the_request_is_held_in_order_and_nothing_is_answered(tmp_path, failure):
    kannel = Kannel(failure)
    bridge, recorder = bridge_with(tmp_path, kannel)
    head = request()
    first, second = hold(bridge, head), hold(bridge, request())
    bridge.flush()
    assert not first.acked and not second.acked and recorder.published == []
    assert len(bridge.pending) == 2 and bridge.failures == 3  # no backoff here (retry_base 0)
    assert {params["dlr-url"] for params in kannel.requests} == {bridge.dlr_url(head.data["sms_id"], 1)}
    kannel.answers = [202]
    bridge.flush()
    assert first.acked and second.acked and recorder.types() == ["sms_accepted", "sms_accepted"]
    assert bridge.failures == 0


def test_a_request_kannel_calls_wrong_is_refused_for_good(tmp_path):
    bridge, recorder = bridge_with(tmp_path, Kannel(400))
    assert hold(bridge, request()).acked
    [(name, data, _)] = recorder.published
    assert (name, data["temporary"]) == ("sms_refused", False) and "Kannel 400" in data["reason"]


def dlr(bridge: Bridge, sms_id: str, kind: int, token: str | None = None) -> int:
    return bridge.on_dlr({"sms": sms_id, "token": token or bridge.token(sms_id), "type": str(kind),
                          "at": "1796287968"})


def test_delivery_reports_late_repeated_or_out_of_order_make_one_receipt(tmp_path):
    bridge, recorder = bridge_with(tmp_path, Kannel(202))
    assert [dlr(bridge, "sms-1", kind) for kind in (1, 8, 1, 2)] == [200] * 4
    [(name, data, id)] = recorder.published
    assert (name, data["status"], id) == ("sms_delivery_reported", "delivered", f"{gateway_id_for('sms-1')}-receipt")
    restarted, after = bridge_with(tmp_path, Kannel(202))
    assert dlr(restarted, "sms-1", 1) == 200 and after.published == []  # the secret and the record survive
    assert dlr(bridge, "sms-2", 8) == 200 and dlr(bridge, "sms-2", 16) == 200
    assert recorder.published[-1][1]["status"] == "rejected"


def test_a_forged_delivery_report_or_inbound_sms_is_refused(tmp_path):
    bridge, recorder = bridge_with(tmp_path, Kannel(202))
    assert dlr(bridge, "sms-1", 1, token=bridge.token("sms-2")) == 403
    assert bridge.on_inbound({"token": "guess", "from": "+6281210010505", "id": "x", "text": "OK"}) == 403
    assert recorder.published == []


def test_an_inbound_sms_becomes_sms_received_with_kannels_id_as_its_own(tmp_path):
    bridge, recorder = bridge_with(tmp_path, Kannel(202))
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(bridge.inbound_url).query)["token"][0]
    query = {"token": token, "from": "+6281210010505", "id": "8868474d", "text": "OK C0FFEE", "at": "1796287990"}
    assert bridge.on_inbound(query) == 200 and bridge.on_inbound(query | {"from": ""}) == 400
    [(name, data, id)] = recorder.published
    assert (name, id, data["gateway_id"], data["sender"], data["text"]) == (
        "sms_received", "KANNEL-IN-8868474d", "KANNEL-IN-8868474d", "+6281210010505", "OK C0FFEE")


def test_after_a_failure_kannel_is_left_alone_until_the_backoff_has_passed(tmp_path):
    kannel = Kannel(503)
    bridge, _ = bridge_with(tmp_path, kannel)
    bridge = Bridge("amqp://unused", BridgeSettings(address="127.0.0.1:9", retry_base=60), bridge.state,
                    submit=kannel, publisher=Recorder())
    hold(bridge, request())
    bridge.flush()
    assert len(kannel.requests) == 1 and bridge.failures == 1


def test_the_test_smsc_reads_a_ucs2_sms_as_kannel_hands_it_over():
    from siaga.kannel import shown_text

    assert shown_text("ucs-2", "%00T%00e%00s%00++%19%00k%00d%00r%00t+%19") == "Tes ’kdrt’"
    assert shown_text("text", "OK C0FFEE") == "OK C0FFEE"


def test_the_written_kannel_config_calls_the_bridge_for_every_inbound_sms_and_never_answers_by_itself(tmp_path):
    from siaga.kannel import Kannel

    config = Kannel(tmp_path, "http://127.0.0.1:13080/inbound?token=t", password="pw").write_config().read_text()
    service = config[config.index("group = sms-service"):]
    assert "catch-all = true" in service and "max-messages = 0" in service
    assert 'get-url = "http://127.0.0.1:13080/inbound?token=t&from=%p&to=%P&id=%I&at=%T&text=%a"' in service
    assert f'store-location = "{tmp_path}/store"' in config and 'password = "pw"' in config


def test_an_unreadable_request_is_rejected_and_a_receipt_of_no_known_type_is_only_acknowledged(tmp_path):
    bridge, recorder = bridge_with(tmp_path, Kannel(202))

    class Unreadable(Message):
        body, content_type, rejected = b"{not json", "application/json", False

        def reject(self):
            self.rejected = True

    message = Unreadable()
    bridge.handle_message(None, message)
    assert message.rejected and not bridge.pending
    assert dlr(bridge, "sms-1", 0) == 200 and bridge.on_dlr({"sms": "sms-1", "token": bridge.token("sms-1"),
                                                              "type": "x"}) == 200
    assert recorder.published == []


def test_a_request_said_again_for_an_overdue_receipt_gets_the_receipt_again_and_no_second_sms(tmp_path):
    """notify lost the receipt (or its write): its sweep says the same request again."""
    kannel = Kannel(202)
    bridge, recorder = bridge_with(tmp_path, kannel)
    sms = request()
    assert bridge.forward(sms)
    dlr(bridge, sms.data["sms_id"], 1)
    first_receipt = recorder.published[-1]
    restarted, after = bridge_with(tmp_path, kannel)
    assert restarted.forward(sms)
    assert after.types() == ["sms_accepted", "sms_delivery_reported"]
    assert after.published[-1] == first_receipt  # the same receipt under the same id
    assert len(kannel.requests) == 1


def test_the_bridges_http_server_shows_its_metrics_for_prometheus(tmp_path):
    """What it said is counted where it is published; the Publisher is the real one, never connected here."""
    from urllib.request import urlopen

    from prometheus_client.parser import text_string_to_metric_families

    bridge = Bridge("amqp://unused", BridgeSettings(address="127.0.0.1:0", retry_base=0),
                    State(tmp_path / "bridge.sqlite3"), submit=Kannel(0), publisher=Recorder())
    server = bridge.serve_http()
    try:
        with urlopen(f"http://127.0.0.1:{server.server_address[1]}/metrics", timeout=5) as answer:
            assert answer.status == 200 and answer.headers["Content-Type"].startswith("text/plain")
            names = {family.name for family in text_string_to_metric_families(answer.read().decode())}
    finally:
        server.shutdown()
        server.server_close()
    assert {"siaga_events_published", "siaga_sms"} <= names
