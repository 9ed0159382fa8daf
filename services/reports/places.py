"""Where a report happened: the village from coordinates (or the nearest within reach), and which
witness wins when a stated village code and the coordinates disagree. Pure, given an Atlas.

Who is the better witness is decided by the source (`GPS_WITNESSES`): a device's own fix (a citizen
app's phone, a fixed camera, an officer's app, an Open311 client's map pin) shows where the person
or camera is, while a village code typed in such an app is a menu pick; a 110 operator or a
Siskamling post states the village from the caller's words or the post's own place, while the
coordinates they send are a rough geocode. The loser is kept beside the winner (`given_village_code`
or `gps_village_code`), so a person can see the disagreement.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from services.reports import addresses
from services.reports import reasons as why
from shared.boundaries import Atlas, PlaceSettings

GPS_WITNESSES = frozenset({"citizen_app", "cctv", "patrol", "open311"})
# How the village of a report was found (`place.village_from`).
GIVEN, COORDINATES, NEAREST, ADDRESS = "given", "coordinates", "nearest_village", "address"


@dataclass(frozen=True)
class Placed:
    """The place fields intake adds to a location, or the reasons it has none."""

    fields: dict[str, Any] = field(default_factory=dict)
    reasons: dict[str, why.Explanation] = field(default_factory=dict)


def locate(location: Mapping[str, Any], source_kind: str, atlas: Atlas, within_m: float,
           provinces: Iterable[str] = ("31",)) -> Placed:
    """The village of a valid location (village code, coordinates, address), by the rule of the module."""
    given = location.get("village_code")
    if location.get("lat") is None or location.get("lon") is None:
        if given:
            return Placed({"village_code": given, "village_from": GIVEN})
        return by_address(location.get("address") or "", provinces)
    found = atlas.village_at(location["lat"], location["lon"], within_m)
    if found is None:
        if given:
            return Placed({"village_code": given, "village_from": GIVEN})
        if (location.get("address") or "").strip():
            return by_address(location["address"], provinces)
        return Placed(reasons={"location": why.no_village_near(within_m)})
    gps = {"village_code": found.village_code,
           "village_from": COORDINATES if found.inside else NEAREST,
           "village_distance_m": found.distance_m}
    if not given or given == found.village_code:
        return Placed(gps)
    if source_kind in GPS_WITNESSES:
        return Placed(gps | {"given_village_code": given})
    return Placed({"village_code": given, "village_from": GIVEN, "gps_village_code": found.village_code})


def by_address(text: str, provinces: Iterable[str]) -> Placed:
    """The one village an address names; else the candidates, as a reason a person can act on."""
    matched = addresses.match(text, provinces)
    if matched.village_code:
        return Placed({"village_code": matched.village_code, "village_from": ADDRESS})
    return Placed(reasons={"location.address": why.address_not_matched(
        text, [addresses.describe(code) for code in matched.candidates])})


class Locator:
    """What intake asks about places, with the provinces this process loaded."""

    def __init__(self, atlas: Atlas, settings: PlaceSettings):
        self.atlas, self.settings = atlas, settings
        addresses.gazetteer(tuple(settings.provinces))  # built now, not during the first address
    def locate(self, location: Mapping[str, Any], source_kind: str) -> Placed:
        return locate(location, source_kind, self.atlas, self.settings.nearest_village_m, self.settings.provinces)
