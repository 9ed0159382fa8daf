"""The SMS community writes (alerts, answers to its SMS commands), sent by notify like its own.

Community fits each text into one GSM-7 segment itself; notify counts it again (what the gateway is told
must be true) and keeps the record that retries, receipts and failures follow.
"""
from __future__ import annotations

from typing import Any

from shared import sms
from shared.envelope import Event


def community_sms(requested: Event) -> list[dict[str, Any]]:
    data = requested.data
    encoding, _, segments = sms.encode_info(data["text"])
    return [{"sms_id": data["sms_id"], "to": data["to"], "text": data["text"], "encoding": encoding,
             "segments": segments, "priority": data["priority"], "recipient_role": data["recipient_role"],
             "kind": data["kind"], "report_id": None, "assignment_id": None, "alert_id": data.get("alert_id")}]
