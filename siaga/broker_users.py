"""One RabbitMQ user per service (and per outside party), allowed only what it publishes and consumes.

    python -m siaga.broker_users                      # local broker, via rabbitmqctl
    python -m siaga.broker_users --http http://rabbitmq:15672   # management API (docker-compose)

Users are named after the instance (`siaga-reports`; `demo2-reports` with SIAGA_INSTANCE=demo2), so
a second Siaga on the same broker never resets the first one's passwords. Passwords come from the
environment (`SIAGA_<PARTY>_AMQP_PASSWORD`, e.g. SIAGA_REPORTS_AMQP_PASSWORD); a party without one
gets a random password, kept for local runs in var/<instance>/broker-users.json (mode 600, never
committed). The admin credentials that run this, and the vhost, come from AMQP_URI (unset: the
local broker as guest, on the instance's own vhost, created here when missing).
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from kombu import Connection

from shared import topology
from shared.contract import EXTERNAL_CONSUMERS, INCIDENT_REPORTED
from siaga.settings import SiagaSettings, siaga_settings


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


def passwords(names: list[str], store: Path) -> dict[str, str]:
    kept = json.loads(store.read_text()) if store.exists() else {}
    chosen = {}
    for party in names:
        env = f"SIAGA_{party.upper().replace('-', '_')}_AMQP_PASSWORD"
        chosen[party] = os.environ.get(env) or kept.get(party) or secrets.token_hex(18)
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_text(json.dumps(chosen, indent=2))
    store.chmod(0o600)
    return chosen


def rabbitmqctl(*args: str, given: str | None = None) -> str:
    return subprocess.run(["rabbitmqctl", "-q", *args], input=given, check=True, capture_output=True,
                          text=True).stdout


def listed(*args: str) -> set[str]:
    """The first column of a `rabbitmqctl list_…` (its header line included, which names nothing real)."""
    return {line.split()[0] for line in rabbitmqctl(*args).splitlines() if line.strip()}


def import_definitions(definitions: dict) -> None:
    """Users, vhosts and permissions in one `rabbitmqctl` call: each call starts an Erlang VM (about
    a second), and one per user and grant made the demo's start wait on a dozen of them."""
    rabbitmqctl("import_definitions", given=json.dumps(definitions))


def password_hash(password: str) -> str:
    """RabbitMQ's salted SHA-256 (rabbitmq.com/docs/passwords, "Computing Password Hash"), the form
    a definitions import takes a password in."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def ensure_vhost(amqp_uri: str, http_api: str | None = None) -> None:
    """The vhost AMQP_URI names, created when missing and opened to the admin user who runs Siaga."""
    admin = Connection(amqp_uri)
    vhost = admin.virtual_host or "/"
    full = {"configure": ".*", "write": ".*", "read": ".*"}
    if vhost == "/":  # the broker's own, always there
        return
    if http_api:
        put = management_api(http_api, admin.userid, admin.password)
        put(f"vhosts/{quote(vhost, safe='')}", {})
        put(f"permissions/{quote(vhost, safe='')}/{quote(admin.userid, safe='')}", full)
    elif vhost not in listed("list_vhosts", "name"):
        import_definitions({"vhosts": [{"name": vhost}],
                            "permissions": [{"user": admin.userid, "vhost": vhost} | full]})


def apply_with_rabbitmqctl(vhost: str, users: dict[str, tuple[str, dict[str, str]]]) -> None:
    import_definitions({
        "users": [{"name": user, "password_hash": password_hash(password), "tags": "",
                   "hashing_algorithm": "rabbit_password_hashing_sha256"} for user, (password, _) in users.items()],
        "permissions": [{"user": user, "vhost": vhost} | grant for user, (_, grant) in users.items()],
    })


def management_api(api: str, admin_user: str, admin_password: str) -> Callable[[str, dict], None]:
    token = base64.b64encode(f"{admin_user}:{admin_password}".encode()).decode()

    def put(path: str, body: dict) -> None:
        request = urllib.request.Request(f"{api.rstrip('/')}/api/{path}", data=json.dumps(body).encode(), method="PUT",
                                         headers={"Authorization": f"Basic {token}",
                                                  "Content-Type": "application/json"})
        urllib.request.urlopen(request, timeout=10).close()

    return put


def apply_with_http(api: str, admin_user: str, admin_password: str, vhost: str,
                    users: dict[str, tuple[str, dict[str, str]]]) -> None:
    put = management_api(api, admin_user, admin_password)
    for user, (password, grant) in users.items():
        put(f"users/{quote(user, safe='')}", {"password": password, "tags": ""})
        put(f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}", grant)


def ensure_users(amqp_uri: str, settings: SiagaSettings, http_api: str | None = None,
                 store: Path | None = None) -> dict[str, str]:
    """Create or update every party's user of this instance; return each party's AMQP URI."""
    admin = Connection(amqp_uri)
    grants = parties()
    chosen = passwords(list(grants), store or settings.var_dir / "broker-users.json")
    users = {settings.user_name(party): (chosen[party], grant) for party, grant in grants.items()}
    vhost = admin.virtual_host or "/"
    if http_api:
        apply_with_http(http_api, admin.userid, admin.password, vhost, users)
    else:
        apply_with_rabbitmqctl(vhost, users)
    return {party: admin_uri_as(admin, settings.user_name(party), chosen[party]) for party in grants}


def admin_uri_as(admin: Connection, user: str, password: str) -> str:
    vhost = "" if admin.virtual_host in ("/", None) else quote(admin.virtual_host, safe="")
    return f"amqp://{quote(user, safe='')}:{quote(password, safe='')}@{admin.hostname}:{admin.port or 5672}/{vhost}"


def remove_users(settings: SiagaSettings) -> None:
    """Every party's user of this instance, and no other instance's (all at once: see import_definitions)."""
    doomed = listed("list_users") & {settings.user_name(party) for party in parties()}
    for deleting in [subprocess.Popen(["rabbitmqctl", "-q", "delete_user", user], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL) for user in doomed]:
        deleting.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--http", help="management API base URL (else rabbitmqctl on this machine)")
    args = parser.parse_args(argv)
    settings = siaga_settings()
    ensure_vhost(settings.broker_uri, args.http)
    uris = ensure_users(settings.broker_uri, settings, args.http)
    for party in uris:
        print(f"{settings.user_name(party)}: permissions set on vhost {Connection(uris[party]).virtual_host}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
