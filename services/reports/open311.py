"""Open311 GeoReport v2, the pure half: forms in, service requests out, in JSON or XML. No I/O.

Service codes are Siaga's category codes. A POST becomes an `incident_reported` event (source
`/open311/<client>`, a deterministic id: the same form from the same client is the same request)
and goes through intake like any other. Its id doubles as the Open311 `token`. Reports are public
through GET (the spec has no key for reading), so `request_view` is the one rule of what the public
sees: category, status, kelurahan and times of every report; the street address, coordinates,
description and photo only of what a reporter posted through Open311 itself (a 110 caller's address
or a citizen app's GPS fix is not theirs to publish); never a name, phone, e-mail or device id.
Categories configured as hidden (domestic violence by default) are not listed at all.

Error answers name the parameter and say what is wrong in fixed words: they never repeat what was
sent, and an unexpected failure is a fixed 500 (the details go to the log).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable
from xml.etree import ElementTree

from marshmallow import ValidationError

from services.reports import domain
from services.reports import reasons as why
from services.reports.settings import IntakeSettings, Open311Settings
from shared import wilayah
from shared.categories import CATEGORIES
from shared.envelope import Event
from shared.events.intake import IncidentReportedSchema
from shared.lifecycle import CLOSED_STATUSES

NO_SUCH_SERVICE = "service_code: not a service, see services.json / bukan layanan"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
DEFAULT_PERIOD = timedelta(days=90)  # the spec's default window for GET requests
MAX_REQUESTS = 1000  # the spec's suggested maximum per response
# Dates a query may name: wide enough for any real one, narrow enough that no arithmetic on them overflows.
EARLIEST_DATE = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST_DATE = datetime(9000, 1, 1, tzinfo=timezone.utc)
_NAMESPACE = uuid.UUID("0b9a3a4e-3f7c-4f43-8d0c-6a8f1b7d2e90")
_XML_ITEMS = {"services": "service", "service_requests": "request", "errors": "error",
              "attributes": "attribute", "values": "value"}
STATUS_NOTES = {
    "needs_review": "Waiting for an operator to review it / Menunggu pemeriksaan operator",
    "received": "Received, finding an officer / Diterima, mencari petugas",
    "awaiting_officer": "Finding another officer / Mencari petugas lain",
    "assigned": "An officer was assigned / Petugas sudah ditugaskan",
    "acknowledged": "The officer accepted / Petugas menerima tugas",
    "en_route": "The officer is on the way / Petugas dalam perjalanan",
    "on_scene": "The officer is on scene / Petugas di lokasi",
    "escalated": "Handled by the Polsek duty desk / Ditangani piket Polsek",
    "resolved": "Resolved / Selesai ditangani",
    "cancelled": "Closed without action / Ditutup tanpa tindakan",
    "duplicate": "Same incident as an earlier request / Kejadian yang sama dengan laporan sebelumnya",
}


class Open311Error(Exception):
    """An answer in the spec's error format: HTTP status and one (code, description) per reason."""

    def __init__(self, status: int, descriptions: Iterable[str]):
        self.status = status
        self.descriptions = list(descriptions)
        super().__init__("; ".join(self.descriptions))


def not_found(parameter: str) -> Open311Error:
    return Open311Error(404, [f"{parameter}: not found / tidak ditemukan"])


def internal_error() -> Open311Error:
    return Open311Error(500, ["internal error, try again later / kesalahan di server, coba lagi nanti"])


def hash_key(api_key: str) -> str:
    """What config holds for an API key: its sha256 digest (hex), never the key."""
    return hashlib.sha256(api_key.encode()).hexdigest()


def client_for(settings: Open311Settings, api_key: str | None) -> str:
    """The client an API key belongs to; Open311Error 403 for a missing or unknown key."""
    if api_key:
        digest = hash_key(api_key)
        for known, client in settings.key_digests.items():
            if hmac.compare_digest(known, digest):
                return client
    raise Open311Error(403, ["api_key missing or not valid / api_key tidak ada atau tidak sah"])


