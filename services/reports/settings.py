"""The reports service's settings (config.yml `INTAKE` and `OPEN311`), each default written here once."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar, Mapping

from shared.settings import setting


@dataclass(frozen=True)
class DedupWindow:
    """Two open reports of one category this close in space and time are one incident."""

    radius_m: float
    minutes: float

    @property
    def period(self) -> timedelta:
        return timedelta(minutes=self.minutes)


NEVER_MERGED = DedupWindow(0, 0)
DEFAULT_DEDUP_WINDOWS: dict[str, DedupWindow] = {
    "traffic_accident": DedupWindow(150, 30),
    "fire": DedupWindow(300, 60),
    "brawl": DedupWindow(300, 30),
    "robbery": DedupWindow(200, 30),
    "theft": DedupWindow(100, 60),
    "domestic_violence": DedupWindow(50, 120),
    "disturbance": DedupWindow(200, 60),
    "disaster": DedupWindow(1000, 180),
    "missing_person": NEVER_MERGED,  # two missing children nearby are two children
    "other": DedupWindow(100, 30),
}


def seconds(raw: Any) -> timedelta:
    return timedelta(seconds=float(raw))


def dedup_windows(raw: Mapping[str, Any]) -> dict[str, DedupWindow]:
    """`{category: [metres, minutes]}`: the categories given replace their default window."""
    return DEFAULT_DEDUP_WINDOWS | {category: DedupWindow(float(radius_m), float(minutes))
                                    for category, (radius_m, minutes) in raw.items()}


@dataclass(frozen=True)
class IntakeSettings:
    """What a Polres starts with; a CCTV detection's confidence decides how much a person checks it."""

    SECTION: ClassVar[str] = "INTAKE"
    max_clock_skew: timedelta = setting(timedelta(minutes=5), "how far in the future occurred_at may lie "
                                        "(the sender's clock may run fast), in seconds",
                                        key="MAX_CLOCK_SKEW_SECONDS", parse=seconds)
    cctv_review_floor: float = setting(0.5, "below: a CCTV detection waits for a person (needs_review)")
    cctv_low_confidence: float = setting(0.8, "below (and above the floor): one priority step lower")
    dedup_windows: dict = setting(DEFAULT_DEDUP_WINDOWS, "category: [metres, minutes] within which an open "
                                  "report of the category is the same incident", parse=dedup_windows)

    def window_for(self, category: str) -> DedupWindow:
        return self.dedup_windows.get(category) or self.dedup_windows.get("other") or NEVER_MERGED


def api_key_digests(raw: str) -> dict[str, str]:
    """"client:sha256hex,client2:sha256hex" (as `python -m services.reports.open311 KEY` prints) →
    digest → client."""
    digests = {}
    for entry in str(raw).split(","):
        if ":" in entry:
            client, digest = entry.strip().split(":", 1)
            digests[digest.strip().lower()] = client.strip()
    return digests


@dataclass(frozen=True)
class Open311Settings:
    SECTION: ClassVar[str] = "OPEN311"
    jurisdiction_id: str = setting("siaga", "the one jurisdiction_id this endpoint answers for")
    key_digests: dict = setting({}, "client:sha256hex,… — digests of the API keys accepted for POST, never keys",
                                key="API_KEYS", parse=api_key_digests)
    hidden_categories: tuple = setting(("domestic_violence",), "categories never listed to the public")


@dataclass(frozen=True)
class SweepSettings:
    """The sweep that finds a report dispatch never answered (a lost event or write) and asks again."""

    SECTION: ClassVar[str] = "SWEEP"
    interval: float = setting(60.0, "how often reports looks for reports stuck at received", key="SECONDS")
    received_deadline: timedelta = setting(timedelta(minutes=10), "a report still received (no assignment, no "
                                           "escalation) this long after intake is said again to dispatch, in "
                                           "seconds", key="RECEIVED_DEADLINE_SECONDS", parse=seconds)
    batch: int = setting(200, "reports said again per sweep at most")
