"""Dispatch's settings (config.yml `DISPATCH:`): each default written here once, with what it means."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

from shared.settings import setting


@dataclass(frozen=True)
class Settings:
    SECTION: ClassVar[str] = "DISPATCH"

    ack_seconds: Mapping[str, float] = setting(
        {"P1": 120.0, "P2": 300.0, "P3": 900.0, "P4": 3600.0},
        "seconds an officer has to acknowledge an assignment, by priority; then it goes to the next officer")
    max_tries: int = setting(3, "officers tried for one report (expired or declined) before the Polsek duty desk "
                                "is engaged")
    nearest_radius_m: float = setting(3000.0, "how far from the report the nearest-officer rule looks (metres)")
    location_max_age_s: float = setting(900.0, "a last known location older than this (seconds) is not trusted "
                                               "for distance")
    h3_resolution: int = setting(8, "H3 resolution of the officers' spatial index (8: cells of ~0.7 km²); "
                                    "changing it needs a roster reload")
    sweep_seconds: float = setting(2.0, "how often every replica looks for overdue assignments (seconds)")
    follow_up_grace_s: float = setting(30.0, "a decline or expiry whose follow-up is not finished after this long "
                                             "(a worker died) is finished by a sweep (seconds)")
    reannounce_s: float = setting(
        300.0, "an assignment still unacknowledged after this long (seconds) has its assignment_created said again, "
               "once: a sweep that lets notify record an officer SMS it lost (the gateway never sends it twice); "
               "past the P1 and P2 deadlines, whose expiry and next officer heal sooner, so a backlog is not "
               "said twice")
    skipped_limit: int = setting(20, "at most this many passed-over officers are named in an event")


DEFAULT_SETTINGS = Settings()