def check_jurisdiction(settings: Open311Settings, jurisdiction_id: str | None) -> None:
    if jurisdiction_id and jurisdiction_id != settings.jurisdiction_id:
        raise Open311Error(404, [f"jurisdiction_id: not served here, this is {settings.jurisdiction_id} / "
                                 f"tidak dilayani di sini"])


# --- Services -----------------------------------------------------------------------------------

def service_list() -> list[dict[str, Any]]:
    return [{
        "service_code": category.code,
        "service_name": category.name_id,
        "description": f"{category.name_id} ({category.code.replace('_', ' ')}), priority {category.priority}",
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(category.synonyms),
        "group": "kepolisian",
    } for category in CATEGORIES.values()]


def service_definition(service_code: str) -> dict[str, Any]:
    if service_code not in CATEGORIES:
        raise Open311Error(404, [NO_SUCH_SERVICE])
    return {"service_code": service_code, "attributes": [
        {"variable": True, "code": "village_code", "datatype": "string", "required": False,
         "datatype_description": "Kemendagri village code PP.KK.CC.DDDD", "order": 1,
         "description": "Village (desa/kelurahan); required when lat and long are not given"},
        {"variable": True, "code": "rw", "datatype": "number", "required": False,
         "datatype_description": "RW number, 1-999", "order": 2, "description": "RW (rukun warga)"},
    ]}


# --- POST requests ------------------------------------------------------------------------------

def incident_from_form(form: dict[str, str], client: str, rules: IntakeSettings, now: datetime) -> Event:
    """The incident_reported event a POST stands for; Open311Error 400 listing every reason."""
    if not form.get("service_code"):
        raise Open311Error(400, ["service_code: required / wajib diisi"])
    if form["service_code"] not in CATEGORIES:
        raise Open311Error(400, [NO_SUCH_SERVICE])
    attributes = {key[len("attribute["):-1]: value for key, value in form.items()
                  if key.startswith("attribute[") and key.endswith("]")}
    village = attributes.get("village_code") or form.get("address_id")
    if not (form.get("lat") or form.get("long") or village or (form.get("address_string") or "").strip()):
        text = why.open311_needs_place()
        raise Open311Error(400, [f"lat, long, address_id, address_string: {text['en']} / {text['id']}"])
    name = " ".join(form[key] for key in ("first_name", "last_name") if form.get(key)) or None
    data = {
        "source_kind": "open311",
        "category": form["service_code"],
        "description": form.get("description"),
        "location": {"lat": form.get("lat") or None, "lon": form.get("long") or None,
                     "village_code": village or None,
                     "rw": attributes.get("rw") or None, "address": form.get("address_string") or None},
        "reporter": {"name": name, "phone": form.get("phone") or None,
                     "anonymous": not (name or form.get("phone"))},
        "details": {key: form[key] for key in (
            "service_code", "jurisdiction_id", "email", "first_name", "last_name", "device_id", "account_id",
            "media_url") if form.get(key)} | {"client": client, "attributes": attributes},
    }
    try:
        loaded = IncidentReportedSchema().load(data)
    except ValidationError:
        raise Open311Error(400, describe(domain.every_reason(data, rules, now))) from None
    return Event(id=request_token(client, form), source=f"/open311/{client}", type="incident_reported",
                 time=now, data=loaded, sender="open311")


def token_report_ids(settings: Open311Settings, token: str) -> list[str]:
    """The ids the report a token names may have: one per client with a key, as a report's id derives
    from its source (the client) and the token, and the token alone does not say whose it is. Found this
    way rather than by an index on the token, which every write of every report would pay for; the price:
    a client whose key is withdrawn can no longer turn its tokens into requests (its requests still answer
    by their service_request_id)."""
    return [domain.report_id_of(f"/open311/{client}", token) for client in sorted(set(settings.key_digests.values()))]


