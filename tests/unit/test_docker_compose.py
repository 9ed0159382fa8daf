"""docker-compose.yml is the production shape: it must be a file Compose accepts, with health checks."""
from __future__ import annotations

import os
import shutil
import subprocess

import pytest
import yaml

from shared.config import PROJECT_ROOT


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.fixture
def compose():
    command = compose_command()
    if command is None:
        if os.environ.get("SIAGA_REQUIRE_COMPOSE_CHECK"):
            pytest.fail("neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)")
        pytest.skip("no Compose CLI here; `make test` installs Debian's docker-compose and runs this check")
    return command


SECRETS = {name: "not-a-real-secret" for name in (
    "RABBITMQ_PASSWORD", "SIAGA_REPORTS_AMQP_PASSWORD", "SIAGA_DISPATCH_AMQP_PASSWORD", "SIAGA_NOTIFY_AMQP_PASSWORD",
    "SIAGA_CONSOLE_AMQP_PASSWORD",
    "SIAGA_SMS_GATEWAY_AMQP_PASSWORD", "SIAGA_UPSTREAM_APPS_AMQP_PASSWORD")}


def resolved_config(compose, **env) -> subprocess.CompletedProcess:
    return subprocess.run([*compose, "-f", str(PROJECT_ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, env=os.environ | env, cwd=PROJECT_ROOT)


def test_compose_accepts_the_file_and_every_long_running_service_has_a_health_check(compose):
    result = resolved_config(compose, **SECRETS)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"rabbitmq", "mongo", "topology", "reports", "dispatch", "notify", "console"} <= set(services)
    for name in ("rabbitmq", "mongo", "reports", "dispatch", "notify", "console"):
        assert "healthcheck" in services[name], name
    assert services["mongo"]["image"] == "mongo:7"
    assert services["reports"]["environment"]["REPORTS_MONGO_DATABASE"] == "siaga_reports"
    assert services["reports"]["environment"]["AMQP_URI"].startswith("amqp://siaga-reports:")


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_compose_refuses_to_start_without_each_broker_password_from_the_environment(compose, secret):
    result = resolved_config(compose, **SECRETS | {secret: ""})
    assert result.returncode != 0
    assert secret in result.stderr
