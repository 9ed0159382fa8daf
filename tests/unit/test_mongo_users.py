"""Which MongoDB users a deployment gets: one per service, allowed its own database and nothing else."""
from __future__ import annotations

import pytest

from siaga.mongo_users import MongoUsersError, service_passwords, service_users
from siaga.settings import SERVICES, siaga_settings


def test_each_service_gets_one_user_with_read_write_on_its_own_database_only():
    users = service_users(siaga_settings({}))
    assert [user.service for user in users] == list(SERVICES)
    for user in users:
        assert user.name == f"siaga-{user.service}"
        assert user.database == f"siaga_{user.service}"
        assert user.roles == [{"role": "readWrite", "db": f"siaga_{user.service}"}]


def test_an_instance_names_its_own_users_and_databases():
    users = service_users(siaga_settings({"SIAGA_INSTANCE": "demo2"}))
    assert {(user.name, user.database) for user in users} == {
        (f"demo2-{service}", f"demo2_{service}") for service in SERVICES}


def test_each_password_comes_from_the_service_own_variable():
    users = service_users(siaga_settings({}))
    environ = {f"SIAGA_{service.upper()}_MONGO_PASSWORD": f"{service}-0123456789abcdef" for service in SERVICES}
    assert service_passwords(users, environ) == {
        f"siaga-{service}": f"{service}-0123456789abcdef" for service in SERVICES}


@pytest.mark.parametrize("bad", ["", "short", "has@an-at-sign-and/slash", "spaces are not safe in a URI"])
def test_a_missing_short_or_unsafe_password_is_refused_by_name_without_echoing_it(bad):
    users = service_users(siaga_settings({}))
    environ = {f"SIAGA_{service.upper()}_MONGO_PASSWORD": "0123456789abcdef0123" for service in SERVICES}
    environ["SIAGA_NOTIFY_MONGO_PASSWORD"] = bad
    with pytest.raises(MongoUsersError) as refused:
        service_passwords(users, environ)
    assert "SIAGA_NOTIFY_MONGO_PASSWORD" in str(refused.value)
    assert "SIAGA_REPORTS_MONGO_PASSWORD" not in str(refused.value)
    if bad:
        assert bad not in str(refused.value)