def request_token(client: str, form: dict[str, str]) -> str:
    """Deterministic: a client re-sending the same form (a retry) gets the same request back."""
    canonical = json.dumps({k: v for k, v in sorted(form.items()) if k != "api_key"}, ensure_ascii=False)
    return str(uuid.uuid5(_NAMESPACE, f"{client}|{canonical}"))


# Intake's field paths → the Open311 parameters a client sent (a client knows `long`, not `location.lon`).
FORM_FIELDS = {"location.lat": "lat", "location.lon": "long", "location.village_code": "address_id",
               "location.address": "address_string", "location": "lat, long", "location.rw": "attribute[rw]",
               "reporter.phone": "phone", "reporter.name": "first_name, last_name", "category": "service_code",
               "details.email": "email", "details.media_url": "media_url", "details.device_id": "device_id",
               "details.account_id": "account_id"}


def describe(explanations: dict[str, why.Explanation]) -> list[str]:
    return [f"{FORM_FIELDS.get(path, path)}: {text['en']} / {text['id']}" for path, text in explanations.items()]


def post_response(report: dict[str, Any], account_id: str | None) -> list[dict[str, Any]]:
    """The client's own account_id back to it, from its form: an anonymous report keeps none (anonymity.py)."""
    return [{"service_request_id": report["_id"], "token": report["origin"]["id"],
             "service_notice": service_notice(report), "account_id": account_id}]


def service_notice(report: dict[str, Any]) -> str:
    """The same notice on the POST's answer and on every GET: where the request stands, in both languages."""
    notice = STATUS_NOTES.get(report["status"], "")
    if report["status"] == "duplicate":
        notice = f"{notice}: {report['duplicate_of']['number']}"
    return notice


# --- GET requests -------------------------------------------------------------------------------

