"""What the integration modules share: each service started with the test config, the demo roster,
and a tap on each service's events.

`store` and `events` are dispatch's (most modules are about dispatch); a module about another
service overrides them with its own.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest
from nameko.containers import ServiceContainer
from nameko.standalone.rpc import ServiceRpcProxy

from services.dispatch.service import DispatchService
from services.dispatch.storage import DispatchStore
from services.reports.service import ReportsService
from tests.factories import create_report_received, of_type
from tests.factories.console import ConsoleClient, base_url, console_store, declare_with_console, start_console
from tests.factories.dispatch import dispatch_store, load_demo_roster


@pytest.fixture
def store(mongo_client, db_names) -> DispatchStore:
    """Dispatch's store with the demo roster, every officer on call."""
    return load_demo_roster(dispatch_store(mongo_client, db_names))


@pytest.fixture
def events(tap):
    """Everything dispatch publishes."""
    return tap(("dispatch.events", "#"))


@pytest.fixture
def reports_events(declared, tap):
    """Everything reports publishes (the tap also makes each event type routable)."""
    return tap(("reports.events", "#"))


@pytest.fixture
def start_dispatch(declared, container_factory, config_for) -> Callable[..., ServiceContainer]:
    """Start a dispatch container; keywords are its DISPATCH settings."""
    def start(**settings: Any) -> ServiceContainer:
        config = config_for("dispatch", DISPATCH=settings) if settings else config_for("dispatch")
        container = container_factory(DispatchService, config)
        container.start()
        return container
    return start


@pytest.fixture
def rpc(store, start_dispatch, amqp_uri):
    """Dispatch (demo roster) running, and an RPC proxy to it as the console holds one."""
    start_dispatch()
    with ServiceRpcProxy("dispatch", {"AMQP_URI": amqp_uri}, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def assignment(rpc, events, publish_raw) -> dict:
    """A report in Menteng RW05 assigned to its Polisi RW: the assignment_created data."""
    publish_raw(create_report_received(), exchange="reports.events", routing_key="report_received")
    return events.wait_for(of_type("assignment_created"))["data"]


@pytest.fixture
def reports_rpc(declared, container_factory, config_for, amqp_uri):
    container_factory(ReportsService, config_for("reports")).start()
    with ServiceRpcProxy("reports", {"AMQP_URI": amqp_uri}, timeout=20) as proxy:
        yield proxy


@pytest.fixture
def declared_with_console(amqp_uri) -> list[str]:
    return declare_with_console(amqp_uri)


@pytest.fixture
def console_db_store(mongo_client, db_names):
    """The console's store, where its operators live."""
    return console_store(mongo_client, db_names)


@pytest.fixture
def console_system(declared_with_console, mongo_client, db_names, container_factory, config_for) -> dict[str, Any]:
    """Dispatch with the demo roster and the console in front of it, operators of Menteng and of Gambir;
    returns the console's config."""
    return start_console(container_factory, config_for, mongo_client, db_names)


@pytest.fixture
def client(console_system) -> ConsoleClient:
    """Logged in as Menteng's duty officer."""
    client = ConsoleClient(base_url(console_system))
    assert client.log_in().status_code == 200
    return client
