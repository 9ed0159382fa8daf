"""Community alerts and residents' consent: pure rules, no I/O.

- An alert goes to an area of the issuing Polsek: an RW, a village or the whole district. It reaches the
  residents who consented for that area and the Siskamling posts in it: an RW alert the RW's subscribers and
  posts; a village alert everyone of the village (with an RW or without); a district alert everyone of it.
- Its SMS is one GSM-7 segment, or the alert is refused with the reason (what does not fit, by how much);
  look-alike characters (curly quotes, dashes) are replaced first, as for every SMS Siaga sends.
- It is shaped after OASIS CAP 1.2 (identifier, sender, sent, status, msgType, scope, one info with one area
  whose geocode is the Kemendagri code), so a CAP consumer can take it as it is (`cap.py` writes the XML).
- Consent (UU PDP 27/2022) is explicit (the resident texts DAFTAR), revocable (BERHENTI) and its record kept:
  each consent and revocation with its time, the resident's own words and the wording they were answered with.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from services.community import texts
from services.community.exceptions import AlertRefused, InvalidInput, NotYourArea
from shared import sms, wilayah
from shared.envelope import derived_id, to_millisecond
from shared.events.community import CAP_CERTAINTIES, CAP_SEVERITIES

# What a console offers (Bahasa) → CAP 1.2 category / urgency.
CATEGORIES = {"keamanan": "Security", "keselamatan": "Safety", "kebakaran": "Fire", "bencana": "Geo",
              "cuaca": "Met", "kesehatan": "Health", "lalu_lintas": "Transport", "lainnya": "Other"}
EVENT_NAMES = {"keamanan": "Peringatan keamanan", "keselamatan": "Peringatan keselamatan",
               "kebakaran": "Peringatan kebakaran", "bencana": "Peringatan bencana", "cuaca": "Peringatan cuaca",
               "kesehatan": "Peringatan kesehatan", "lalu_lintas": "Info lalu lintas", "lainnya": "Info kamtibmas"}
URGENCIES = {"segera": "Immediate", "diperkirakan": "Expected", "nanti": "Future"}
PRIORITY_OF_URGENCY = {"Immediate": "P1", "Expected": "P2", "Future": "P3"}
ACTIVE, CANCELLED, EXPIRED, DONE = "active", "cancelled", "expired", "done"
# A delivery is pending, then taken by one worker (requested), then handed to notify (handed); a worker that
# died in between leaves it taken: after HANDOVER_GRACE_SECONDS it is handed over again (notify drops a repeat
# by its id), or skipped if the alert closed meanwhile.
PENDING, REQUESTED, HANDED, SKIPPED = "pending", "requested", "handed", "skipped"
HANDOVER_GRACE_SECONDS = 30.0
ALERT_TEXT_LIMIT = 160


@dataclass(frozen=True)
class AlertArea:
    kind: str  # rw, village, district
    district: str
    village_code: str | None = None
    rw: int | None = None

    @property
    def code(self) -> str:
        if self.kind == "district":
            return self.district
        return f"{self.village_code}/RW{self.rw:02d}" if self.kind == "rw" else self.village_code

    @property
    def text(self) -> str:
        return texts.area_text(self.village_code, self.rw, self.district)

    def holds(self, village_code: str, rw: int | None) -> bool:
        """Whether someone registered for (village, rw) lives in this area."""
        if self.kind == "district":
            return wilayah.district_code(village_code) == self.district
        if self.kind == "village":
            return village_code == self.village_code
        return village_code == self.village_code and rw == self.rw


def alert_area(kind: str, code: str, rw: Any, polseks: Iterable[str]) -> AlertArea:
    """The area a console names (kind rw|village|district, a code, an RW), within the operator's Polseks."""
    code, polseks = str(code or "").strip(), list(polseks)
    if kind == "district":
        if code not in polseks:
            raise InvalidInput(f"Kecamatan {code} bukan wilayah Polsek Anda.")
        return AlertArea("district", code)
    if kind not in ("village", "rw") or not wilayah.village_exists(code):
        raise InvalidInput("Pilih wilayah: RW, kelurahan/desa atau kecamatan, dengan kode Kemendagri yang ada.")
    if wilayah.district_code(code) not in polseks:
        raise NotYourArea(code)
    if kind == "village":
        return AlertArea("village", wilayah.district_code(code), code)
    try:
        number = int(rw)
    except (TypeError, ValueError):
        raise InvalidInput("Sebutkan nomor RW (1 sampai 999).") from None
    if not 1 <= number <= 999:
        raise InvalidInput("Sebutkan nomor RW (1 sampai 999).")
    return AlertArea("rw", wilayah.district_code(code), code, number)


