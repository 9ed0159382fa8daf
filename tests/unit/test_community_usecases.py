"""community's service layer over an in-memory store: who is answered what by SMS, consent kept, the alert
sender's pace and its stop. The broker and database versions are in tests/integration/test_community.py."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from services.community import alerts, usecases
from services.community.settings import CommunitySettings
from shared.contract import EVENT_TYPES, load_event
from testkit.events import OFFICER, create_sms_received
from tests.fakes.community_store import FakeCommunityStore

NOW = datetime(2026, 12, 3, 7, 0, tzinfo=timezone.utc)
RIZKY = {"nrp": OFFICER["nrp"], "name": "Bripda Rizky Pratama", "polsek": "31.71.06",
         "areas": ["31.71.06.1001/RW05"], "phone": OFFICER["phone"]}
RESIDENT = "+6281377700011"


class Roster:
    def __init__(self, *officers):
        self.officers = {o["phone"]: o for o in officers}

    def by_phone(self, phone):
        return self.officers.get(phone)

    def officer(self, nrp):
        return next((o for o in self.officers.values() if o["nrp"] == nrp), None)

    def areas_of(self, polsek):
        return [a for o in self.officers.values() for a in o["areas"]]


class Published(list):
    def __call__(self, event_type, data, **envelope):
        self.append((event_type.name, data, envelope))

    def of(self, name):
        return [data for kind, data, _ in self if kind == name]


@pytest.fixture
def world():
    return FakeCommunityStore(), Published(), Roster(RIZKY), CommunitySettings()


def sms(world, phone, text, at=NOW):
    store, publish, roster, settings = world
    inbound = load_event(create_sms_received(phone, text), EVENT_TYPES["sms_received"])
    usecases.answer_sms(inbound, store, publish, roster, settings, at)
    return inbound


def replies(publish, phone):
    return [data for data in publish.of("community_sms_requested") if data["to"] == phone]


def test_an_officers_visit_is_recorded_once_and_answered_even_when_the_sms_comes_twice(world):
    store, publish, _, _ = world
    inbound = sms(world, OFFICER["phone"], "Sambang  psar parkir liar")  # his one RW: RW05
    usecases.answer_sms(inbound, store, publish, world[2], world[3], NOW)
    assert len(store.visits) == 1
    visits = publish.of("visit_recorded")
    assert visits[0] == visits[1] and (visits[0]["rw"], visits[0]["place_kind"]) == (5, "pasar")
    answers = replies(publish, OFFICER["phone"])
    assert answers[0] == answers[1] and answers[0]["kind"] == "visit_recorded_reply"


@pytest.mark.parametrize("phone, text, kind", [
    ("+6281377700001", "SAMBANG RW05 PASAR ramai", "officers_only"),
    (OFFICER["phone"], "SAMBANG", "visit_help"),
    (OFFICER["phone"], "SAMBANG 31.71.01.1001 RW 2 pasar", "visit_not_your_area"),
    ("+6281377700001", "LAPOR maling", "not_a_post"),
    ("+6281377700001", "DAFTAR menteng", "subscribe_help"),
    ("+6281377700001", "BERHENTI", "not_subscribed"),
    ("+6281377700001", "info", "community_help"),
    (OFFICER["phone"], "bantuan", "visit_help"),
])
def test_a_command_that_cannot_be_acted_on_gets_its_help_in_one_segment(world, phone, text, kind):
    sms(world, phone, text)
    answer, = replies(world[1], phone)
    assert answer["kind"] == kind and len(answer["text"]) <= 160
    assert not world[1].of("visit_recorded") and not world[1].of("concern_reported")


def test_at_most_one_help_per_sender_and_kind_per_interval(world):
    for minute in (0, 1, 2):
        sms(world, "+6281377700001", "SAMBANG RW05", NOW + timedelta(minutes=minute))
    assert len({data["sms_id"] for data in replies(world[1], "+6281377700001")}) == 1


def test_a_text_that_is_no_community_command_is_left_to_notify(world):
    sms(world, OFFICER["phone"], "OK C0FFEE")
    assert list(world[1]) == []


def test_consent_and_its_end_are_recorded_with_time_words_and_wording(world):
    store, publish, _, _ = world
    sms(world, RESIDENT, "daftar 31.71.06.1001 rw 5")
    stop = sms(world, RESIDENT, "berhenti", NOW + timedelta(hours=1))
    given, revoked = sorted(store.consents.values(), key=lambda c: c["at"])
    assert (given["action"], given["rw"], given["their_words"]) == ("given", 5, "daftar 31.71.06.1001 rw 5")
    assert given["wording"] == replies(publish, RESIDENT)[0]["text"] and "BERHENTI" in given["wording"]
    assert revoked["action"] == "revoked" and revoked["gateway_id"] == stop.id  # when the resident sent it:
    assert revoked["at"] == stop.data["at"].replace(microsecond=stop.data["at"].microsecond // 1000 * 1000)
    assert store.subscriber(RESIDENT)["active"] is False


def issue(world, count=5, per_second=2.0):
    store, publish, roster, _ = world
    settings = CommunitySettings(alert_sms_per_second=per_second, alert_tick_seconds=1.0)
    for n in range(count):
        sms(world, f"+62813777001{n:02d}", "DAFTAR 31.71.06.1001")
    entry = {"area_kind": "village", "area_code": "31.71.06.1001", "category": "keamanan", "urgency": "segera",
             "text": "Waspada pencurian motor.", "expires_minutes": 60}
    alert = usecases.issue_alert(store, publish, settings, NOW, ["31.71.06"], entry, "piket.menteng")
    return alert, settings


def test_the_alert_sender_keeps_the_gateways_pace_and_a_cancel_stops_the_rest(world):
    store, publish, _, _ = world
    alert, settings = issue(world)
    assert usecases.send_due_alert_sms(store, publish, settings, NOW) == 2
    assert usecases.send_due_alert_sms(store, publish, settings, NOW + timedelta(seconds=1)) == 2
    cancelled = usecases.cancel_alert(store, publish, NOW, ["31.71.06"], alert["alert_id"], "salah", "piket.menteng")
    assert (cancelled["state"], cancelled["sent"], cancelled["not_sent"]) == ("cancelled", 4, 1)
    assert usecases.send_due_alert_sms(store, publish, settings, NOW + timedelta(seconds=2)) == 0
    assert len([d for d in publish.of("community_sms_requested") if d.get("alert_id")]) == 4


def test_an_expired_alert_sends_nothing_more(world):
    store, publish, _, _ = world
    alert, settings = issue(world)
    usecases.send_due_alert_sms(store, publish, settings, NOW)
    assert usecases.send_due_alert_sms(store, publish, settings, NOW + timedelta(minutes=61)) == 0
    assert (store.alert(alert["alert_id"])["state"], store.alert(alert["alert_id"])["not_sent"]) == (alerts.EXPIRED, 3)


def test_a_form_sent_twice_records_one_visit_and_issues_one_alert(world):
    store, publish, roster, settings = world
    sms(world, RESIDENT, "DAFTAR 31.71.06.1001 RW05")
    visit = {"nrp": OFFICER["nrp"], "rw": 5, "place_kind": "pasar", "concerns": "aman",
             "request_id": "0b5e2c1e-0000-4000-8000-000000000001"}
    first = usecases.visit_by_console(store, publish, roster, NOW, ["31.71.06"], visit, "piket.menteng")
    again = usecases.visit_by_console(store, publish, roster, NOW, ["31.71.06"], visit, "piket.menteng")
    assert first["visit_id"] == again["visit_id"] and len(store.visits) == 1
    alert = {"area_kind": "rw", "area_code": "31.71.06.1001", "rw": 5, "category": "keamanan", "urgency": "segera",
             "text": "Waspada.", "expires_minutes": 60, "request_id": "0b5e2c1e-0000-4000-8000-000000000002"}
    issued = [usecases.issue_alert(store, publish, settings, NOW, ["31.71.06"], alert, "piket.menteng")
              for _ in range(2)]
    assert issued[0]["alert_id"] == issued[1]["alert_id"] and len(store.alerts) == 1 and len(store.deliveries) == 1


def test_a_concern_reported_twice_is_one_incident(world):
    store, publish, roster, _ = world
    visit = usecases.visit_by_console(store, publish, roster, NOW, ["31.71.06"],
                                      {"nrp": OFFICER["nrp"], "place_kind": "pasar", "concerns": "parkir liar"},
                                      "piket.menteng")
    for _ in range(2):
        usecases.report_concern(store, publish, NOW, ["31.71.06"], visit["visit_id"], "disturbance", None)
    said = [(data, envelope["id"]) for kind, data, envelope in publish if kind == "concern_reported"]
    assert len(said) == 2 and said[0] == said[1] and said[0][0]["source_kind"] == "patrol_dialog"


def crash_after_taking_one(store, alert) -> dict:
    """A worker took an SMS (compare-and-set) and died before it handed it to notify."""
    [one] = store.pending(alert["alert_id"], 1)
    assert store.mark_requested(one, NOW)
    return one


def test_an_alert_sms_taken_by_a_worker_that_died_before_handing_it_over_is_handed_over_later(world):
    store, publish, _, _ = world
    alert, settings = issue(world)
    lost = crash_after_taking_one(store, alert)
    later = NOW + timedelta(seconds=alerts.HANDOVER_GRACE_SECONDS + 1)
    for tick in range(4):
        usecases.send_due_alert_sms(store, publish, settings, later + timedelta(seconds=tick))
    handed = [d for d in publish.of("community_sms_requested") if d.get("alert_id")]
    assert sorted(d["to"] for d in handed) == sorted(d["to"] for d in store.deliveries.values())  # each once
    assert lost["to"] in [d["to"] for d in handed]


def test_an_alert_sms_taken_by_a_worker_that_died_is_not_sent_once_the_alert_is_cancelled(world):
    store, publish, _, _ = world
    alert, settings = issue(world)
    lost = crash_after_taking_one(store, alert)
    usecases.cancel_alert(store, publish, NOW, ["31.71.06"], alert["alert_id"], "salah", "piket.menteng")
    usecases.send_due_alert_sms(store, publish, settings, NOW + timedelta(seconds=alerts.HANDOVER_GRACE_SECONDS + 1))
    assert lost["to"] not in [d["to"] for d in publish.of("community_sms_requested") if d.get("alert_id")]
    assert store.alert(alert["alert_id"])["sent"] == 0
