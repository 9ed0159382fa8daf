"""What a Polsek's SMS cost today and this month, against its monthly budget.

Every SMS record carries its segments, operator, price and Polsek (the district of the report it is
about), so a Polsek's spending is one aggregation over its own records. The day and the month are
the Polsek's own (WIB, WITA or WIT). Past the budget, reporters' updates are held (stored, not sent)
while officers and duty desks still get theirs: a report is still handled, and the console says so.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

from shared import wilayah
from shared.sms_pricing import SmsPrices

WARN_SHARE = 0.8  # the console warns from here
# Roles whose SMS keep flowing past the budget: without them a report is not handled.
ESSENTIAL_ROLES = ("officer", "duty_desk")
OVER_BUDGET = "over_budget"  # a reporter's update held because the Polsek's budget was spent
# A district of each time zone (WIB, WITA, WIT): where a month starts first and last.
ZONE_SAMPLES = ("31.71.01", "51.71.01", "94.71.01")


def polsek_of(village_code: str | None) -> str | None:
    """The Polsek (district, PP.KK.CC) a village belongs to."""
    parts = (village_code or "").split(".")
    return ".".join(parts[:3]) if len(parts) >= 3 else None


def periods(polsek: str, now: datetime) -> tuple[datetime, datetime]:
    """(start of today, start of this month) on the Polsek's own clock, as UTC instants."""
    _, hours = wilayah.time_zone(polsek)
    zone = timezone(timedelta(hours=hours))
    local = now.astimezone(zone)
    today = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return today.astimezone(timezone.utc), today.replace(day=1).astimezone(timezone.utc)


def holds(message: dict[str, Any], month_spent: Callable[[str], float], prices: SmsPrices) -> bool:
    """Is this SMS held because its Polsek's monthly budget is spent? Never an officer's or a duty desk's
    (`month_spent` is asked only for the others)."""
    if message.get("recipient_role") in ESSENTIAL_ROLES or not message.get("polsek"):
        return False
    budget = prices.budget_of(message["polsek"])
    return budget > 0 and month_spent(message["polsek"]) >= budget


def summary(polsek: str, today: dict[str, float], month: dict[str, float], held: int,
            prices: SmsPrices) -> dict[str, Any]:
    """What the console shows: counts and rupiah today and this month, the budget's share, what is held."""
    budget = prices.budget_of(polsek)
    share = month["rupiah"] / budget if budget > 0 else 0.0
    state = "over" if budget > 0 and share >= 1 else "warning" if budget > 0 and share >= WARN_SHARE else "ok"
    return {"polsek": polsek, "today": today, "month": month, "budget": budget, "share": round(share, 4),
            "state": state, "held_reporter_updates": held}
