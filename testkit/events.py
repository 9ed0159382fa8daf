"""One builder per event type, as its publisher sends it (envelope included).

Each `create_*` returns a JSON-ready envelope validated against the contract; `data=` overrides
payload keys, other keywords override envelope keys. `as_event` loads one the way a handler
receives it. The tests and the benchmarks build their messages here.
"""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from shared.contract import EVENT_TYPES, EventType, dump_event, load_event
from shared.envelope import Event

REPORTER_PHONE = "+6281299991234"
DUPLICATE_PHONE = "+6285755501234"
OFFICER = {"nrp": "90120344", "name": "Rizky Pratama", "rank": "Bripda", "role": "polisi_rw",
           "phone": "+6281210010505"}
OTHER_OFFICER = {"nrp": "75030412", "name": "Bripka Agus Setiawan", "rank": "Bripka", "role": "bhabinkamtibmas",
                 "phone": "+6281210014412"}
DUTY_DESK = {"nrp": "70010001", "name": "SPKT Polsek Metro Menteng", "rank": "Piket", "role": "duty_desk",
             "phone": "+6281231710600"}
MENTENG = {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001", "village_name": "Menteng", "rw": 5,
           "address": "Jl. HOS Cokroaminoto 12"}

# The longest realistic values a template may meet: the longest Kemendagri village name, a
# three-digit RW, a long street address, a rank plus a long name, a citizen's long text with
# curly quotes, a dash and an emoji.
LONG_PLACE = {"lat": -0.95, "lon": 100.35, "village_code": "13.05.16.2006",
              "village_name": "Kampuang Tanjuang Koto Mambang Sungai Durian", "rw": 123,
              "address": "Jl. Kebon Sirih Timur Dalam Gang Masjid Al-Ikhlas No. 123A RT 015"}
LONG_DESCRIPTION = ("Terdengar teriakan “tolong” berulang kali dari rumah bercat hijau — tetangga melihat seorang "
                    "perempuan berlari keluar sambil menggendong anak kecil 🙏 ") * 3
LONG_OFFICER = {"nrp": "198501012010121001", "name": "Muhammad Abdurrahman Syaifuddin Nasution Siregar",
                "rank": "Brigadir Polisi Kepala", "role": "bhabinkamtibmas", "phone": "+6281299998888"}


def now() -> datetime:
    return datetime.now(timezone.utc)


def envelope(event_type: EventType | str, data: dict[str, Any], **overrides: Any) -> dict:
    event_type = EVENT_TYPES[event_type] if isinstance(event_type, str) else event_type
    source = f"/siaga/{event_type.publisher}" if event_type.publisher != "gateway" else "/sms-gateway/test"
    body = dump_event(event_type, data, source=source, id=overrides.pop("id", str(uuid.uuid4())),
                      correlationid=overrides.pop("correlationid", None))
    return body | overrides


def as_event(body: dict) -> Event:
    return load_event(body, EVENT_TYPES[body["type"]])


def new_report_id() -> str:
    return str(uuid.uuid4())


def number_of(report_id: str) -> str:
    return report_id.replace("-", "")[:6].upper()


def create_incident(**overrides: Any) -> dict:
    """An `incident_reported` envelope as a citizen app sends it (raw, as upstream apps write it)."""
    data = {
        "source_kind": "citizen_app",
        "category": "laka lantas",
        "description": "Tabrakan motor dan mobil, satu orang luka",
        "location": {"lat": -6.1966, "lon": 106.8322, "village_code": "31.71.06.1001", "rw": 5,
                     "address": "Jl. HOS Cokroaminoto 12"},
        "reporter": {"name": "Budi Santoso", "phone": "0812-9999-1234", "anonymous": False},
    } | overrides.pop("data", {})
    return {
        "specversion": "1.0",
        "id": str(uuid.uuid4()),
        "source": "/citizen-app/android",
        "type": "incident_reported",
        "time": now().isoformat(),
        "data": data,
    } | overrides


def create_report_received(report_id: str | None = None, data: dict | None = None, **overrides: Any) -> dict:
    report_id = report_id or new_report_id()
    payload = {
        "report_id": report_id, "number": number_of(report_id), "source_kind": "citizen_app",
        "category": "traffic_accident", "priority": "P1", "skills": ["first_aid", "traffic"],
        "description": "Tabrakan motor dan mobil, satu orang luka", "place": MENTENG, "anonymous": False,
        "reporter": {"name": "Budi Santoso", "phone": REPORTER_PHONE}, "received_at": now(),
    } | (data or {})
    return envelope("report_received", payload, correlationid=report_id, **overrides)


def create_duplicate_reported(original: dict, data: dict | None = None, **overrides: Any) -> dict:
    report_id = new_report_id()
    payload = {
        "report_id": report_id, "number": number_of(report_id),
        "original_report_id": original["data"]["report_id"], "original_number": original["data"]["number"],
        "category": original["data"]["category"], "priority": original["data"]["priority"],
        "place": original["data"]["place"], "anonymous": False,
        "reporter": {"name": "Siti Aminah", "phone": DUPLICATE_PHONE}, "received_at": now(),
    } | (data or {})
    return envelope("duplicate_reported", payload, correlationid=original["data"]["report_id"], **overrides)


def create_report_rejected(data: dict | None = None, **overrides: Any) -> dict:
    payload = {"original": {"source": "/citizen-app/android", "id": str(uuid.uuid4())},
               "reasons": {"location.village_code": "31.71.06.1999 is not a Kemendagri village code"},
               "reporter_phone": REPORTER_PHONE} | (data or {})
    return envelope("report_rejected", payload, **overrides)


