"""One RabbitMQ user per service (and per outside party), allowed only what it publishes and consumes.

    python -m siaga.broker_users                      # local broker, via rabbitmqctl
    python -m siaga.broker_users --http http://rabbitmq:15672   # management API (docker-compose)

Passwords come from the environment (`SIAGA_<PARTY>_AMQP_PASSWORD`, e.g. SIAGA_REPORTS_AMQP_PASSWORD);
a party without one gets a random password, kept for local runs in var/broker-users.json (mode 600,
never committed). The admin credentials that run this come from AMQP_URI.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import quote

from kombu import Connection

from shared import topology
from shared.config import PROJECT_ROOT
from shared.contract import EXTERNAL_CONSUMERS, INCIDENT_REPORTED

LOCAL_PASSWORDS = PROJECT_ROOT / "var" / "broker-users.json"


def parties() -> dict[str, dict[str, str]]:
    """Every party that talks to the broker and the permissions it gets."""
    grants = {cls.name: topology.broker_permissions(cls) for cls in topology.siaga_service_classes()}
    gateway_queue = topology.external_queue("sms-gateway", EXTERNAL_CONSUMERS["sms-gateway"][0]).name
    upstream_queue = topology.external_queue("upstream-apps", EXTERNAL_CONSUMERS["upstream-apps"][0]).name
    # Outside parties may (re)declare and bind their own queue, publish on their own exchange.
    grants["sms-gateway"] = own_queue_grant(gateway_queue, "notify.events", "gateway.events")
    grants["upstream-apps"] = own_queue_grant(upstream_queue, "reports.events", INCIDENT_REPORTED.exchange)
    return grants


def own_queue_grant(queue: str, bound_to: str, publishes_on: str) -> dict[str, str]:
    queue, bound_to, publishes_on = map(re.escape, (queue, bound_to, publishes_on))
    return {"configure": f"^{queue}$", "write": f"^({queue}|{publishes_on})$", "read": f"^({queue}|{bound_to})$"}


def user_name(party: str, prefix: str = "siaga-") -> str:
    return f"{prefix}{party}"


def passwords(names: list[str], store: Path = LOCAL_PASSWORDS) -> dict[str, str]:
    kept = json.loads(store.read_text()) if store.exists() else {}
    chosen = {}
    for party in names:
        env = f"SIAGA_{party.upper().replace('-', '_')}_AMQP_PASSWORD"
        # hex: a generated password never starts with "-", which rabbitmqctl would read as an option
        chosen[party] = os.environ.get(env) or kept.get(party) or secrets.token_hex(18)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(chosen, indent=2))
    store.chmod(0o600)
    return chosen


def apply_with_rabbitmqctl(vhost: str, users: dict[str, tuple[str, dict[str, str]]]) -> None:
    existing = subprocess.run(["rabbitmqctl", "-q", "list_users"], check=True, capture_output=True, text=True).stdout
    known = {line.split()[0] for line in existing.splitlines() if line.strip()}
    for user, (password, grant) in users.items():
        verb = "change_password" if user in known else "add_user"
        subprocess.run(["rabbitmqctl", "-q", verb, user, password], check=True, capture_output=True)
        subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, user,
                        grant["configure"], grant["write"], grant["read"]], check=True, capture_output=True)


def apply_with_http(api: str, admin_user: str, admin_password: str, vhost: str,
                    users: dict[str, tuple[str, dict[str, str]]]) -> None:
    token = base64.b64encode(f"{admin_user}:{admin_password}".encode()).decode()

    def put(path: str, body: dict) -> None:
        request = urllib.request.Request(f"{api.rstrip('/')}/api/{path}", data=json.dumps(body).encode(), method="PUT",
                                         headers={"Authorization": f"Basic {token}",
                                                  "Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()

    for user, (password, grant) in users.items():
        put(f"users/{quote(user, safe='')}", {"password": password, "tags": ""})
        put(f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}", grant)


def ensure_users(amqp_uri: str, http_api: str | None = None, prefix: str = "siaga-",
                 store: Path = LOCAL_PASSWORDS) -> dict[str, str]:
    """Create or update every party's user; return each party's AMQP URI."""
    admin = Connection(amqp_uri)
    grants = parties()
    chosen = passwords(list(grants), store)
    users = {user_name(party, prefix): (chosen[party], grant) for party, grant in grants.items()}
    vhost = admin.virtual_host or "/"
    if http_api:
        apply_with_http(http_api, admin.userid, admin.password, vhost, users)
    else:
        apply_with_rabbitmqctl(vhost, users)
    return {party: admin_uri_as(admin, user_name(party, prefix), chosen[party]) for party in grants}


def admin_uri_as(admin: Connection, user: str, password: str) -> str:
    vhost = "" if admin.virtual_host in ("/", None) else quote(admin.virtual_host, safe="")
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{admin.hostname}:{admin.port or 5672}/{vhost}"


def remove_users(prefix: str) -> None:
    existing = subprocess.run(["rabbitmqctl", "-q", "list_users"], check=True, capture_output=True, text=True).stdout
    for line in existing.splitlines():
        if line.split() and line.split()[0].startswith(prefix):
            subprocess.run(["rabbitmqctl", "-q", "delete_user", line.split()[0]], capture_output=True)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--http", help="management API base URL (else rabbitmqctl on this machine)")
    args = parser.parse_args(argv)
    from shared.config import service_config

    uris = ensure_users(service_config("reports")["AMQP_URI"], args.http)
    for party in uris:
        print(f"{user_name(party)}: permissions set")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
