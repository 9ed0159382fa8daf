"""docker-compose.yml is the production shape: a file Compose accepts, with health checks, that opens no
port to other machines unless asked, takes every secret from the environment, and lets each service
reach only its own database."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from shared.config import PROJECT_ROOT
from siaga.broker_users import parties

pytestmark = pytest.mark.integration  # docker-compose itself, about 1.5 s a run


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker") and subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    return None


@pytest.fixture(scope="module")
def compose():
    command = compose_command()
    if command is None:
        if os.environ.get("SIAGA_REQUIRE_COMPOSE_CHECK"):
            pytest.fail("neither `docker compose` nor `docker-compose` is installed (apt-get install docker-compose)")
        pytest.skip("no Compose CLI here; `make test` installs Debian's docker-compose and runs this check")
    return command


SERVICES = ("reports", "dispatch", "notify", "console", "community")
MONGO_PASSWORDS = {f"SIAGA_{service.upper()}_MONGO_PASSWORD": f"{service}-mongo-secret" for service in SERVICES}
# Every party of the broker (each service, each outside party) logs in with its own password.
BROKER_PASSWORDS = {f"SIAGA_{party.upper().replace('-', '_')}_AMQP_PASSWORD": "not-a-real-secret"
                    for party in parties()}
SECRETS = {"RABBITMQ_PASSWORD": "not-a-real-secret", "MONGO_ROOT_PASSWORD": "mongo-root-secret"} | BROKER_PASSWORDS \
    | MONGO_PASSWORDS


def resolved_config(compose, **env) -> subprocess.CompletedProcess:
    return subprocess.run([*compose, "-f", str(PROJECT_ROOT / "docker-compose.yml"), "config"],
                          capture_output=True, text=True, env=os.environ | env, cwd=PROJECT_ROOT)


@pytest.fixture(scope="module")
def services(compose) -> dict:
    """Every service as Compose resolves it with the secrets set and nothing else."""
    return resolved_services(compose)


def resolved_services(compose, **env) -> dict:
    result = resolved_config(compose, **SECRETS | env)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)["services"]


def published_ports(service: dict) -> list[tuple[str, int]]:
    """(host address, host port) of every port a service publishes; "" is every interface."""
    ports = []
    for port in service.get("ports", []):
        if isinstance(port, dict):
            ports.append((port.get("host_ip", ""), int(port["published"])))
        else:  # "[host_ip:]published:target" in short syntax
            parts = str(port).split(":")
            ports.append((parts[0] if len(parts) == 3 else "", int(parts[-2] if len(parts) > 1 else parts[0])))
    return ports


def test_compose_accepts_the_file_and_every_long_running_service_has_a_health_check(compose):
    result = resolved_config(compose, **SECRETS)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert {"rabbitmq", "mongo", "topology", *SERVICES} <= set(services)
    for name in ("rabbitmq", "mongo", *SERVICES):
        assert "healthcheck" in services[name], name
    assert services["mongo"]["image"] == "mongo:7"
    assert services["reports"]["environment"]["REPORTS_MONGO_DATABASE"] == "siaga_reports"
    assert services["reports"]["environment"]["AMQP_URI"].startswith("amqp://siaga-reports:")


def test_compose_refuses_to_start_without_a_password_from_the_environment(compose):
    result = resolved_config(compose, **SECRETS | {"SIAGA_CITIZEN_APP_AMQP_PASSWORD": ""})
    assert result.returncode != 0
    assert "SIAGA_CITIZEN_APP_AMQP_PASSWORD" in result.stderr


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_every_broker_and_database_password_is_required_wherever_it_is_used(secret):
    """`${NAME:?…}` makes Compose refuse to start without it (checked once above, for one of them)."""
    uses = re.findall(r"\$\{" + secret + r"(:?[-?][^}]*)?\}", (PROJECT_ROOT / "docker-compose.yml").read_text())
    assert uses and all(use.startswith(":?") for use in uses), uses


def test_no_password_has_a_default_written_in_the_file():
    text = (PROJECT_ROOT / "docker-compose.yml").read_text()
    assert not re.findall(r"\$\{[A-Z_]*PASSWORD[A-Z_]*:?-", text)
    assert not re.findall(r"PASS(WORD)?:[ \t]*[\"']?[A-Za-z0-9]", re.sub(r"\$\{[^}]*\}", "", text))


def test_no_port_is_published_to_other_machines_by_default(services):
    published = {name: published_ports(service) for name, service in services.items() if published_ports(service)}
    assert published, "the operators' and apps' ports are published on the host"
    for name, ports in published.items():
        for host_ip, port in ports:
            assert host_ip == "127.0.0.1", f"{name} publishes {port} on {host_ip or 'every interface'}"


def test_amqp_opens_to_other_machines_only_when_asked_and_the_management_ui_never(compose):
    rabbitmq = resolved_services(compose, SIAGA_AMQP_BIND="0.0.0.0")["rabbitmq"]
    assert ("0.0.0.0", 5672) in published_ports(rabbitmq)
    assert ("127.0.0.1", 15672) in published_ports(rabbitmq)


def test_mongo_runs_with_authentication_and_publishes_no_port(services):
    mongo = services["mongo"]
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD"] == "mongo-root-secret"
    assert mongo["environment"]["MONGO_INITDB_ROOT_USERNAME"]
    assert not mongo.get("ports")


def test_the_service_users_are_set_from_the_environment_before_any_service_starts(services):
    job = services["mongo-users"]
    assert job["command"][-2:] == ["-m", "siaga.mongo_users"] or "siaga.mongo_users" in " ".join(job["command"])
    root = urlsplit(job["environment"]["MONGO_URI"])
    assert (root.username, root.password) == ("root", "mongo-root-secret")
    assert parse_qs(root.query)["authSource"] == ["admin"]
    for name, value in MONGO_PASSWORDS.items():
        assert job["environment"][name] == value
    assert job["depends_on"]["mongo"]["condition"] == "service_healthy"
    for name in (*SERVICES, "roster"):
        assert services[name]["depends_on"]["mongo-users"]["condition"] == "service_completed_successfully", name


@pytest.mark.parametrize("service", [*SERVICES, "roster"])
def test_each_service_reaches_mongo_as_its_own_user_on_its_own_database_only(services, service):
    own = "dispatch" if service == "roster" else service
    environment = services[service]["environment"]
    uri = urlsplit(environment["MONGO_URI"])
    assert (uri.username, uri.password) == (f"siaga-{own}", f"{own}-mongo-secret")
    assert uri.hostname == "mongo"
    assert uri.path == f"/siaga_{own}"
    assert parse_qs(uri.query)["authSource"] == [f"siaga_{own}"]
    assert environment[f"{own.upper()}_MONGO_DATABASE"] == f"siaga_{own}"
    others = {"mongo-root-secret"} | {value for value in MONGO_PASSWORDS.values() if not value.startswith(own)}
    assert not others & set(" ".join(map(str, environment.values())).replace("@", " ").replace(":", " ").split())


def test_mongo_runs_as_a_replica_set_that_every_client_names(services):
    """w="majority" (journaled on a majority before acknowledged), transactions and change streams need one."""
    mongo = services["mongo"]
    command = mongo["command"]
    assert command[command.index("--replSet") + 1] == "rs0" and "--keyFile" in command
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    for name in ("mongo-users", *SERVICES, "roster"):
        assert parse_qs(urlsplit(services[name]["environment"]["MONGO_URI"]).query)["replicaSet"] == ["rs0"], name


def test_the_kannel_bridge_publishes_as_the_sms_gateway_and_takes_its_kannel_secrets_from_the_environment(compose):
    """Passed through by name (not `${…:?}`), so a stack without the `kannel` profile needs neither."""
    bridge = resolved_services(compose, KANNEL_PASSWORD="kannel-secret")["sms-bridge"]
    assert "kannel" in bridge["profiles"] and "healthcheck" in bridge and not bridge.get("ports")
    assert bridge["environment"]["AMQP_URI"].startswith("amqp://siaga-sms-gateway:")
    assert bridge["environment"]["KANNEL_PASSWORD"] == "kannel-secret"
    assert urlsplit(bridge["environment"]["KANNEL_SENDSMS_URL"]).hostname == "smsbox"


def test_rabbitmq_has_the_file_handles_its_quorum_queues_reserve(services):
    """At Debian's 1,024 open files a broker holding some seven instances' quorum queues silently stops
    accepting connections (tests/vhost_pool.py measured it); RabbitMQ's own advice is 65,536."""
    nofile = services["rabbitmq"]["ulimits"]["nofile"]
    assert min(nofile["soft"], nofile["hard"]) >= 65536


