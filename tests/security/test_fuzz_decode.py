"""The decode fuzzer's short run, and what it found: every consumer's decode gives its handler's
arguments or InvalidMessage, whatever the body and headers (`make fuzz-decode` runs it for minutes)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.fuzz_decode import CONSUMERS, message
from shared.config import PROJECT_ROOT
from shared.envelope import InvalidMessage
from shared.messaging import DeadLetterHandler
from tests.factories import create_incident

RUNS = 1500

DEAD_LETTER_READERS = [entrypoint for _, entrypoint in CONSUMERS if isinstance(entrypoint, DeadLetterHandler)]
EVENT_HANDLERS = [entrypoint for _, entrypoint in CONSUMERS if not isinstance(entrypoint, DeadLetterHandler)]


def test_the_decode_fuzzer_finds_nothing_in_a_short_run():
    """atheris with coverage over shared/, services/ and marshmallow, from the factories' seeds."""
    run = subprocess.run([sys.executable, "-m", "bench.fuzz_decode", f"-runs={RUNS}", "-seed=15"],
                         cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert f"Done {RUNS} runs" in run.stderr


def test_every_consumer_is_fuzzed():
    assert len(CONSUMERS) >= 40 and DEAD_LETTER_READERS


# Found by the fuzzer: a dead letter's reader took the broker's x-death header on trust (a list of
# tables), and a string there raised AttributeError in decode, which would have killed the container.
@pytest.mark.parametrize("headers", [
    {"x-death": ["rejected"]},
    {"x-death": "rejected"},
    {"x-death": [None]},
    {"x-death": []},
    {"x-siaga-reason": "[1, 2]"},
    {"x-siaga-reason": 7},
    {"x-siaga-reason": b"\xff"},
    {"x-siaga-reason": "{" * 5000},
], ids=["x-death-list-of-strings", "x-death-string", "x-death-list-of-null", "x-death-empty",
        "reason-not-an-object", "reason-a-number", "reason-bytes", "reason-deep"])
def test_a_dead_letter_with_odd_headers_is_still_read(headers):
    for reader in DEAD_LETTER_READERS:
        [letter] = reader.decode(message(json.dumps(create_incident()).encode(), "application/json", headers))
        assert isinstance(letter.reasons, dict) and letter.source == "/citizen-app/android"


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 30_000, b'"\\ud800"', b'{"a": 1, "a": 1}'],
                         ids=["deep-array", "deep-object", "lone-surrogate", "repeated-key"])
def test_a_dead_letter_reader_leaves_unreadable_bodies_unread(body):
    for reader in DEAD_LETTER_READERS:
        [letter] = reader.decode(message(body, "application/json"))
        assert letter.document is None and letter.source is None


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"a":' * 30_000, b"1" * 5000, b"NaN"])
def test_every_consumer_refuses_a_poison_body_as_invalid(body):
    for handler in EVENT_HANDLERS:
        with pytest.raises(InvalidMessage):
            handler.decode(message(body, "application/json"))


@pytest.mark.parametrize("raw", ["NaN", "-Infinity", "1" * 400, "1e400"])
def test_a_dead_letter_refused_for_a_number_still_says_whom_to_answer(raw):
    body = json.dumps(create_incident(data={"description": "@"})).replace('"@"', raw).encode()
    for reader in DEAD_LETTER_READERS:
        [letter] = reader.decode(message(body, "application/json"))
        assert letter.source == "/citizen-app/android" and letter.id
