"""Log lines an engineer (and a log shipper) can follow: one JSON object per line, phones masked.

A service's config.yml chooses its format (LOGGING, handler `console`, `formatter: ${LOG_FORMAT:plain}`):
`json` for a deployment whose logs are collected and searched; `plain` stays the default because the demo
and the tests' service logs are read by people in a terminal, where a JSON object per line is noise.

The one line per handled message (shared/messaging.py, logger `siaga.messages`) carries its fields in
`extra={"siaga": {...}}`: correlationid, event, outcome, ms, queue, id, source: identifiers only, never
what a report says. Every other line is masked as it is written: a phone number anywhere in it is shown
as mask_phone shows it, whatever the code that logged it forgot.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone

from shared.phones import mask_phone

FIELDS = "siaga"
# An Indonesian mobile number as people and gateways write it: +62812…, 62812…, 0812…
PHONE = re.compile(r"(?<![\w+\-./])(?:\+?62|0)8\d{7,12}(?![\w\-])")


def masked(text: str) -> str:
    return PHONE.sub(lambda match: mask_phone(match.group(0)), text)


class JsonFormatter(logging.Formatter):
    """`{"time", "level", "service", "logger", "message", …the record's siaga fields, "error"}`, one per line."""

    def __init__(self, service: str = "", **kwargs):
        super().__init__(**kwargs)
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": masked(record.getMessage()),
        }
        line.update(getattr(record, FIELDS, None) or {})
        if record.exc_info:
            line["error"] = masked(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False, default=str)


class PlainFormatter(logging.Formatter):
    """The people's format, masked the same way."""

    def format(self, record: logging.LogRecord) -> str:
        return masked(super().format(record))
