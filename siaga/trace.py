"""A report's whole path across the services, read from their databases: `siaga trace <report number>`.

An operator's command like the roster import, beside the services rather than one of them: it reads each
service's database through that service's own store (reports' report and its history, dispatch's
assignments and escalations, notify's SMS with their states), archived ones too (shared/archive.py), and
merges them into one timeline. It shows what an engineer needs to follow a report, never what the report
says: no description, no address, no reporter's name, phones masked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from services.dispatch.assignments import ESCALATED
from services.dispatch.storage import DispatchStore
from services.notify.storage import NotificationStore
from services.reports.storage import ReportStore
from shared.config import service_config
from shared.mongo import connect
from shared.phones import mask_phone


@dataclass(frozen=True)
class Step:
    at: datetime | None
    service: str
    what: str


@dataclass
class Trace:
    report: dict[str, Any]
    assignments: list[dict[str, Any]] = field(default_factory=list)
    escalations: list[dict[str, Any]] = field(default_factory=list)
    sms: list[dict[str, Any]] = field(default_factory=list)


def summary(report: Mapping[str, Any]) -> str:
    """The report as a line: identifiers, kind and place by its code and name, nothing a reporter said."""
    place = report.get("place") or {}
    rw = f" RW {place['rw']:02d}" if isinstance(place.get("rw"), int) else ""
    return (f"report {report['number']} ({report['_id']}): {report['category']} {report['priority']}, "
            f"{place.get('village_name') or '-'} {place.get('village_code') or ''}{rw}, from {report['source_kind']}, "
            f"now {report['status']}")


def timeline(trace: Trace) -> list[Step]:
    """Every step of the report, its assignments and its SMS, in time order."""
    steps = [Step(entry.get("at"), "reports", _report_step(entry)) for entry in trace.report.get("history", [])]
    for assignment in trace.assignments:
        officer = assignment.get("officer") or {}
        who = f"{officer.get('role', '?')} {officer.get('nrp', '?')} ({mask_phone(officer.get('phone'))})"
        for entry in assignment.get("history", []):
            what = f"assignment {assignment['_id']} {entry.get('state')} via {entry.get('via', '-')}"
            if entry.get("state") == "created":
                what += f": {who}, rule {assignment.get('rule')}, due {_time(assignment.get('ack_deadline'))}"
            steps.append(Step(entry.get("at"), "dispatch", what))
    for escalation in trace.escalations:
        why = (escalation.get("escalation") or {}).get("rules") or []
        steps.append(Step(escalation.get("created_at"), "dispatch",
                          f"escalated to the duty desk ({', '.join(why) or 'no rule recorded'})"))
    for sms in trace.sms:
        steps += _sms_steps(sms)
    return sorted(steps, key=lambda step: (step.at is None, step.at or datetime.min))


def _report_step(entry: Mapping[str, Any]) -> str:
    through = f" (assignment {entry['assignment_id']}, officer {entry.get('officer_nrp')})" \
        if entry.get("assignment_id") else ""
    return f"status {entry.get('status')}{through}"


def _sms_steps(sms: Mapping[str, Any]) -> list[Step]:
    about = (f"SMS {sms['_id']} {sms.get('kind') or '-'} to {sms.get('recipient_role')} {mask_phone(sms.get('to'))}: "
             f"{sms.get('segments')} segment(s), Rp {sms.get('price', 0):g}")
    steps = [Step(sms.get("created_at"), "notify", f"{about}, now {sms.get('state')} (attempt {sms.get('attempt')})")]
    if sms.get("accepted_at"):
        steps.append(Step(sms["accepted_at"], "notify", f"SMS {sms['_id']} accepted by the gateway"))
    delivery = sms.get("delivery") or {}
    if delivery:
        steps.append(Step(delivery.get("at"), "notify", f"SMS {sms['_id']} receipt: {delivery.get('status')}"))
    if sms.get("failed_at"):
        steps.append(Step(sms["failed_at"], "notify", f"SMS {sms['_id']} failed: {sms.get('failure')}"))
    return steps


def _time(value: Any) -> str:
    return value.strftime("%H:%M:%S") if isinstance(value, datetime) else "-"


def trace_of(report: dict[str, Any], decisions: list[dict[str, Any]], sms: list[dict[str, Any]]) -> Trace:
    """A report with dispatch's decisions about it (assignments and escalations apart) and its SMS."""
    escalated = [d for d in decisions if d["state"] == ESCALATED]
    return Trace(report, [d for d in decisions if d["state"] != ESCALATED], escalated, sms)


def read_traces(number: str, mongo_uri: str | None = None) -> list[Trace]:
    """The traces of every report with this number (or this report id), from the three databases, their
    archives included."""
    configs = {service: service_config(service) for service in ("reports", "dispatch", "notify")}
    client = connect(mongo_uri or configs["reports"]["MONGO_URI"], server_selection_seconds=5)
    try:
        reports = ReportStore(client[configs["reports"]["MONGO_DATABASE"]])
        dispatch = DispatchStore(client[configs["dispatch"]["MONGO_DATABASE"]])
        notify = NotificationStore(client[configs["notify"]["MONGO_DATABASE"]])
        found = reports.numbered(number) or [report for report in [reports.get(number)] if report]
        return [trace_of(report, dispatch.decisions_about(report["_id"]), notify.about(report["_id"]))
                for report in found]
    finally:
        client.close()
