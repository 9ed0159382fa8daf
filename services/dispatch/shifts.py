"""Shift schedules: who is on duty is a pure function of the schedule and the time.

A schedule is a list of lines a Polsek admin can type, in the Polsek's local time:

    "daily 07:00-19:00"      "mon-fri 07:00-15:00"      "sat,sun 19:00-07:00"

A shift whose end is not after its start runs past midnight and belongs to the day it starts
("fri 22:00-06:00" covers Saturday 03:00); "00:00-24:00" is the whole day. An empty schedule
means always on call (the duty desk, or an officer whose shifts are not managed here).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_LINE = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})\s*-\s*(?P<end>\d{1,2}:\d{2})\s*$")


@dataclass(frozen=True)
class Shift:
    days: frozenset[int]  # 0 = Monday
    start: int  # minute of the day
    end: int  # minute of the day, 1..1440; end <= start runs past midnight

    def covers(self, weekday: int, minute: int) -> bool:
        if self.start < self.end:
            return weekday in self.days and self.start <= minute < self.end
        return (weekday in self.days and minute >= self.start) or (
            (weekday - 1) % 7 in self.days and minute < self.end)


@lru_cache(maxsize=4096)
def parse_shift(line: str) -> Shift:
    """One schedule line; ValueError with a reason a Polsek admin can act on."""
    match = _LINE.match(line.lower())
    if not match:
        raise ValueError(f"{line!r}: expected e.g. 'mon-fri 07:00-15:00' or 'daily 19:00-07:00'")
    return Shift(_parse_days(match["days"], line), _minute(match["start"], line), _minute(match["end"], line))


def _parse_days(text: str, line: str) -> frozenset[int]:
    if text == "daily":
        return frozenset(range(7))
    days: set[int] = set()
    for part in text.split(","):
        first, _, last = part.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(f"{line!r}: days are daily, or {', '.join(DAYS)} (ranges like mon-fri)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(d % 7 for d in range(a, b + 1 if b >= a else b + 8))
    return frozenset(days)


def _minute(text: str, line: str) -> int:
    hours, minutes = (int(x) for x in text.split(":"))
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise ValueError(f"{line!r}: {text} is not a time of day")
    return hours * 60 + minutes


def on_duty(schedule: list[str] | tuple[str, ...], now_utc: datetime, utc_offset_hours: int) -> bool:
    """Is an officer with this schedule on shift at `now_utc`, in a zone `utc_offset_hours` from UTC?"""
    if not schedule:
        return True
    local = now_utc + timedelta(hours=utc_offset_hours)
    weekday, minute = local.weekday(), local.hour * 60 + local.minute
    return any(parse_shift(line).covers(weekday, minute) for line in schedule)
