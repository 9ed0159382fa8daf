"""The broker's own administration (vhosts, users, grants): through RabbitMQ's management API when the
broker serves one, else through `rabbitmqctl` on this machine.

The API answers in milliseconds. Each `rabbitmqctl` call starts an Erlang VM (about 0.6 s of CPU),
which made the tests' vhost per test a third of the suite's time and the demo's start wait on them;
`make test` enables the management plugin on the local broker (scripts/broker-management.sh).
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import urllib.error
import urllib.request
from typing import Protocol
from urllib.parse import quote

from kombu import Connection

from shared.topology import Grant

FULL = {"configure": ".*", "write": ".*", "read": ".*"}
MANAGEMENT_PORT = 15672


class BrokerAdmin(Protocol):
    def add_vhost(self, vhost: str, user: str) -> None:
        """The vhost, created when missing, with `user` granted everything on it."""

    def delete_vhost(self, vhost: str) -> None:
        """The vhost and all it holds gone (it may finish in the background until `wait`)."""

    def put_users(self, vhost: str, users: dict[str, tuple[str, Grant]]) -> None:
        """Each user created or given its password, with its grant on the vhost (topic permissions included)."""

    def users(self) -> set[str]: ...

    def delete_users(self, names: set[str]) -> None: ...

    def wait(self) -> None:
        """Until what was started in the background has finished."""


class ManagementApi:
    def __init__(self, api: str, user: str, password: str):
        self.api = api.rstrip("/")
        self.token = base64.b64encode(f"{user}:{password}".encode()).decode()

    def call(self, method: str, path: str, body: dict | None = None, timeout: float = 30.0,
             ok: tuple[int, ...] = ()) -> bytes:
        """`ok`: error statuses that are an answer here (a 404 for what is already gone)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.api}/api/{path}", data=data, method=method,
                                         headers={"Authorization": f"Basic {self.token}",
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.read()
        except urllib.error.HTTPError as error:
            if error.code in ok:
                return b""
            raise

    def answers(self) -> bool:
        try:
            self.call("GET", "whoami", timeout=2.0)
        except (OSError, urllib.error.URLError):
            return False
        return True

    def add_vhost(self, vhost: str, user: str) -> None:
        self.call("PUT", f"vhosts/{quote(vhost, safe='')}", {})
        self.call("PUT", f"permissions/{quote(vhost, safe='')}/{quote(user, safe='')}", FULL)

    def delete_vhost(self, vhost: str) -> None:
        self.call("DELETE", f"vhosts/{quote(vhost, safe='')}", ok=(404,))

    def put_users(self, vhost: str, users: dict[str, tuple[str, Grant]]) -> None:
        where = quote(vhost, safe="")
        for user, (password, grant) in users.items():
            who = quote(user, safe="")
            self.call("PUT", f"users/{who}", {"password": password, "tags": ""})
            self.call("PUT", f"permissions/{where}/{who}", grant.permissions)
            self.call("DELETE", f"topic-permissions/{where}/{who}", ok=(404,))  # none left from an older grant
            for topic in grant.topic_permissions:
                self.call("PUT", f"topic-permissions/{where}/{who}", topic)

    def users(self) -> set[str]:
        return {user["name"] for user in json.loads(self.call("GET", "users?columns=name"))}

    def delete_users(self, names: set[str]) -> None:
        if names:
            self.call("POST", "users/bulk-delete", {"users": sorted(names)})

    def wait(self) -> None:
        pass


class Rabbitmqctl:
    """Batched where it can be (one `import_definitions` for many users) and deleting in the background;
    never several imports at once, which wedged the broker under parallel test processes."""

    def __init__(self):
        self.background: list[subprocess.Popen] = []

    @staticmethod
    def run(*args: str, given: str | None = None) -> str:
        return subprocess.run(["rabbitmqctl", "-q", *args], input=given, check=True, capture_output=True,
                              text=True, timeout=120).stdout

    def listed(self, *args: str) -> set[str]:
        """The first column of a `rabbitmqctl list_…` (its header line included, which names nothing real)."""
        return {line.split()[0] for line in self.run(*args).splitlines() if line.strip()}

    def add_vhost(self, vhost: str, user: str) -> None:
        if vhost not in self.listed("list_vhosts", "name"):
            self.run("add_vhost", vhost)
        self.run("set_permissions", "-p", vhost, user, FULL["configure"], FULL["write"], FULL["read"])

    def delete_vhost(self, vhost: str) -> None:
        self.background.append(subprocess.Popen(["rabbitmqctl", "-q", "delete_vhost", vhost],
                                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))

    def put_users(self, vhost: str, users: dict[str, tuple[str, Grant]]) -> None:
        """One import for them all (an import adds topic permissions, never removes an older one)."""
        self.run("import_definitions", given=json.dumps({
            "users": [{"name": user, "password_hash": password_hash(password), "tags": "",
                       "hashing_algorithm": "rabbit_password_hashing_sha256"} for user, (password, _) in users.items()],
            "permissions": [{"user": user, "vhost": vhost} | grant.permissions for user, (_, grant) in users.items()],
            "topic_permissions": [{"user": user, "vhost": vhost} | topic for user, (_, grant) in users.items()
                                  for topic in grant.topic_permissions],
        }))

    def users(self) -> set[str]:
        return self.listed("list_users")

    def delete_users(self, names: set[str]) -> None:
        for deleting in [subprocess.Popen(["rabbitmqctl", "-q", "delete_user", user], stdout=subprocess.DEVNULL,
                                          stderr=subprocess.DEVNULL) for user in names]:
            deleting.wait(timeout=120)

    def wait(self) -> None:
        for deleting in self.background:
            deleting.wait(timeout=120)
        self.background.clear()


def password_hash(password: str) -> str:
    """RabbitMQ's salted SHA-256 (rabbitmq.com/docs/passwords, "Computing Password Hash"), the form
    a definitions import takes a password in."""
    salt = secrets.token_bytes(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


def broker_admin(amqp_uri: str, api: str | None = None) -> BrokerAdmin:
    """The admin for the broker of `amqp_uri`, acting as its user: the management API at `api`, or
    RABBITMQ_API, or the broker host's port 15672 when that answers; else rabbitmqctl."""
    admin = Connection(amqp_uri)
    if given := api or os.environ.get("RABBITMQ_API"):
        return ManagementApi(given, admin.userid, admin.password)
    local = ManagementApi(f"http://{admin.hostname}:{MANAGEMENT_PORT}", admin.userid, admin.password)
    if local.answers():
        return local
    if shutil.which("rabbitmqctl"):
        return Rabbitmqctl()
    raise RuntimeError(f"no management API at {local.api} and no rabbitmqctl on this machine: enable the "
                       "broker's management plugin (rabbitmq-plugins enable rabbitmq_management) or set RABBITMQ_API")


def can_administer(amqp_uri: str) -> bool:
    try:
        broker_admin(amqp_uri)
    except RuntimeError:
        return False
    return True