def request_filters(args: dict[str, str], now: datetime, settings: Open311Settings) -> dict[str, Any]:
    """The Mongo query for GET requests and its limit; Open311Error 400 for a filter it cannot read."""
    problems = []
    query: dict[str, Any] = {"category": {"$nin": list(settings.hidden_categories)}}
    if args.get("service_request_id"):
        query["_id"] = {"$in": _split(args["service_request_id"])}
    else:
        end = _date(args, "end_date", problems) or now
        start = _date(args, "start_date", problems) or end - DEFAULT_PERIOD
        query["received_at"] = {"$gte": start, "$lte": end}
    if args.get("service_code"):
        codes = _split(args["service_code"])
        if any(code not in CATEGORIES for code in codes):
            problems.append(NO_SUCH_SERVICE)
        query["category"]["$in"] = codes
    if args.get("status"):
        wanted = set(_split(args["status"]))
        if wanted - {"open", "closed"}:
            problems.append("status: must be open or closed / harus open atau closed")
        if wanted == {"closed"}:
            query["status"] = {"$in": list(CLOSED_STATUSES)}
        elif wanted == {"open"}:
            query["status"] = {"$nin": list(CLOSED_STATUSES)}
    if problems:
        raise Open311Error(400, problems)
    return query


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def _date(args: dict[str, str], key: str, problems: list[str]) -> datetime | None:
    if not args.get(key):
        return None
    try:
        value = datetime.fromisoformat(args[key].replace("Z", "+00:00"))
        value = (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except (ValueError, OverflowError):
        value = None
    if value is None or not EARLIEST_DATE <= value < LATEST_DATE:
        problems.append(f"{key}: not a W3C date-time from 1970 on, e.g. 2026-11-23T08:00:00+07:00 / "
                        f"format tanggal salah")
        return None
    return value


# --- What the public sees -----------------------------------------------------------------------

def is_public(report: dict[str, Any], settings: Open311Settings) -> bool:
    return report["category"] not in settings.hidden_categories


def posted_by(report: dict[str, Any], settings: Open311Settings, api_key: str | None) -> bool:
    """The Open311 client that posted this request (its api_key on the GET): it may follow a hidden category."""
    if not api_key or report["source_kind"] != "open311":
        return False
    try:
        return report["origin"]["source"] == f"/open311/{client_for(settings, api_key)}"
    except Open311Error:
        return False


def poster_view(report: dict[str, Any]) -> dict[str, Any]:
    """A hidden category (domestic violence) to the client that posted it: where it stands, nothing of what or where."""
    view = request_view(report)
    return {key: (view[key] if key in POSTER_FIELDS else None) for key in view} | {
        "agency_responsible": "Polri"}


POSTER_FIELDS = ("service_request_id", "status", "status_notes", "service_name", "service_code", "service_notice",
                 "requested_datetime", "updated_datetime")


def posted_through_open311(report: dict[str, Any]) -> bool:
    """The reporter chose to publish this: they sent it to a public Open311 endpoint themselves."""
    return report["source_kind"] == "open311" and report["origin"]["source"].startswith("/open311/")


def request_view(report: dict[str, Any]) -> dict[str, Any]:
    """A report as the public sees it (GET requests): see the module's docstring for the rule."""
    place = report["place"]
    category = CATEGORIES.get(report["category"], CATEGORIES["other"])
    district = wilayah.district_code(place["village_code"]) if place.get("village_code") else None
    view = {
        "service_request_id": report["_id"],
        "status": "closed" if report["status"] in CLOSED_STATUSES else "open",
        "status_notes": STATUS_NOTES.get(report["status"], report["status"]),
        "service_name": category.name_id,
        "service_code": category.code,
        "description": None,
        "agency_responsible": wilayah.polsek_name(district) if district else "Polri",
        "service_notice": service_notice(report),
        "requested_datetime": _w3c(report["received_at"]),
        "updated_datetime": _w3c(report.get("updated_at") or report["received_at"]),
        "expected_datetime": None,
        "address": place.get("village_name"),
        "address_id": place.get("village_code"),
        "zipcode": None,
        "lat": None,
        "long": None,
        "media_url": None,
    }
    if posted_through_open311(report):
        view |= {
            "description": report["description"],
            "address": ", ".join(part for part in (place.get("address"), place.get("village_name")) if part) or None,
            "lat": place.get("lat"),
            "long": place.get("lon"),
            "media_url": (report.get("source_details") or {}).get("media_url"),
        }
    return view


def token_view(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"service_request_id": report["_id"], "token": report["origin"]["id"]}]


def _w3c(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


# --- Rendering ----------------------------------------------------------------------------------

def render(fmt: str, root: str, items: list[dict[str, Any]] | dict[str, Any]) -> tuple[str, str]:
    """(content type, body): JSON as the spec shows it (a list, a definition object), or its XML."""
    if fmt == "json":
        return FORMATS["json"], json.dumps(items, ensure_ascii=False)
    element = ElementTree.Element(root)
    _to_xml(element, items)
    return FORMATS["xml"], '<?xml version="1.0" encoding="utf-8"?>' + ElementTree.tostring(element, "unicode")


def _to_xml(parent: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for key, inner in value.items():
            _to_xml(ElementTree.SubElement(parent, key), inner)
    elif isinstance(value, list):
        child_tag = _XML_ITEMS.get(parent.tag, "item")
        for inner in value:
            _to_xml(ElementTree.SubElement(parent, child_tag), inner)
    elif isinstance(value, bool):
        parent.text = "true" if value else "false"
    elif value is not None:
        parent.text = str(value)


def render_error(fmt: str, error: Open311Error) -> tuple[str, str]:
    return render(fmt if fmt in FORMATS else "json", "errors",
                  [{"code": error.status, "description": text} for text in error.descriptions])


if __name__ == "__main__":  # python -m services.reports.open311 KEY → the digest to put in OPEN311_API_KEYS
    import sys

    for key in sys.argv[1:]:
        print(hash_key(key))
