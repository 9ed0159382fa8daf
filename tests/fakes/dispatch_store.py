"""DispatchStore over dicts: the same methods and the same compare-and-set answers, no database.

Documents go in and come out as copies, as they would through a database, so a use case that
holds an old copy sees its compare-and-set fail exactly as it would against Mongo. The contract
both honour is tests/fakes/dispatch_store_contract.py.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any, Iterable

from services.dispatch import assignments, choice, geo, officers
from services.dispatch.exceptions import AssignmentNotFound, OfficerNotFound
from services.dispatch.settings import DEFAULT_SETTINGS, Settings
from services.dispatch.storage import REPLY_LOOKBACK, ROSTER_FIELDS, SWEEP_BATCH, claim_marker
from shared import boundaries, lifecycle
from shared.archive import ArchiveSettings


class FakeDispatchStore:
    archive = ArchiveSettings()

    def __init__(self, settings: Settings = DEFAULT_SETTINGS):
        self.settings = settings
        self.atlas = boundaries.atlas()
        self.officers: dict[str, dict[str, Any]] = {}
        self.assignments: dict[str, dict[str, Any]] = {}
        self.archived: dict[str, dict[str, Any]] = {}  # assignments_archive
        self.cancelled_reports: dict[str, datetime] = {}

    def ensure_indexes(self) -> None:
        pass

    # ------------------------------------------------------------ decisions and claims

    def decision(self, decision_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.assignments.get(decision_id))

    def add_assignment(self, assignment: dict[str, Any]) -> dict[str, Any]:
        if assignment["_id"] in self.assignments:
            return copy.deepcopy(self.assignments[assignment["_id"]])
        self.assignments[assignment["_id"]] = copy.deepcopy(assignment)
        return assignment

    def officers_by_keys(self, keys: list[str]) -> list[dict[str, Any]]:
        wanted = set(keys)
        return [copy.deepcopy(o) for o in self.officers.values() if wanted & set(o["keys"])]

    def officers_near(self, place: dict[str, Any], skills: Iterable[str],
                      assignment_id: str = "") -> list[dict[str, Any]]:
        cells = {*geo.cells_within(*choice.origin(place), self.settings.nearest_radius_m,
                                   self.settings.h3_resolution), claim_marker(assignment_id)}
        homes = {officers.home_key(cell) for cell in cells}
        needed = set(skills)
        return [copy.deepcopy(o) for o in self.officers.values()
                if (o["free_cell"] in cells or homes & set(o["keys"])) and needed <= set(o.get("skills", ()))]

    def claim(self, nrp: str, assignment_id: str, on_scene: bool = False) -> bool:
        officer = self.officers.get(nrp)
        if officer is None or officer["assignment_id"] is not None or (
                not on_scene and officer["status"] != "available"):
            return False
        officer.update(status=(lifecycle.ON_SCENE if on_scene else lifecycle.CREATED).officer_status,
                       assignment_id=assignment_id, free_cell=claim_marker(assignment_id))
        return True

    def release(self, nrp: str, assignment_id: str) -> None:
        if officer := self._held(nrp, assignment_id):
            officer.update(status="available", assignment_id=None, free_cell=officer["cell"])

    def hold(self, nrp: str, assignment_id: str, status: str) -> None:
        if officer := self._held(nrp, assignment_id):
            officer["status"] = status

    def _held(self, nrp: str, assignment_id: str) -> dict[str, Any] | None:
        officer = self.officers.get(nrp)
        return officer if officer is not None and officer["assignment_id"] == assignment_id else None

    # ------------------------------------------------------------ assignments

    def assignment(self, assignment_id: str, archived: bool = False) -> dict[str, Any]:
        found = self.assignments.get(assignment_id)
        if found is None and archived:
            found = self.archived.get(assignment_id)
        if found is None or found["state"] == assignments.ESCALATED:
            raise AssignmentNotFound(assignment_id)
        return copy.deepcopy(found)

    def decisions_about(self, report_id: str) -> list[dict[str, Any]]:
        found = {a["_id"]: a for a in self.archived.values() if a["report_id"] == report_id}
        found |= {a["_id"]: a for a in self.assignments.values() if a["report_id"] == report_id}
        return copy.deepcopy(sorted(found.values(), key=lambda a: a["created_at"]))

    def escalations_for(self, report_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(a) for a in self.assignments.values()
                if a["report_id"] == report_id and a["state"] == assignments.ESCALATED]

    def assignments_for(self, report_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(a) for a in self.assignments.values()
                if a["report_id"] == report_id and a["state"] != assignments.ESCALATED]

    def assignments_of_officer(self, nrp: str) -> list[dict[str, Any]]:
        held = [a for a in self.assignments.values() if (a.get("officer") or {}).get("nrp") == nrp]
        return copy.deepcopy(sorted(held, key=lambda a: a["created_at"], reverse=True)[:REPLY_LOOKBACK])

    def move(self, assignment: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any] | None:
        stored = self.assignments.get(assignment["_id"])
        if stored is None or stored["state"] != assignment["state"]:
            return None
        after = assignments.moved(assignment, entry)
        stored.update(state=after["state"], due_at=after["due_at"])
        if entry.get("report_cancelled"):
            stored["successor"] = after["successor"]
        if "ended_at" in after:
            stored["ended_at"] = after["ended_at"]
        stored["history"].append(copy.deepcopy(entry))
        return after

    def overdue(self, now: datetime) -> list[dict[str, Any]]:
        return self._due({lifecycle.CREATED.state}, now)

    def mark_reannounced(self, assignment: dict[str, Any], now: datetime) -> bool:
        stored = self.assignments[assignment["_id"]]
        if stored["state"] != "created" or stored.get("reannounced_at") is not None:
            return False
        stored |= {"reannounced_at": now, "due_at": stored["ack_deadline"]}
        return True

    def stalled_follow_ups(self, before: datetime) -> list[dict[str, Any]]:
        return self._due(set(lifecycle.ENDING), before)

    def _due(self, states: set[str], by: datetime) -> list[dict[str, Any]]:
        due = [a for a in self.assignments.values()
               if a["state"] in states and a.get("due_at") is not None and a["due_at"] <= by]
        return copy.deepcopy(due[:SWEEP_BATCH])

    def lease_follow_up(self, assignment: dict[str, Any], now: datetime) -> bool:
        stored = self.assignments.get(assignment["_id"])
        if stored is None or (stored["state"], stored["due_at"]) != (assignment["state"], assignment["due_at"]):
            return False
        stored["due_at"] = now
        return True

    def finish_follow_up(self, ended: dict[str, Any], successor: str, at: datetime) -> None:
        stored = self.assignments.get(ended["_id"])
        if stored is not None and stored["state"] == ended["state"]:
            stored.update(due_at=None, successor=successor, ended_at=min(stored.get("ended_at") or at, at))

    def end_escalation(self, escalation_id: str, at: datetime) -> None:
        stored = self.assignments.get(escalation_id)
        if stored is not None and stored["state"] == assignments.ESCALATED:
            stored.setdefault("ended_at", at)

    # ------------------------------------------------------------ the archive

    def archived_decision(self, decision_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.archived.get(decision_id))

    def archivable(self, before: datetime, limit: int) -> dict[str, list[dict[str, Any]]]:
        over = sorted((a for a in self.assignments.values() if a.get("ended_at") and a["ended_at"] < before),
                      key=lambda a: a["ended_at"])
        return {"assignments": copy.deepcopy(over[:limit])}

    def copy_to_archive(self, collection: str, documents: list[dict[str, Any]]) -> None:
        for document in documents:
            self.archived[document["_id"]] = copy.deepcopy(document)

    def delete_archived(self, collection: str, documents: list[dict[str, Any]]) -> int:
        gone = [d["_id"] for d in documents if d["_id"] in self.assignments
                and self.assignments[d["_id"]].get("ended_at") == d["ended_at"]]
        for assignment_id in gone:
            del self.assignments[assignment_id]
        return len(gone)

    def remember_cancellation(self, report_id: str, now: datetime) -> None:
        self.cancelled_reports.setdefault(report_id, now)

    def is_cancelled(self, report_id: str) -> bool:
        return report_id in self.cancelled_reports

    # ------------------------------------------------------------ the roster

    def officer(self, nrp: str) -> dict[str, Any]:
        if nrp not in self.officers:
            raise OfficerNotFound(nrp)
        return copy.deepcopy(self.officers[nrp])

    def officer_by_phone(self, phone: str) -> dict[str, Any] | None:
        return next((copy.deepcopy(o) for o in self.officers.values() if o.get("phone") == phone), None)

    def roster(self, polsek: str, village: str | None = None, status: str | None = None,
               ) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
        listed = [o for _, o in sorted(self.officers.items())
                  if o["polsek"] == polsek and officers.roster_matches(o, village, status)]
        current = {o["assignment_id"]: {key: self.assignments[o["assignment_id"]][key]
                                        for key in ("_id", "report", "state")}
                   for o in listed if o.get("assignment_id") in self.assignments}
        return [(copy.deepcopy(o), copy.deepcopy(current.get(o.get("assignment_id")))) for o in listed]

    def replace_roster(self, entries: Iterable[dict[str, Any]]) -> int:
        count = 0
        for entry in entries:
            entry = officers.with_index_fields(entry, self.settings.h3_resolution, self.atlas.centroid)
            stored = self.officers.setdefault(entry["_id"], {
                "_id": entry["_id"], "status": entry["status"], "assignment_id": None,
                "status_reported_at": officers.NEVER, "lat": None, "lon": None, "accuracy_m": None,
                "located_at": officers.NEVER, "cell": None, "free_cell": None})
            stored.update({key: copy.deepcopy(entry[key]) for key in ROSTER_FIELDS})
            if stored["assignment_id"] is None:
                stored.update(status=entry["status"],
                              free_cell=stored["cell"] if entry["status"] == "available" else None)
            if entry["lat"] is not None and stored["located_at"] < entry["located_at"]:
                self._locate(stored, entry)
            count += 1
        return count

    def update_location(self, nrp: str, lat: float, lon: float, at: datetime,
                        accuracy_m: float | None = None) -> bool:
        stored = self.officers.get(nrp)
        if stored is None or not stored["located_at"] < at:
            return False
        self._locate(stored, officers.located({}, lat, lon, at, self.settings.h3_resolution, accuracy_m))
        return True

    @staticmethod
    def _locate(stored: dict[str, Any], fields: dict[str, Any]) -> None:
        """As storage.located_fields: only a free officer's cell goes into the spatial index."""
        stored.update({key: fields[key] for key in ("lat", "lon", "accuracy_m", "located_at", "cell")})
        if stored["status"] == "available" and stored["assignment_id"] is None:
            stored["free_cell"] = fields["cell"]

    def update_status(self, nrp: str, status: str, at: datetime) -> bool:
        stored = self.officers.get(nrp)
        if stored is None or stored["assignment_id"] is not None or not stored["status_reported_at"] < at:
            return False
        stored.update(status=status, status_reported_at=at, free_cell=stored["cell"] if status == "available" else None)
        return True
