"""Open figures, the pure half: per Polsek and per village, by month, what the public may see of how
reports were answered. No I/O: the store hands over the month's reports, this module measures them.

What a figure is built from, so anyone with the data gets the same numbers:
- The month is a calendar month in the area's own time zone (WIB, WITA or WIT by its province,
  `wilayah.time_zone`); a report belongs to the month its `received_at` falls in.
- Counted: every report of a village of the area received in the month, except duplicates (the same
  incident as a report already counted) and CCTV detections still held for review (nobody was asked to
  act). Categories the public never sees (OPEN311 HIDDEN_CATEGORIES, domestic violence by default) are
  left out of every figure, totals included, so no difference between two figures reveals them.
- Acknowledgement: the first step, over all of a report's assignments, at which an officer took it on
  (acknowledged, en route, on scene or completed: an officer may skip a step). Arrival: the first
  on-scene step. Each time runs from `received_at`, from the step times dispatch's events carry. A
  report an officer raised on the spot (`reporting_officer_nrp`) awaited nobody and is left out of both.
  A report with no such step is not in that time figure (it is still in the counts).
- Median and 90th percentile by nearest rank: the smallest measured time that at least p % of the
  times are at most (Hyndman & Fan definition 1, always an observed value; the median of an even
  count is the lower middle one). In whole seconds.
- Share resolved: reports resolved (as stored when asked) over reports counted, rounded to 3 places.

Suppression: a cell built from fewer than `MIN_REPORTS` reports is published as None — a count
below 5 (zero included, so a suppressed zero and a suppressed four read alike), a time figure from
fewer than 5 measured times, a share from fewer than 5 reports. Counts add up (categories to a
total, villages to their Polsek), so a suppressed count could be worked out by subtraction: while the
suppressed counts of a line whose total is shown sum to 1–4, or are one count alone (not zero), the
smallest count still shown on that line is suppressed too (the line's total when none is left), until
no line can be undone. The rule goes line by line; it is not an audit of every combination of lines
(a suppressed count may still be bounded to a range). A village's figures are its row of its Polsek's
table, so both pages always suppress alike.

Visits (sambang, patroli dialogis, from community's `visit_recorded`): per village and per RW, the visits
officers made in the month, by `visited_at`. They count police work, not residents' reports, so they are
published as they are, never suppressed.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Iterable

from shared import wilayah
from shared.categories import CATEGORIES
from shared.lifecycle import ACKNOWLEDGED, COMPLETED, DUPLICATE, EN_ROUTE, NEEDS_REVIEW, ON_SCENE, RESOLVED

MIN_REPORTS = 5
MEDIAN, P90 = 50, 90
LEVELS = ("polsek", "village")
NOT_COUNTED = (DUPLICATE, NEEDS_REVIEW)
ACKNOWLEDGING = (ACKNOWLEDGED.state, EN_ROUTE.state, ON_SCENE.state, COMPLETED.state)
ARRIVING = (ON_SCENE.state,)
TIMES = ("acknowledged", "arrived")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$", re.ASCII)
_POLSEK_CODE = re.compile(r"^\d{2}\.\d{2}\.\d{2}$", re.ASCII)
FIRST_MONTH = (2000, 1)
SUPPRESSED_NOTE = (f"null: built from fewer than {MIN_REPORTS} reports, or withheld so that such a cell cannot be "
                   f"worked out from the others / kosong: dari kurang dari {MIN_REPORTS} laporan")


class FiguresError(Exception):
    """A request the figures cannot answer: HTTP status and a reason in both languages, in fixed words
    (never what was sent)."""

    def __init__(self, status: int, reason: str):
        self.status, self.reason = status, reason
        super().__init__(reason)


# --- What was asked for -------------------------------------------------------------------------

@dataclass(frozen=True)
class Area:
    level: str  # polsek or village
    code: str  # a district code PP.KK.CC (the Polsek's) or a village code PP.KK.CC.DDDD

    @property
    def polsek(self) -> str:
        return self.code if self.level == "polsek" else wilayah.district_code(self.code)

    @property
    def name(self) -> str:
        return wilayah.polsek_name(self.code) if self.level == "polsek" else wilayah.village_name(self.code) or ""

    @property
    def zone(self) -> tuple[str, int]:
        return wilayah.time_zone(self.code)


def area(level: str, code: str) -> Area:
    """The Polsek or village asked for; 400 for a code of the wrong shape, 404 for one that does not exist."""
    if level not in LEVELS:
        raise FiguresError(404, "level: polsek or village / polsek atau village")
    shape = _POLSEK_CODE if level == "polsek" else wilayah.VILLAGE_CODE
    if not shape.fullmatch(code):
        example = "31.71.06" if level == "polsek" else "31.71.06.1001"
        raise FiguresError(400, f"{level}: code must look like {example} / kode harus seperti {example}")
    if code not in wilayah.names():
        raise FiguresError(404, f"{level}: not in Kemendagri's list / tidak ada dalam daftar Kemendagri")
    return Area(level, code)


def level_of(code: str) -> str:
    """A village code has four parts, a Polsek's (its district's) three: what the page's form sends."""
    return "village" if code.count(".") == 3 else "polsek"


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    zone: str
    utc_offset: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def start(self) -> datetime:
        """The first instant of the month in the zone, in UTC."""
        local = datetime(self.year, self.month, 1, tzinfo=timezone(timedelta(hours=self.utc_offset)))
        return local.astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        """The first instant of the next month in the zone, in UTC (excluded)."""
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return Month(year, month, self.zone, self.utc_offset).start


