"""A service's MongoDB user reaches its own database and nothing else (the embedded server with --auth).

The users are made by what `python -m siaga.mongo_users` runs, as an administrator, as docker-compose's
`mongo-users` job runs it; the administrator is made first, as the mongo image makes its root user.
"""
from __future__ import annotations

import uuid

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from shared.embedded_db import EmbeddedMongo
from siaga import mongo_users
from siaga.settings import SERVICES

pytestmark = pytest.mark.security

ROOT_PASSWORD = "root-" + uuid.uuid4().hex
UNAUTHORIZED = 13


def passwords(tag: str) -> dict[str, str]:
    return {f"SIAGA_{service.upper()}_MONGO_PASSWORD": f"{service}-{tag}-{uuid.uuid4().hex}" for service in SERVICES}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A server that requires authentication, with only an administrator."""
    storage = str(tmp_path_factory.mktemp("mongo-auth"))
    with EmbeddedMongo(storage) as open_server:
        MongoClient(open_server.uri).admin.command(
            "createUser", "root", pwd=ROOT_PASSWORD, roles=[{"role": "root", "db": "admin"}])
    with EmbeddedMongo(storage, auth=True) as guarded:
        yield guarded


def host(server) -> str:
    return f"127.0.0.1:{server.port}"


def set_users(server, environ: dict[str, str]) -> int:
    admin_uri = f"mongodb://root:{ROOT_PASSWORD}@{host(server)}/?authSource=admin&retryWrites=false"
    return mongo_users.main({"MONGO_URI": admin_uri} | environ)


def as_service(server, service: str, password: str) -> MongoClient:
    database = f"siaga_{service}"
    return MongoClient(f"mongodb://siaga-{service}:{password}@{host(server)}/{database}"
                       f"?authSource={database}&retryWrites=false", serverSelectionTimeoutMS=5000)


@pytest.fixture(scope="module")
def users(server) -> dict[str, str]:
    environ = passwords("first")
    assert set_users(server, environ) == 0
    return {service: environ[f"SIAGA_{service.upper()}_MONGO_PASSWORD"] for service in SERVICES}


def refused(action) -> bool:
    try:
        action()
    except OperationFailure as failure:
        return failure.code in (UNAUTHORIZED, 18)
    return False


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_user_reads_and_writes_its_own_database_and_no_other(server, users, service):
    with as_service(server, service, users[service]) as client:
        assert client.admin.command("ping")["ok"] == 1  # what the container's health check asks
        client[f"siaga_{service}"].probe.insert_one({"by": service})
        assert client[f"siaga_{service}"].probe.find_one({"by": service})
        for other in set(SERVICES) - {service}:
            assert refused(lambda: client[f"siaga_{other}"].probe.find_one()), other
            assert refused(lambda: client[f"siaga_{other}"].probe.insert_one({"by": service})), other
        assert refused(client.list_database_names)
        assert refused(lambda: client[f"siaga_{service}"].command(
            "createUser", "stowaway", pwd="x" * 20, roles=[{"role": "readWrite", "db": "siaga_dispatch"}]))


def test_nobody_reads_a_service_database_without_its_password(server, users):
    with MongoClient(f"mongodb://{host(server)}/?retryWrites=false") as anonymous:
        assert refused(lambda: anonymous.siaga_reports.probe.find_one())
    with as_service(server, "reports", users["dispatch"]) as wrong:
        assert refused(lambda: wrong.siaga_reports.probe.find_one())


def test_running_it_again_with_a_new_password_rotates_that_password(server, users):
    environ = passwords("second")
    assert set_users(server, environ) == 0
    new = environ["SIAGA_NOTIFY_MONGO_PASSWORD"]
    with as_service(server, "notify", users["notify"]) as old:
        assert refused(lambda: old.siaga_notify.probe.find_one())
    with as_service(server, "notify", new) as client:
        client.siaga_notify.probe.insert_one({"after": "rotation"})
        assert client.siaga_notify.probe.find_one({"after": "rotation"})
        assert refused(lambda: client.siaga_reports.probe.find_one())
    users.update({service: environ[f"SIAGA_{service.upper()}_MONGO_PASSWORD"] for service in SERVICES})


def test_it_changes_nothing_without_every_service_password_and_names_the_missing_one(server, users, capsys):
    environ = passwords("third") | {"SIAGA_CONSOLE_MONGO_PASSWORD": ""}
    assert set_users(server, environ) != 0
    said = capsys.readouterr()
    assert "SIAGA_CONSOLE_MONGO_PASSWORD" in said.err
    assert not ({ROOT_PASSWORD, *environ.values()} - {""}) & set((said.out + said.err).split())
    with as_service(server, "reports", users["reports"]) as client:
        assert client.siaga_reports.probe.find_one() is not None
