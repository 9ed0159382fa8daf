"""Two Siagas on one machine: each instance's own names, and HTTP addresses that never collide."""
from __future__ import annotations

import socket

import pytest

from shared.config import PROJECT_ROOT
from siaga.demo import outcome_table
from siaga.settings import SiagaSettings, siaga_settings, use_instance
from siaga.system import choose_http_addresses


def test_the_default_instance_keeps_the_names_of_a_single_siaga():
    settings = siaga_settings({})
    assert settings.instance == "siaga"
    assert (settings.user_name("reports"), settings.database_name("reports")) == ("siaga-reports", "siaga_reports")
    assert settings.broker_uri == "amqp://guest:guest@127.0.0.1:5672/siaga"
    assert settings.var_dir == PROJECT_ROOT / "var" / "siaga"


def test_a_second_instance_has_its_own_vhost_users_databases_and_files():
    settings = siaga_settings({"SIAGA_INSTANCE": "Demo2"})
    assert settings.user_name("sms-gateway") == "demo2-sms-gateway"
    assert settings.database_environment() == {
        "REPORTS_MONGO_DATABASE": "demo2_reports", "DISPATCH_MONGO_DATABASE": "demo2_dispatch",
        "NOTIFY_MONGO_DATABASE": "demo2_notify", "CONSOLE_MONGO_DATABASE": "demo2_console",
        "COMMUNITY_MONGO_DATABASE": "demo2_community"}
    assert settings.broker_uri == "amqp://guest:guest@127.0.0.1:5672/demo2"
    assert settings.var_dir == PROJECT_ROOT / "var" / "demo2"


def test_a_broker_the_user_names_is_used_with_its_own_vhost():
    uri = "amqp://siaga:secret@rabbitmq:5672/"
    assert siaga_settings({"AMQP_URI": uri, "SIAGA_INSTANCE": "demo2"}).broker_uri == uri


@pytest.mark.parametrize("name", ["demo 2", "2demo", "a/b", "siaga_x", "x" * 33])
def test_an_instance_name_that_cannot_name_a_vhost_user_and_database_is_refused(name):
    with pytest.raises(ValueError, match="SIAGA_INSTANCE"):
        siaga_settings({"SIAGA_INSTANCE": name})


def test_commands_read_the_instance_databases_unless_the_user_named_one():
    environ = {"SIAGA_INSTANCE": "demo2", "DISPATCH_MONGO_DATABASE": "mine", "NOTIFY_MONGO_DATABASE": ""}
    use_instance(environ)
    assert environ["DISPATCH_MONGO_DATABASE"] == "mine"
    assert (environ["REPORTS_MONGO_DATABASE"], environ["NOTIFY_MONGO_DATABASE"]) == ("demo2_reports", "demo2_notify")


@pytest.fixture
def taken_address():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield f"127.0.0.1:{sock.getsockname()[1]}"


def test_the_demo_port_is_used_while_free_and_a_free_one_once_taken(taken_address):
    free = choose_http_addresses({}, {"console": "127.0.0.1:0", "reports": taken_address})
    assert free["console"] == "127.0.0.1:0"
    assert free["reports"] != taken_address and free["reports"].startswith("127.0.0.1:")


def test_an_address_the_user_set_wins_over_the_demo_port_and_must_be_free(taken_address):
    settings = SiagaSettings(console_http_address="127.0.0.1:0")
    assert choose_http_addresses(settings.http_addresses, {"console": "127.0.0.1:8080"})["console"] == "127.0.0.1:0"
    with pytest.raises(RuntimeError, match=f"CONSOLE_HTTP_ADDRESS={taken_address} is already in use"):
        choose_http_addresses({"console": taken_address}, {})


def test_the_outcome_table_speaks_one_language():
    incident = {"data": {"source_kind": "cctv", "category": "tawuran", "location": {"village_code": "31.71.06.1005"}}}
    table = outcome_table([incident], [None], "the SMS gateway simulator")
    assert [column.header for column in table.columns] == [
        "Report", "Source", "Category", "Place", "Outcome", "Officer / reason", "SMS"]
    assert "no outcome" in str(list(table.columns[4].cells))
