"""The alert rules and the Grafana dashboard in monitoring/ read metrics the services export, under the
names they export them; the alerts cover what an engineer on call must be woken for."""
from __future__ import annotations

import json
import re

import yaml
from prometheus_client import REGISTRY

import shared.metrics  # noqa: F401  (registers every metric)
from shared.config import PROJECT_ROOT

MONITORING = PROJECT_ROOT / "monitoring"
SIAGA_METRIC = re.compile(r"\bsiaga_[a-z_]+")


def exported() -> set[str]:
    """Every sample name the services can show (a counter's _total, a histogram's _bucket …)."""
    names = set()
    for family in REGISTRY.collect():
        names |= {sample.name for sample in family.samples} | {family.name}
        if family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "count", "sum")}
        if family.type == "counter":
            names.add(f"{family.name}_total")
    return names


def alert_rules() -> dict[str, str]:
    groups = yaml.safe_load((MONITORING / "alerts.yml").read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"]}


def test_every_alert_reads_a_metric_the_services_export():
    for name, expr in alert_rules().items():
        for metric in SIAGA_METRIC.findall(expr):
            assert metric in exported(), f"{name}: {metric}"


def test_the_alerts_cover_a_dead_letter_an_overdue_assignment_a_failing_sms_and_a_queue_without_consumer():
    exprs = " ".join(alert_rules().values())
    assert "siaga_dead_letters_total" in exprs
    assert 'siaga_assignment_deadlines{state="overdue"}' in exprs
    assert "siaga_sms_total" in exprs and "failed" in exprs
    assert "rabbitmq_detailed_queue_consumers" in exprs


def test_the_alerts_cover_a_system_falling_behind_and_a_database_that_holds_it_up():
    """A system offered more than it can take shows nothing else wrong: every message is handled, late. Seen in
    the soak on a slow machine: queues growing for minutes, database commands waiting seconds."""
    rules = alert_rules()
    behind = [expr for expr in rules.values() if "rabbitmq_detailed_queue_messages_ready" in expr]
    slow = [expr for expr in rules.values() if "siaga_db_command_seconds_bucket" in expr]
    assert behind and slow
    assert "histogram_quantile(0.99" in slow[0]


def test_every_dashboard_panel_reads_a_metric_the_services_export():
    dashboard = json.loads((MONITORING / "grafana" / "siaga-dashboard.json").read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert exprs
    for expr in exprs:
        for metric in SIAGA_METRIC.findall(expr):
            assert metric in exported(), metric