def test_prometheus_scrapes_each_service_on_the_metrics_port_it_serves_and_loads_the_alert_rules(services):
    prometheus = services["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:") and "healthcheck" in prometheus
    mounted = dict(bind_mounts(prometheus))
    config = yaml.safe_load((PROJECT_ROOT / "monitoring" / "prometheus.yml").read_text())
    assert set(config["rule_files"]) <= set(mounted)
    assert os.path.samefile(mounted["/etc/prometheus/alerts.yml"], PROJECT_ROOT / "monitoring" / "alerts.yml")
    assert os.path.samefile(mounted["/etc/prometheus/prometheus.yml"], PROJECT_ROOT / "monitoring" / "prometheus.yml")
    targets = {target for job in config["scrape_configs"] for static in job.get("static_configs", [])
               for target in static["targets"]}
    for service in SERVICES:
        port = services[service]["environment"][f"{service.upper()}_METRICS_ADDRESS"].rsplit(":", 1)[1]
        assert f"{service}:{port}" in targets, service
        assert not any(p == int(port) for _, p in published_ports(services[service])), "metrics stay inside"
    assert published_ports(prometheus) == [("127.0.0.1", 9090)]


def test_the_replicas_profile_runs_a_second_process_of_each_service_as_the_first_runs_it(compose):
    """Same broker user, database user and settings; Open311 and the console on ports of their own, on
    127.0.0.1 like every port; Prometheus finds each replica by its name."""
    services = resolved_services(compose, COMPOSE_PROFILES="replicas")
    config = yaml.safe_load((PROJECT_ROOT / "monitoring" / "prometheus.yml").read_text())
    discovered = {name for job in config["scrape_configs"] for sd in job.get("dns_sd_configs", [])
                  for name in sd["names"]}
    for service in SERVICES:
        replica = services[f"{service}-2"]
        assert "replicas" in replica["profiles"] and "replicas" not in services[service].get("profiles", [])
        assert replica["environment"] == services[service]["environment"]
        assert replica["command"] == services[service]["command"] and "healthcheck" in replica
        assert f"{service}-2" in discovered
        for host_ip, port in published_ports(replica):
            assert host_ip == "127.0.0.1" and port not in {p for _, p in published_ports(services[service])}


def bind_mounts(service: dict) -> list[tuple[str, str]]:
    """(target, source) of each host path mounted, whichever syntax this Compose resolves to."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            if volume.get("type") == "bind":
                mounts.append((volume["target"], volume["source"]))
        else:  # "source:target[:mode]"
            source, target = str(volume).split(":")[:2]
            if source.startswith(("/", ".")):
                mounts.append((target, source))
    return mounts
