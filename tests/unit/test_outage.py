"""Which failures are an outage (the message is held) and which are the message's own (retried, then
dead-lettered)."""
from __future__ import annotations

import pytest
from kombu.exceptions import OperationalError
from pymongo.errors import AutoReconnect, DuplicateKeyError, NetworkTimeout, ServerSelectionTimeoutError, WriteError

from shared.outage import is_outage


@pytest.mark.parametrize("exc", [ServerSelectionTimeoutError("no server"), AutoReconnect("closed"),
                                 NetworkTimeout("timed out"), OperationalError("no broker"),
                                 ConnectionResetError(), ConnectionRefusedError()],
                         ids=lambda exc: type(exc).__name__)
def test_a_dependency_that_does_not_answer_is_an_outage(exc):
    assert is_outage(exc)


@pytest.mark.parametrize("exc", [DuplicateKeyError("dup"), WriteError("bad"), ValueError("bad data"),
                                 KeyError("field"), RuntimeError("bug")], ids=lambda exc: type(exc).__name__)
def test_a_failure_of_the_message_itself_is_not_an_outage(exc):
    assert not is_outage(exc)