def month(text: str, place: Area, now: datetime) -> Month:
    """`YYYY-MM` in the area's zone; 400 when malformed or before 2000, 404 when it has not begun there yet."""
    found = _MONTH.fullmatch(text)
    if not found or not 1 <= int(found[2]) <= 12 or (int(found[1]), int(found[2])) < FIRST_MONTH:
        raise FiguresError(400, "month: YYYY-MM from 2000-01, e.g. 2026-11 / bulan: TTTT-BB, mis. 2026-11")
    zone, offset = place.zone
    wanted = Month(int(found[1]), int(found[2]), zone, offset)
    if wanted.start > now:
        raise FiguresError(404, f"month: not begun yet in {zone} / bulan belum dimulai di {zone}")
    return wanted


@lru_cache(maxsize=1024)
def villages_of(polsek: str) -> tuple[str, ...]:
    """Every village of the Polsek's district, in code order (Kemendagri's list, read once per Polsek)."""
    prefix = polsek + "."
    return tuple(sorted(code for code in wilayah.names()
                        if code.startswith(prefix) and wilayah.VILLAGE_CODE.match(code)))


def public_categories(hidden: Iterable[str]) -> list[str]:
    hidden = set(hidden)
    return [code for code in CATEGORIES if code not in hidden]


# --- Measuring one report -----------------------------------------------------------------------

@dataclass(frozen=True)
class Measured:
    village: str
    category: str
    resolved: bool
    acknowledged: float | None  # seconds from received to the first acknowledging step
    arrived: float | None  # seconds from received to the first on-scene step


def measured(facts: dict[str, Any]) -> Measured:
    """What one report adds to the figures, from its facts as the store reduces it (`figures_pipeline`:
    village_code, category, status, received_at, by_officer, and each assignment's step times)."""
    awaited = not facts.get("by_officer")
    return Measured(facts["village_code"], facts["category"], facts["status"] == RESOLVED,
                    _first(facts, ACKNOWLEDGING) if awaited else None,
                    _first(facts, ARRIVING) if awaited else None)


def _first(facts: dict[str, Any], states: tuple[str, ...]) -> float | None:
    times = [at for steps in facts.get("steps") or [] for state, at in steps.items() if state in states]
    if not times:
        return None
    return max(0.0, (_utc(min(times)) - _utc(facts["received_at"])).total_seconds())


def _utc(moment: datetime) -> datetime:
    """The store hands back naive UTC datetimes unless told otherwise."""
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def nearest_rank(values: list[float], percent: int) -> int | None:
    """The nearest-rank percentile (see the module's docstring), in whole seconds; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[max(1, math.ceil(percent / 100 * len(ordered))) - 1])


# --- The table ------------------------------------------------------------------------------------

@dataclass
class Row:
    code: str
    name: str
    counts: dict[str, int]  # category → reports, and "total"
    times: dict[str, list[float]] = field(default_factory=dict)
    resolved: int = 0


def build_rows(place: Area, reports: Iterable[dict[str, Any]], hidden: Iterable[str]) -> list[Row]:
    """The Polsek's row first, then one per village of its district, from the month's reports' facts."""
    categories = public_categories(hidden)
    polsek = place.polsek
    rows = {code: Row(code, wilayah.village_name(code) or code, _zero(categories))
            for code in villages_of(polsek)}
    whole = Row(polsek, wilayah.polsek_name(polsek), _zero(categories))
    for report in reports:
        if report["category"] not in categories or report["status"] in NOT_COUNTED:
            continue
        one = measured(report)
        for row in (whole, rows.setdefault(one.village, Row(one.village, one.village, _zero(categories)))):
            row.counts[one.category] += 1
            row.counts["total"] += 1
            row.resolved += one.resolved
            for name in TIMES:
                if getattr(one, name) is not None:
                    row.times.setdefault(name, []).append(getattr(one, name))
    return [whole, *rows.values()]