def alert_sms(area: AlertArea, text: str) -> dict[str, Any]:
    """The alert's SMS as it would go, with its encoding and segments, and why it may not go (None: it may)."""
    cleaned = " ".join(sms.transliterate(text or "").split())
    full = texts.ALERT.text.format(polsek=texts.short_polsek(area.district), area=area.text, text=cleaned)
    encoding, length, segments = sms.encode_info(full)
    refusal = None
    if not cleaned:
        refusal = "Isi peringatan masih kosong."
    elif encoding != sms.GSM7:
        odd = "".join(dict.fromkeys(c for c in cleaned if sms.gsm7_septets(c) is None))
        refusal = (f"Peringatan harus 1 SMS GSM-7: huruf {odd!r} (mis. emoji) membuatnya UCS-2 ({segments} SMS "
                   f"per penerima). Hapus huruf itu.")
    elif segments > 1:
        refusal = (f"Peringatan harus 1 SMS (160 karakter GSM-7 termasuk kepala dan penutup): kelebihan "
                   f"{length - sms.single_segment_limit(encoding)} karakter; persingkat isinya.")
    return {"text": full, "encoding": encoding, "length": length, "segments": segments, "refusal": refusal,
            "room": sms.single_segment_limit(sms.GSM7) - length if encoding == sms.GSM7 else None}


def alert_choices(category: str, urgency: str, severity: str | None, certainty: str | None) -> dict[str, str]:
    if category not in CATEGORIES:
        raise InvalidInput(f"Kategori: salah satu dari {', '.join(CATEGORIES)}.")
    if urgency not in URGENCIES:
        raise InvalidInput(f"Urgensi: salah satu dari {', '.join(URGENCIES)}.")
    severity, certainty = severity or "Moderate", certainty or "Likely"
    if severity not in CAP_SEVERITIES or certainty not in CAP_CERTAINTIES:
        raise InvalidInput("Tingkat keparahan atau kepastian tidak dikenal (CAP 1.2).")
    return {"category": category, "urgency": urgency, "severity": severity, "certainty": certainty}


def expiry(now: datetime, minutes: Any, max_hours: float) -> datetime:
    try:
        value = float(minutes)
    except (TypeError, ValueError):
        raise InvalidInput("Masa berlaku: jumlah menit.") from None
    if not 5 <= value <= max_hours * 60:
        raise InvalidInput(f"Masa berlaku 5 menit sampai {max_hours:g} jam.")
    return to_millisecond(now + timedelta(minutes=value))