def report_summary(received: dict) -> dict:
    data = received["data"]
    return {"report_id": data["report_id"], "number": data["number"], "category": data["category"],
            "priority": data["priority"], "description": data["description"]} | {
        key: data["place"].get(key) for key in ("village_code", "village_name", "rw", "address")}


def create_assignment_created(received: dict, officer: dict = OFFICER, data: dict | None = None,
                              **overrides: Any) -> dict:
    payload = {"assignment_id": str(uuid.uuid4()), "officer": officer, "report": report_summary(received),
               "rule": "area_polisi_rw", "reason": "polisi_rw of 31.71.06.1001/RW05", "skipped": [],
               "ack_deadline": now()} | (data or {})
    return envelope("assignment_created", payload, correlationid=received["data"]["report_id"], **overrides)


_STEP_EXTRA = {"declined": {"reason": "sedang sakit"}, "completed": {"outcome": "korban dibawa ke RS"},
               "expired": {"attempt": 1, "reason": "no acknowledgement by the deadline"}}


def create_step(step: str, created: dict, data: dict | None = None, via: str = "console", **overrides: Any) -> dict:
    """assignment_acknowledged / _declined / _departed / _arrived / _completed / _expired of an assignment_created."""
    assignment = created["data"]
    payload = {"assignment_id": assignment["assignment_id"], "report_id": assignment["report"]["report_id"],
               "number": assignment["report"]["number"], "officer": assignment["officer"], "at": now(),
               "via": via} | _STEP_EXTRA.get(step, {}) | (data or {})
    return envelope(f"assignment_{step}", payload, correlationid=payload["report_id"], **overrides)


def create_assignment_escalated(received: dict, duty_desk: dict | None = DUTY_DESK, **overrides: Any) -> dict:
    payload = {"report": report_summary(received), "polsek": "31.71.06", "duty_desk": duty_desk,
               "reason": "no area officer free", "skipped": []}
    return envelope("assignment_escalated", payload, correlationid=received["data"]["report_id"], **overrides)


def create_sms_accepted(sms_id: str, attempt: int | None = None) -> dict:
    return envelope("sms_accepted", {"sms_id": sms_id, "gateway_id": f"GW-{sms_id[:8]}", "at": now(),
                                   "attempt": attempt})


def create_sms_refused(sms_id: str, temporary: bool, attempt: int | None = None) -> dict:
    return envelope("sms_refused", {"sms_id": sms_id, "reason": "throttled" if temporary else "number blocked",
                                  "temporary": temporary, "at": now(), "attempt": attempt})


def create_delivery_reported(sms_id: str, status: str) -> dict:
    return envelope("sms_delivery_reported", {"sms_id": sms_id, "gateway_id": f"GW-{sms_id[:8]}", "status": status,
                                            "at": now()})


def create_sms_received(sender: str, text: str) -> dict:
    gateway_id = f"IN-{uuid.uuid4().hex[:12]}"
    return envelope("sms_received", {"gateway_id": gateway_id, "sender": sender, "text": text, "at": now()},
                    id=gateway_id)


def create_reply_refused(phone: str, reason: str, open_numbers: list[str] = (), number: str | None = None,
                         action: str | None = "acknowledge", nrp: str | None = OFFICER["nrp"]) -> dict:
    """dispatch's answer to a reply notify could not match (reply_unmatched)."""
    return envelope("reply_refused", {"phone": phone, "nrp": nrp, "reason": reason, "action": action,
                                      "number": number, "open_numbers": list(open_numbers)})


def create_visit_recorded(**data: Any) -> dict:
    """community's record of an officer's visit (sambang) to Menteng RW05."""
    visit_id = str(uuid.uuid4())
    return envelope("visit_recorded", {
        "visit_id": visit_id, "number": number_of(visit_id), "nrp": OFFICER["nrp"], "officer_name": OFFICER["name"],
        "polsek": "31.71.06", "village_code": "31.71.06.1001", "village_name": "Menteng", "rw": 5,
        "place_kind": "pasar", "concerns": "parkir liar", "visited_at": now(), "recorded_via": "sms",
        "recorded_by": OFFICER["nrp"], "reported": False} | data)


def create_concern_reported(source_kind: str = "patrol_dialog", **data: Any) -> dict:
    """A visit's concern (or a Siskamling post's SMS) relayed by community as an incident."""
    details = ({"visit_id": str(uuid.uuid4()), "recorded_by_nrp": OFFICER["nrp"], "place_kind": "pasar"}
               if source_kind == "patrol_dialog" else {"post_id": "pos-1", "guard_phone": "+6281377700099"})
    return envelope("concern_reported", {
        "source_kind": source_kind, "category": "gangguan", "description": "parkir liar di depan pasar",
        "location": {"village_code": "31.71.06.1001", "rw": 5}, "reporter": {"name": OFFICER["name"]},
        "details": details} | data)


def create_community_sms_requested(to: str = "+6281377700011", **data: Any) -> dict:
    return envelope("community_sms_requested", {
        "sms_id": str(uuid.uuid4()), "to": to, "text": "INFO Polsek Metro Menteng utk RW 05 Kel. Menteng: Waspada. "
        "Stop: BERHENTI", "kind": "community_alert", "recipient_role": "citizen", "priority": "P2"} | data)
