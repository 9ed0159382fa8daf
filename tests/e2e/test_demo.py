"""The README's first command, as a newcomer runs it (exiting after the demo): twice at once, as two
checkouts or two people on one machine would, against the same broker and the same MongoDB."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
from kombu import Connection

from shared.config import PROJECT_ROOT
from shared.embedded_db import free_port
from siaga.broker_users import parties, remove_users
from siaga.settings import SERVICES, SiagaSettings

pytestmark = pytest.mark.e2e


@pytest.fixture
def two_instances(mongo_client, broker_admin, vhosts):
    """Two instance names of this test alone; their vhosts, users, databases and files go afterwards."""
    vhosts.release_idle()  # the two demos' vhosts hold the topology's file handles
    run = uuid.uuid4().hex[:8]
    instances = [SiagaSettings(instance=f"siaga-test-{run}-{side}") for side in "ab"]
    yield instances
    for settings in instances:
        remove_users(settings)
        for service in SERVICES:
            mongo_client.drop_database(settings.database_name(service))
        broker_admin.delete_vhost(settings.instance)
        shutil.rmtree(settings.var_dir, ignore_errors=True)


def start_demo(settings: SiagaSettings, mongo_uri: str, console_address: str) -> subprocess.Popen:
    env = {name: value for name, value in os.environ.items() if not name.endswith(("AMQP_URI", "_MONGO_DATABASE"))}
    env |= {"SIAGA_INSTANCE": settings.instance, "MONGO_URI": mongo_uri, "SIAGA_DEMO_EXIT": "1", "COLUMNS": "200",
            "CONSOLE_HTTP_ADDRESS": console_address, "REPORTS_HTTP_ADDRESS": f"127.0.0.1:{free_port()}",
            # Kannel's path is test_kannel's; two Kannel stacks side by side doubled this test's time.
            "SIAGA_DEMO_GATEWAY": "simulator"}
    return subprocess.Popen([sys.executable, "-m", "siaga.demo"], cwd=PROJECT_ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def test_two_demos_side_by_side_each_assign_escalate_and_reject_on_their_own_vhost_users_and_databases(
        two_instances, mongo_uri, mongo_client, tmp_path):
    consoles = [f"127.0.0.1:{free_port()}" for _ in two_instances]
    demos = [start_demo(settings, mongo_uri, console) for settings, console in zip(two_instances, consoles)]
    outputs = [demo.communicate(timeout=240)[0] for demo in demos]
    for settings, console, demo, output in zip(two_instances, consoles, demos, outputs):
        (tmp_path / f"{settings.instance}.out").write_text(output)
        failure = settings.var_dir / "log" / "demo-failure.log"  # gone with the instance after the test
        assert demo.returncode == 0, output + (failure.read_text() if failure.exists() else "")
        for expected in ("Bripda Rizky Pratama", "Bripka Hendra Gunawan", "Brigpol Dewi Lestari",
                         "Aipda Siti Rahmawati", "SPKT Polsek", "escalated", "rejected", "GSM-7, 1 segment"):
            assert expected in output
        assert "no outcome" not in output
        assert f"Duty console: http://{console}/" in output and "piket.menteng" in output
        assert f"/{settings.instance}" in output and mongo_uri.split("?")[0] in output
        # six incidents (one rejected) and the concern of the officer's visit, reported by SMS
        assert mongo_client[settings.database_name("reports")].reports.count_documents({}) == 7
        for expected in ("visit #", "report #", "consent (SMS)", "3 recipients (2 residents, 1 post)",
                         "INFO Polsek Metro Menteng utk RW 05 Kel. Menteng", "/figures/village/31.71.06.1001/"):
            assert expected in output
        passwords = json.loads((settings.var_dir / "broker-users.json").read_text())
        for party in parties():  # the other demo never reset this one's passwords
            with Connection(f"amqp://{settings.user_name(party)}:{passwords[party]}@127.0.0.1:5672/"
                            f"{settings.instance}", connect_timeout=10) as connection:
                connection.ensure_connection(max_retries=1)