def recipients(area: AlertArea, subscribers: Iterable[Mapping[str, Any]],
               posts: Iterable[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Each phone once: the posts' leaders first (they act on it), then the consenting residents."""
    found: dict[str, dict[str, str]] = {}
    for post in posts:
        if area.holds(post["village_code"], post.get("rw")):
            found.setdefault(post["leader_phone"], {"to": post["leader_phone"], "as": "post"})
    for subscriber in subscribers:
        if subscriber.get("active") and area.holds(subscriber["village_code"], subscriber.get("rw")):
            found.setdefault(subscriber["_id"], {"to": subscriber["_id"], "as": "resident"})
    return list(found.values())


def new_alert(alert_id: str, area: AlertArea, choices: Mapping[str, str], text: str, message: Mapping[str, Any],
              expires_at: datetime, by: str, now: datetime, count: int) -> dict[str, Any]:
    if message["refusal"]:
        raise AlertRefused(message["refusal"])
    if expires_at <= now:
        raise AlertRefused("Masa berlaku sudah lewat.")
    return {"_id": alert_id, "number": alert_id.replace("-", "")[:6].upper(), "polsek": area.district,
            "area": {"kind": area.kind, "code": area.code, "village_code": area.village_code, "rw": area.rw,
                     "district": area.district, "text": area.text},
            **choices, "text": " ".join(sms.transliterate(text).split()), "sms_text": message["text"],
            "segments": message["segments"], "issued_at": to_millisecond(now), "issued_by": by,
            "expires_at": expires_at, "state": ACTIVE, "recipients": count, "sent": 0, "not_sent": 0}


def delivery(alert: Mapping[str, Any], recipient: Mapping[str, str], now: datetime) -> dict[str, Any]:
    """One recipient's SMS of an alert, waiting its turn; its id is the SMS's (one per alert and phone)."""
    return {"_id": derived_id(f"alert|{alert['_id']}", "community_sms", recipient["to"]), "alert_id": alert["_id"],
            "to": recipient["to"], "as": recipient["as"], "state": PENDING, "queued_at": now}


def closing_state(alert: Mapping[str, Any], now: datetime) -> str | None:
    """An active alert past its expiry is expired: nobody not yet reached is sent it."""
    if alert["state"] == ACTIVE and alert["expires_at"] <= now:
        return EXPIRED
    return None


def sms_for(alert: Mapping[str, Any], one: Mapping[str, Any]) -> dict[str, Any]:
    return {"sms_id": one["_id"], "to": one["to"], "text": alert["sms_text"], "kind": texts.ALERT.name,
            "recipient_role": "citizen", "priority": PRIORITY_OF_URGENCY[URGENCIES[alert["urgency"]]],
            "alert_id": alert["_id"]}


def cap_identifier(alert: Mapping[str, Any]) -> str:
    return f"siaga-{alert['polsek']}-{alert['_id']}"


def cap_sender(polsek: str, domain: str) -> str:
    return f"polsek-{polsek.replace('.', '')}@{domain}"


def cap_time(at: datetime, code: str) -> datetime:
    """CAP 1.2 times carry the local offset and whole seconds (its schema's pattern)."""
    _, hours = wilayah.time_zone(code)
    return at.astimezone(timezone(timedelta(hours=hours))).replace(microsecond=0)


def alert_issued_data(alert: Mapping[str, Any], domain: str) -> dict[str, Any]:
    """community_alert_issued: the CAP 1.2 alert, and what Siaga adds beside it."""
    area, polsek = alert["area"], alert["polsek"]
    geocode = [{"valueName": "KEMENDAGRI", "value": area["village_code"] or area["district"]}]
    if area["kind"] == "rw":
        geocode.append({"valueName": "KEMENDAGRI_RW", "value": area["code"]})
    return {
        "identifier": cap_identifier(alert), "sender": cap_sender(polsek, domain),
        "sent": cap_time(alert["issued_at"], polsek), "status": "Actual", "msgType": "Alert", "scope": "Public",
        "info": {
            "language": "id-ID", "category": [CATEGORIES[alert["category"]]], "event": EVENT_NAMES[alert["category"]],
            "urgency": URGENCIES[alert["urgency"]], "severity": alert["severity"], "certainty": alert["certainty"],
            "expires": cap_time(alert["expires_at"], polsek), "senderName": texts.short_polsek(polsek),
            "headline": f"{EVENT_NAMES[alert['category']]}: {area['text']}", "description": alert["text"],
            "area": {"areaDesc": area["text"], "geocode": geocode},
        },
        "siaga": {"alert_id": alert["_id"], "polsek": polsek, "area_kind": area["kind"], "area_code": area["code"],
                  "sms_text": alert["sms_text"], "segments": alert["segments"], "recipients": alert["recipients"],
                  "issued_by": alert["issued_by"]},
    }


def alert_view(alert: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("number", "polsek", "area", "category", "urgency", "severity", "certainty", "text", "sms_text",
            "segments", "issued_at", "issued_by", "expires_at", "state", "recipients", "sent", "not_sent",
            "cancelled_by", "cancelled_at")
    return {"alert_id": alert["_id"], **{key: alert.get(key) for key in keys}}


# ---------------------------------------------------------------- consent

def consent_wording(area_text: str, polsek: str) -> str:
    """What the resident is answered on consenting: the wording kept with the consent."""
    return texts.render(texts.SUBSCRIBED, area=area_text, polsek=texts.short_polsek(polsek))


def consent_entry(entry_id: str, phone: str, action: str, village: str | None, rw: int | None, at: datetime,
                  wording: str, their_words: str, gateway_id: str) -> dict[str, Any]:
    """One line of the consent record: given or revoked, when, for where, in whose words and answered how."""
    return {"_id": entry_id, "phone": phone, "action": action, "village_code": village, "rw": rw,
            "at": to_millisecond(at), "wording": wording, "their_words": their_words[:160], "gateway_id": gateway_id}
