"""The words of an SMS: pieces of text from event data, and a template fitted into one GSM-7 segment."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from services.notify import templates
from services.notify.exceptions import TemplateDoesNotFit
from services.notify.templates import Template
from shared import sms, wilayah

# ---------------------------------------------------------------------------------------------
# Text pieces


def place_text(place: dict[str, Any]) -> str:
    """`Kel. Menteng, RW 05` (a village code 1xxx is a kelurahan, 2xxx a desa)."""
    village = place.get("village_name")
    kind = "Desa" if (place.get("village_code") or "").rsplit(".", 1)[-1].startswith("2") else "Kel."
    parts = [f"{kind} {village}" if village else None, f"RW {place['rw']:02d}" if place.get("rw") else None]
    return ", ".join(p for p in parts if p) or "lokasi belum jelas"


def address_text(place: dict[str, Any]) -> str:
    return f", {place['address']}" if place.get("address") else ""


def sentence(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text + "." if text and text[-1] not in ".!?" else text


def duty_category(code: str) -> str:
    return templates.DUTY_CATEGORY_NAMES.get(code, templates.DUTY_CATEGORY_NAMES["other"])


def citizen_category(code: str) -> str:
    return templates.CITIZEN_CATEGORY_NAMES.get(code, templates.CITIZEN_CATEGORY_NAMES["other"])


def citizen_place(place: dict[str, Any]) -> str:
    """`Kel. Menteng`: the reporter knows the street and the RW; the village confirms we understood."""
    return place_text({key: place.get(key) for key in ("village_code", "village_name")})


def officer_title(officer: dict[str, Any]) -> str:
    """Rank and name, once: rosters often already write the rank into the name."""
    name, rank = officer.get("name") or "", officer.get("rank") or ""
    return name if not rank or name.lower().startswith(rank.lower()) else f"{rank} {name}"


def local_time(at: datetime, village_code: str | None) -> str:
    """`14:05 WIB`: the clock of the province the report is in (WIB where the place is unknown)."""
    zone, hours = wilayah.time_zone(village_code or "")
    aware = at if at.tzinfo else at.replace(tzinfo=timezone.utc)
    return f"{aware.astimezone(timezone(timedelta(hours=hours))):%H:%M} {zone}"


def rejection_reasons_text(reasons: dict[str, Any]) -> str:
    """`lokasi dan nomor telepon`: what a citizen calls the fields that were wrong, each once."""
    found: list[str] = []
    for path in _paths(reasons):
        head = next((part for part in path.split(".") if part in templates.REJECTION_FIELDS), None)
        word = templates.REJECTION_FIELDS[head] if head else templates.REJECTION_OTHER
        if word not in found:
            found.append(word)
    if not found:
        return templates.REJECTION_OTHER
    return found[0] if len(found) == 1 else ", ".join(found[:-1]) + " dan " + found[-1]


def _paths(reasons: Any, prefix: str = "") -> list[str]:
    if not isinstance(reasons, dict):
        return [prefix] if prefix else []
    return [path for key, value in reasons.items() for path in _paths(value, f"{prefix}.{key}" if prefix else key)]


# ---------------------------------------------------------------------------------------------
# Fitting a template into one segment


def render(template: Template, **values: Any) -> str:
    """Fill `template` as GSM-7 text in one segment, shortening its `shrinkable` fields in order (shared.sms.fit).

    Raises TemplateDoesNotFit when even every shrinkable field emptied leaves more than one
    segment: a template bug, which the one-segment test catches before anyone reads it.
    """
    try:
        return sms.fit(template.text, template.shrinkable, **values)
    except sms.DoesNotFit:
        raise TemplateDoesNotFit(template.name, sms.fit_attempt(template.text, **values)) from None


def render_list(template: Template, items: list[str], **values: Any) -> str:
    """Fill `template`'s `{items}` with as many of `items` as fit one GSM-7 segment, in order; the rest
    are counted as "+N lainnya" (the console lists them all)."""
    filled = {key: sms.gsm7_text(str(value)) for key, value in values.items()}
    for shown in range(len(items), -1, -1):
        rest = len(items) - shown
        listed = ", ".join(sms.gsm7_text(item) for item in items[:shown])
        listed = f"{listed} +{rest} lainnya".strip() if rest else listed
        text = sms.fill(template.text, filled | {"items": listed})
        if sms.overflow(text) <= 0:
            return text
    raise TemplateDoesNotFit(template.name, text)
