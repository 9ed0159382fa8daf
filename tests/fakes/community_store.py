"""community's store in memory, for its service layer's unit tests: the same methods as CommunityStore."""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from services.community import alerts


class FakeCommunityStore:
    def __init__(self):
        self.visits: dict[str, dict] = {}
        self.posts: dict[str, dict] = {}
        self.subscribers: dict[str, dict] = {}
        self.consents: dict[str, dict] = {}
        self.alerts: dict[str, dict] = {}
        self.deliveries: dict[str, dict] = {}
        self.rws: dict[str, dict] = {}

    def add_visit(self, visit: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        if visit["_id"] in self.visits:
            return copy.deepcopy(self.visits[visit["_id"]]), False
        self.visits[visit["_id"]] = copy.deepcopy(visit)
        return visit, True

    def visit(self, visit_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.visits.get(visit_id))

    def mark_reported(self, visit_id: str, report: dict[str, Any]) -> dict[str, Any] | None:
        if self.visits[visit_id].get("report") is None:
            self.visits[visit_id]["report"] = report
        return self.visit(visit_id)

    def coverage_visits(self, polsek: str, now: datetime) -> list[dict[str, Any]]:
        return sorted((copy.deepcopy(v) for v in self.visits.values() if v["polsek"] == polsek),
                      key=lambda v: v["visited_at"], reverse=True)

    def set_rw_count(self, village: str, polsek: str, count: int) -> None:
        self.rws[village] = {"polsek": polsek, "count": count}

    def rw_counts(self, polsek: str) -> dict[str, int]:
        return {village: row["count"] for village, row in self.rws.items() if row["polsek"] == polsek}

    def add_post(self, post: dict[str, Any]) -> dict[str, Any]:
        self.posts[post["_id"]] = copy.deepcopy(post)
        return post

    def posts_of(self, polsek: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(p) for p in self.posts.values() if p["polsek"] == polsek]

    def post_of_phone(self, phone: str) -> dict[str, Any] | None:
        return next((copy.deepcopy(p) for p in self.posts.values() if p["leader_phone"] == phone), None)

    def subscriber(self, phone: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.subscribers.get(phone))

    def record_consent(self, entry: dict[str, Any], subscriber: dict[str, Any] | None) -> bool:
        if entry["_id"] in self.consents:
            return False
        self.consents[entry["_id"]] = copy.deepcopy(entry)
        if subscriber is None:
            self.subscribers[entry["phone"]] |= {"active": False, "revoked_at": entry["at"]}
        else:
            self.subscribers[entry["phone"]] = copy.deepcopy(subscriber)
        return True

    def consent_recorded(self, entry_id: str) -> bool:
        return entry_id in self.consents

    def subscribers_in(self, district: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(s) for s in self.subscribers.values() if s["district"] == district and s["active"]]

    def add_alert(self, alert: dict[str, Any], deliveries: list[dict[str, Any]]) -> None:
        for one in deliveries:
            self.deliveries.setdefault(one["_id"], copy.deepcopy(one))
        self.alerts.setdefault(alert["_id"], copy.deepcopy(alert))

    def alert(self, alert_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.alerts.get(alert_id))

    def active_alerts(self) -> list[dict[str, Any]]:
        return [copy.deepcopy(a) for a in self.alerts.values() if a["state"] == alerts.ACTIVE]

    def close_alert(self, alert: dict[str, Any], state: str, changes: dict[str, Any],
                    from_states: tuple[str, ...] = (alerts.ACTIVE,)) -> dict[str, Any] | None:
        stored = self.alerts[alert["_id"]]
        closed = stored["state"] in from_states
        if closed:
            stored.update({"state": state, **changes})
        for one in self.deliveries.values():
            if one["alert_id"] == alert["_id"] and one["state"] == alerts.PENDING:
                one["state"] = alerts.SKIPPED
                stored["not_sent"] += 1
        return self.alert(alert["_id"]) if closed else None

    def pending(self, alert_id: str, limit: int) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.deliveries.values()
                if d["alert_id"] == alert_id and d["state"] == alerts.PENDING][:limit]

    def mark_requested(self, delivery: dict[str, Any], now: datetime) -> bool:
        stored = self.deliveries[delivery["_id"]]
        if stored["state"] != alerts.PENDING:
            return False
        stored.update(state=alerts.REQUESTED, requested_at=now)
        self.alerts[delivery["alert_id"]]["sent"] += 1
        return True

    def mark_handed(self, delivery: dict[str, Any]) -> None:
        if self.deliveries[delivery["_id"]]["state"] == alerts.REQUESTED:
            self.deliveries[delivery["_id"]]["state"] = alerts.HANDED

    def taken_not_handed(self, before: datetime, limit: int) -> list[dict[str, Any]]:
        return [copy.deepcopy(d) for d in self.deliveries.values()
                if d["state"] == alerts.REQUESTED and d["requested_at"] <= before][:limit]

    def skip_taken(self, delivery: dict[str, Any]) -> None:
        stored = self.deliveries[delivery["_id"]]
        if stored["state"] == alerts.REQUESTED:
            stored["state"] = alerts.SKIPPED
            self.alerts[delivery["alert_id"]]["sent"] -= 1
            self.alerts[delivery["alert_id"]]["not_sent"] += 1

    def unmark_requested(self, delivery: dict[str, Any]) -> None:
        self.deliveries[delivery["_id"]]["state"] = alerts.PENDING
        self.alerts[delivery["alert_id"]]["sent"] -= 1

    def finish_if_done(self, alert: dict[str, Any]) -> None:
        if not self.pending(alert["_id"], 1) and self.alerts[alert["_id"]]["state"] == alerts.ACTIVE:
            self.alerts[alert["_id"]]["state"] = alerts.DONE
