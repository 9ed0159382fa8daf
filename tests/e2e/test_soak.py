"""A short soak (bench/soak.py): incidents at a steady rate with archiving on, every officer answering; what is
over moves out of the live collections while the run goes on, and the public reads still answer for it."""
from __future__ import annotations

import pytest

from bench.soak import run

pytestmark = pytest.mark.e2e

INCIDENTS = 200
RATE = 10  # what is checked is archiving during a run, not a rate


def test_a_steady_run_archives_what_is_over_as_it_goes_and_open311_still_answers_for_it(amqp_uri, tmp_path):
    # Each incident in a village of its own: two in one village while the first is still open are one incident
    # (reports' duplicate check), and the second gets no officer SMS. With 100 villages, a run more than 7 s
    # behind (beside two other shards) lost its whole last window that way.
    soak = run(INCIDENTS, rate=RATE, villages=INCIDENTS, archive_after=2, log_dir=tmp_path, amqp_uri=amqp_uri)

    assert soak.first["completed"] == soak.last["completed"] == soak.window == INCIDENTS // 10, soak.verdicts()
    assert soak.duplicates == 0 and soak.reports_held == INCIDENTS
    assert soak.collections["reports"][1] > 0
    assert soak.collections["assignments"][1] > 0 and soak.collections["notifications"][1] > 0
    assert soak.archived_read == "200 closed"  # the first report, archived, as the public reads it
    assert {"warm", "middle", "end"} <= set(soak.memory["reports"])
