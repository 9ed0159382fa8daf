"""notify's settings (config.yml `SMS:`): how long the gateway has to answer, and how an SMS is retried."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from shared.settings import setting


@dataclass(frozen=True)
class SendPolicy:
    """Wait `answer_timeout` for accepted/refused, then retry with exponential backoff (`backoff_base`
    doubling up to `backoff_max`, 50-100% jitter) up to `max_attempts`; then sms_failed."""

    SECTION: ClassVar[str] = "SMS"
    answer_timeout: float = setting(30.0, "seconds the gateway has to accept or refuse an SMS before a retry")
    max_attempts: int = setting(5, "attempts at one SMS before it is given up on (sms_failed)")
    backoff_base: float = setting(5.0, "seconds before the first retry; doubled for each later one")
    backoff_max: float = setting(300.0, "the longest wait between two attempts (seconds)")
    retry_poll: float = setting(1.0, "how often the retry timer looks for due retries and timeouts (seconds)")
    linger: float = setting(
        0.1, "seconds a reporter's acknowledgement may wait to be stored together with the officer's assignment SMS "
             "that follows it (one database command for an incident's two SMS); 0: it does not wait")
    help_interval: float = setting(600.0, "at most one help SMS per officer and kind in this many seconds")
    stranger_interval: float = setting(
        86400.0, "at most one neutral answer to a number that is no officer's in this many seconds (a day)")
    desk_window: float = setting(
        60.0, "seconds after an escalation SMS to a duty desk during which further escalations are held and "
              "then sent together in one SMS (so no escalation waits longer); 0 sends each at once")
    receipt_window: float = setting(
        900.0, "seconds after the gateway accepted an SMS by which its delivery receipt should have come; then the "
               "gateway is asked again (the same request, which it answers with the receipt it holds)")
    receipt_asks: int = setting(2, "times the gateway is asked for an overdue receipt before the SMS is left "
                                   "unconfirmed")