def _zero(categories: list[str]) -> dict[str, int]:
    return {code: 0 for code in categories} | {"total": 0}


def suppressed_counts(rows: list[Row], categories: list[str]) -> set[tuple[int, str]]:
    """(row index, column) of every count published as None: rows[0] is the margin (the Polsek) of the
    village rows, column "total" the margin of the categories. Primary: below MIN_REPORTS. Secondary:
    see the module's docstring; repeated until no line changes."""
    columns = [*categories, "total"]
    hidden = {(i, c) for i, row in enumerate(rows) for c in columns if row.counts[c] < MIN_REPORTS}
    lines = [([(i, c) for c in categories], (i, "total")) for i in range(len(rows))]
    lines += [([(i, c) for i in range(1, len(rows))], (0, c)) for c in columns]
    changed = True
    while changed:
        changed = False
        for cells, margin in lines:
            if margin in hidden:
                continue
            if _undoable([rows[i].counts[c] for i, c in cells if (i, c) in hidden]):
                shown = [cell for cell in cells if cell not in hidden]
                hidden.add(min(shown, key=lambda cell: (rows[cell[0]].counts[cell[1]], cell)) if shown else margin)
                changed = True
    return hidden


def _undoable(suppressed: list[int]) -> bool:
    """A line's suppressed counts, with its total shown, tell too much: a small sum, or one count alone."""
    return 0 < sum(suppressed) < MIN_REPORTS or (len(suppressed) == 1 and suppressed[0] > 0)


def published(rows: list[Row], categories: list[str]) -> list[dict[str, Any]]:
    """Each row as the public sees it: suppressed cells None, nothing about any one report."""
    hidden = suppressed_counts(rows, categories)
    return [{
        "code": row.code,
        "name": row.name,
        "reports": {c: None if (i, c) in hidden else row.counts[c] for c in categories},
        "reports_total": None if (i, "total") in hidden else row.counts["total"],
        **{f"{name}_{label}_seconds": _timed(row.times.get(name, []), percent)
           for name in TIMES for label, percent in (("median", MEDIAN), ("p90", P90))},
        "resolved_share": (round(row.resolved / row.counts["total"], 3)
                           if row.counts["total"] >= MIN_REPORTS else None),
    } for i, row in enumerate(rows)]


def _timed(values: list[float], percent: int) -> int | None:
    return nearest_rank(values, percent) if len(values) >= MIN_REPORTS else None


def visit_counts(place: Area, visits: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per row code (the Polsek's and each village's): visits made, in all and per RW (`"05"`)."""
    counts: dict[str, dict[str, Any]] = {}
    for visit in visits:
        for code in (place.polsek, visit["village_code"]):
            row = counts.setdefault(code, {"visits_total": 0, "visits_by_rw": {}})
            row["visits_total"] += 1
            if visit.get("rw") and code == visit["village_code"]:
                key = f"{visit['rw']:02d}"
                row["visits_by_rw"][key] = row["visits_by_rw"].get(key, 0) + 1
    return counts


def figures(place: Area, when: Month, reports: Iterable[dict[str, Any]], hidden: Iterable[str],
            visits: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The whole answer: the area's row, and for a Polsek each of its villages' rows."""
    categories = public_categories(hidden)
    made = visit_counts(place, visits)
    rows = [row | made.get(row["code"], {"visits_total": 0, "visits_by_rw": {}})
            for row in published(build_rows(place, reports, hidden), categories)]
    mine = rows if place.level == "polsek" else [row for row in rows if row["code"] == place.code]
    return {
        "level": place.level, "code": place.code, "name": place.name, "month": when.label,
        "time_zone": when.zone, "from": _iso(when.start), "until": _iso(when.end),
        "categories": categories, "min_reports": MIN_REPORTS, "percentiles": "nearest rank",
        "suppressed": SUPPRESSED_NOTE, "rows": mine,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
