"""The README's first command, as a newcomer runs it (exiting after the demo)."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from shared.config import PROJECT_ROOT

pytestmark = pytest.mark.e2e


def test_demo_assigns_escalates_and_rejects_the_sample_incidents_then_exits(amqp_uri, mongo_uri, db_names, tmp_path):
    env = os.environ | {"AMQP_URI": amqp_uri, "MONGO_URI": mongo_uri, "SIAGA_DEMO_EXIT": "1", "COLUMNS": "200"}
    env |= {f"{service.upper()}_MONGO_DATABASE": name for service, name in db_names.items()}
    result = subprocess.run([sys.executable, "-m", "siaga.demo"], cwd=PROJECT_ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    (tmp_path / "demo.out").write_text(result.stdout + result.stderr)
    assert result.returncode == 0, result.stdout + result.stderr
    for expected in ("Bripda Rizky Pratama", "Bripka Hendra Gunawan", "Brigpol Dewi Lestari",
                     "Aipda Siti Rahmawati", "SPKT Polsek", "eskalasi", "ditolak", "GSM-7, 1 segmen"):
        assert expected in result.stdout
    assert "tidak ada hasil" not in result.stdout
    assert "Konsol piket: http://127.0.0.1:8080/" in result.stdout and "piket.menteng" in result.stdout
