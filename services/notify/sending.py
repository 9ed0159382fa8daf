"""Sending through the gateway: it must accept each SMS; otherwise retry with backoff, then give up loudly.

An SMS's states, and the fields each answer (or its absence) sets; the store moves them by
compare-and-set, so one replica acts on each.
"""
from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Callable

from services.notify import templates
from services.notify.settings import SendPolicy
from shared.envelope import derived_id

REQUESTED = "requested"  # published, waiting for the gateway to accept or refuse
RETRYING = "retrying"  # refused for now or unanswered: published again at next_attempt_at
FAILING = "failing"  # given up; sms_failed to be published (the timer republishes after a crash)
FAILED = "failed"
SENT = "sent"  # accepted by the gateway; waiting for its receipt until next_attempt_at, then asked again
HELD = "held"  # a duty desk's escalation waiting, until next_attempt_at, to go out in one digest SMS
GROUPED = "grouped"  # told in the digest SMS `digest_id`
UNCONFIRMED = "unconfirmed"  # accepted, but no receipt came however often the gateway was asked
UNREACHED = ("undelivered", "expired", "rejected")  # the recipient never got it
WAITING = (REQUESTED, RETRYING, FAILING)
DUE = (*WAITING, SENT, HELD)  # the states whose next_attempt_at the timer acts on
# Receipts after which nothing is sent, retried or asked any more (a receipt that says the phone never got it
# makes the SMS failing first).
SETTLING_RECEIPTS = ("delivered", "unknown")
# `settled_at`: since when the SMS is in one of these (or told in a digest, or held over budget): nothing
# moves it on, and it is the archive's clock (shared/archive.py).


def retry_delay(attempt: int, policy: SendPolicy, rand: Callable[[], float] = random.random) -> float:
    """Exponential backoff with jitter: base·2^(attempt-1), capped, then a random 50-100% of it.

    The jitter spreads the retries of many messages refused at once (a gateway outage).
    """
    ceiling = min(policy.backoff_max, policy.backoff_base * 2 ** (attempt - 1))
    return ceiling * (0.5 + rand() / 2)


def new_outgoing(message: dict[str, Any], now: datetime, policy: SendPolicy) -> dict[str, Any]:
    """The stored SMS, about to be published as attempt 1."""
    return {"_id": message["sms_id"], **message, "state": REQUESTED, "attempt": 1, "created_at": now,
            "requested_at": now, "next_attempt_at": now + timedelta(seconds=policy.answer_timeout)}


def linger(message: dict[str, Any], policy: SendPolicy) -> float:
    """How long storing the SMS may wait for company. A reporter's acknowledgement is stored while the report
    is being decided, and the officer's assignment SMS follows within ms: it waits for that one, which
    never waits (it is what the response time is made of). Any other SMS has no such companion, and
    waiting would only hold a worker."""
    return policy.linger if message.get("kind") == templates.REPORTER_RECEIVED.name else 0.0


def after_no_success(attempt: int, now: datetime, policy: SendPolicy, reason: str,
                     rand: Callable[[], float] = random.random) -> dict[str, Any]:
    """The fields to set when an attempt was refused for now or not answered: retry later, or give up."""
    if attempt >= policy.max_attempts:
        return {"state": FAILING, "next_attempt_at": now, "failure": f"{reason} (after {attempt} attempts)"}
    return {"state": RETRYING, "next_attempt_at": now + timedelta(seconds=retry_delay(attempt, policy, rand)),
            "last_refusal": reason}


def next_attempt(attempt: int, now: datetime, policy: SendPolicy) -> dict[str, Any]:
    return {"state": REQUESTED, "attempt": attempt + 1, "requested_at": now,
            "next_attempt_at": now + timedelta(seconds=policy.answer_timeout)}


def sms_requested_data(stored: dict[str, Any]) -> dict[str, Any]:
    keys = ("sms_id", "to", "text", "encoding", "segments", "priority", "recipient_role", "kind",
            "report_id", "assignment_id", "attempt")
    return {key: stored.get(key) for key in keys}


def sms_requested_id(stored: dict[str, Any]) -> str:
    """Attempt n of one SMS always has the same event id, so gateways can drop a republished one."""
    return derived_id(f"sms|{stored['_id']}", "sms_requested", str(stored["attempt"]))


def sms_failed_data(stored: dict[str, Any]) -> dict[str, Any]:
    return {"sms_id": stored["_id"], "to": stored["to"], "recipient_role": stored["recipient_role"],
            "kind": stored.get("kind"), "report_id": stored.get("report_id"),
            "assignment_id": stored.get("assignment_id"), "attempts": stored["attempt"],
            "reason": stored.get("failure") or "failed"}


def sms_failed_id(stored: dict[str, Any]) -> str:
    return derived_id(f"sms|{stored['_id']}", "sms_failed")


def after_delivery(status: str, now: datetime) -> dict[str, Any]:
    """A receipt saying the phone never got it is a failure like a refusal: the recipient is unreachable."""
    if status in UNREACHED:
        return {"state": FAILING, "next_attempt_at": now, "failure": f"not delivered: {status}"}
    return {"state": status, "settled_at": now}


def failed(now: datetime) -> dict[str, Any]:
    """Given up on, and sms_failed said: settled."""
    return {"state": FAILED, "failed_at": now, "settled_at": now}


def after_refusal(attempt: int, refusal: dict[str, Any], now: datetime, policy: SendPolicy,
                  rand: Callable[[], float] = random.random) -> dict[str, Any]:
    if not refusal["temporary"]:
        return {"state": FAILING, "next_attempt_at": now, "failure": f"refused by the gateway: {refusal['reason']}"}
    return after_no_success(attempt, now, policy, f"refused for now: {refusal['reason']}", rand)


def held_outgoing(message: dict[str, Any], now: datetime, until: datetime, cause_id: str) -> dict[str, Any]:
    """The stored SMS, held for a digest until the desk's window closes; never published itself. It keeps its
    cause's id: the digest that tells the first of them names it as its cause."""
    return {"_id": message["sms_id"], **message, "state": HELD, "attempt": 0, "created_at": now,
            "next_attempt_at": until, "cause_id": cause_id}


def receipt_due(accepted_at: datetime, policy: SendPolicy) -> datetime:
    """When an accepted SMS without a receipt is overdue: the gateway's window for receipts."""
    return accepted_at + timedelta(seconds=policy.receipt_window)


def due_step(stored: dict[str, Any], now: datetime, policy: SendPolicy,
             rand: Callable[[], float] = random.random) -> dict[str, Any]:
    """What the retry timer does with an SMS whose `next_attempt_at` has come.

    An accepted SMS whose receipt is overdue is a sweep's find (its receipt, or the write that kept it,
    was lost): its request is said again, same id, and the gateway, which never sends an SMS twice,
    answers with the receipt it holds. After `receipt_asks` asks it is given up as unconfirmed."""
    if stored["state"] == SENT:
        asked = stored.get("receipt_asks", 0)
        if asked >= policy.receipt_asks:
            return {"state": UNCONFIRMED, "next_attempt_at": None, "unconfirmed_at": now, "settled_at": now}
        return {"receipt_asks": asked + 1, "next_attempt_at": now + timedelta(seconds=policy.receipt_window)}
    if stored["state"] == REQUESTED:  # the gateway never answered this attempt
        return after_no_success(stored["attempt"], now, policy,
                                f"no answer from the gateway within {policy.answer_timeout:g}s", rand)
    if stored["state"] == RETRYING:
        return next_attempt(stored["attempt"], now, policy)
    return failed(now)
