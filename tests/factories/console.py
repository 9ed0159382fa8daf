"""Fixture factories for the console: its config, topology, operators, the services behind it, and an HTTP
client like a browser's."""
from __future__ import annotations

from typing import Any, Callable

import requests

from services.console.operators import add_operator
from services.console.service import ConsoleService
from services.console.storage import ConsoleStore
from services.dispatch.service import DispatchService
from services.notify.service import NotifyService
from services.reports.service import ReportsService
from shared import topology
from tests.factories import eventually
from tests.factories.dispatch import dispatch_store, load_demo_roster

PASSWORD = "sandi-uji-menteng"  # a throwaway test password, nothing real


def console_db(db_names: dict[str, str]) -> str:
    return db_names["dispatch"].replace("_dispatch", "_console")


def console_config(config_for: Callable[..., dict], db_names: dict[str, str], **settings: Any) -> dict[str, Any]:
    config = config_for("dispatch", MONGO_DATABASE=console_db(db_names))
    config["CONSOLE"] = {"FEED_POLL_SECONDS": 0.2, "RPC_TIMEOUT_SECONDS": 10} | settings
    return config


def declare_with_console(amqp_uri: str) -> list[str]:
    """The whole topology including the console's queues (until shared/topology lists the console)."""
    return topology.declare_topology(amqp_uri, [*topology.siaga_service_classes(), ConsoleService])


def console_store(mongo_client, db_names) -> ConsoleStore:
    store = ConsoleStore(mongo_client[console_db(db_names)])
    store.ensure_indexes()
    return store


def create_operator(store: ConsoleStore, username: str = "piket.menteng", polseks: tuple[str, ...] = ("31.71.06",),
                    password: str = PASSWORD, role: str | None = None) -> dict[str, Any]:
    return add_operator(store, username, list(polseks), f"Operator {username}", password, role=role)


class ConsoleClient:
    """What the console's page does over HTTP: log in, read the board, act with the CSRF token."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.http = requests.Session()
        self.csrf: str | None = None

    def url(self, path: str) -> str:
        return self.base_url + path

    def log_in(self, username: str = "piket.menteng", password: str = PASSWORD) -> requests.Response:
        response = self.http.post(self.url("/api/login"), json={"username": username, "password": password}, timeout=10)
        if response.ok:
            self.csrf = response.json()["csrf"]
        return response

    def get(self, path: str, **kwargs) -> requests.Response:
        return self.http.get(self.url(path), timeout=10, **kwargs)

    def post(self, path: str, body: dict | None = None, csrf: bool = True) -> requests.Response:
        headers = {"X-CSRF-Token": self.csrf} if csrf and self.csrf else {}
        return self.http.post(self.url(path), json=body or {}, headers=headers, timeout=20)

    def act(self, assignment_id: str, action: str, **body: Any) -> requests.Response:
        return self.post(f"/api/assignments/{assignment_id}/{action}", body)

    def board(self) -> list[dict[str, Any]]:
        response = self.get("/api/board")
        response.raise_for_status()
        return response.json()["cards"]

    def wait_for_card(self, predicate: Callable[[dict], bool], timeout: float = 20.0) -> dict[str, Any]:
        """The first card on the board matching, with a deadline (the board is built from events)."""
        cards = eventually(self.board, lambda cards: any(predicate(card) for card in cards), timeout)
        return next(card for card in cards if predicate(card))


def base_url(config: dict[str, Any]) -> str:
    return f"http://{config['WEB_SERVER_ADDRESS']}"


def start_console(container_factory, config_for, mongo_client, db_names, *, reports: bool = False,
                  notify: bool = False,
                  operators: list[tuple[str, tuple[str, ...]]] = (("piket.menteng", ("31.71.06",)),
                                                                  ("piket.gambir", ("31.71.01",))),
                  **settings: Any) -> dict[str, Any]:
    """Dispatch with the demo roster and the console in front of it (reports and notify too if asked), as the demo
    runs them, with duty officers of Menteng and of Gambir unless told; returns the console's config."""
    load_demo_roster(dispatch_store(mongo_client, db_names))
    if reports:
        container_factory(ReportsService, config_for("reports")).start()
    if notify:
        container_factory(NotifyService, config_for("notify")).start()
    container_factory(DispatchService, config_for("dispatch")).start()
    config = console_config(config_for, db_names, **settings)
    container_factory(ConsoleService, config).start()
    store = console_store(mongo_client, db_names)
    for username, polseks in operators:
        create_operator(store, username, polseks)
    return config
