"""`siaga trace`: one timeline from three services' records, in time order, with nothing a reporter said."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from siaga.trace import Trace, summary, timeline

T0 = datetime(2026, 12, 3, 1, 0, tzinfo=timezone.utc)
OFFICER = {"nrp": "90120344", "name": "Bripda Rizky Pratama", "rank": "Bripda", "role": "polisi_rw",
           "phone": "+6281210010505"}


def create_trace() -> Trace:
    report = {"_id": "3f2a9c10-aaaa-4bbb-8ccc-000000000001", "number": "3F2A9C", "category": "traffic_accident",
              "priority": "P1", "source_kind": "citizen_app", "status": "acknowledged",
              "description": "Tabrakan motor di depan rumah Pak Budi", "reporter": {"name": "Budi Santoso",
                                                                                   "phone": "+6281299991234"},
              "place": {"village_code": "31.71.06.1001", "village_name": "Menteng", "rw": 5,
                        "address": "Jl. HOS Cokroaminoto 12"},
              "history": [{"status": "received", "at": T0},
                          {"status": "assigned", "at": T0 + timedelta(seconds=1), "assignment_id": "a-1",
                           "officer_nrp": "90120344"},
                          {"status": "acknowledged", "at": T0 + timedelta(seconds=9), "assignment_id": "a-1",
                           "officer_nrp": "90120344"}]}
    assignment = {"_id": "a-1", "officer": OFFICER, "rule": "area_polisi_rw", "ack_deadline": T0 + timedelta(minutes=2),
                  "history": [{"state": "created", "at": T0 + timedelta(milliseconds=500), "via": "system"},
                              {"state": "acknowledged", "at": T0 + timedelta(seconds=8), "via": "sms"}]}
    sms = {"_id": "s-1", "kind": "officer_assignment", "recipient_role": "officer", "to": OFFICER["phone"],
           "segments": 1, "price": 350.0, "state": "delivered", "attempt": 1,
           "text": "Laporan 3F2A9C: Tabrakan motor di depan rumah Pak Budi",
           "created_at": T0 + timedelta(seconds=2), "accepted_at": T0 + timedelta(seconds=3),
           "delivery": {"status": "delivered", "at": T0 + timedelta(seconds=4)}}
    return Trace(report, [assignment], [], [sms])


def test_the_steps_of_every_service_come_in_time_order():
    steps = timeline(create_trace())
    assert [step.service for step in steps] == ["reports", "dispatch", "reports", "notify", "notify", "notify",
                                                "dispatch", "reports"]
    assert [step.at for step in steps] == sorted(step.at for step in steps)
    assert "rule area_polisi_rw" in steps[1].what and "polisi_rw 90120344" in steps[1].what
    assert "receipt: delivered" in steps[5].what
    assert "acknowledged via sms" in steps[6].what


def test_a_trace_shows_no_reporter_data_no_description_and_no_whole_phone():
    shown = summary(create_trace().report) + "\n".join(step.what for step in timeline(create_trace()))
    assert "3F2A9C" in shown and "Menteng" in shown and "RW 05" in shown
    for private in ("Budi", "+6281299991234", "Tabrakan", "Cokroaminoto", "+6281210010505", "Rizky"):
        assert private not in shown
    assert "+62812*****505" in shown


def test_an_escalation_says_why_nobody_was_claimed():
    trace = create_trace()
    trace.escalations = [{"created_at": T0 + timedelta(minutes=5),
                          "escalation": {"rules": ["tries_exhausted"]}}]
    assert timeline(trace)[-1].what == "escalated to the duty desk (tries_exhausted)"
