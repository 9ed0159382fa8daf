"""nameko extensions of the reports service: its settings and its HTTP front door."""
from __future__ import annotations

from nameko.constants import WEB_SERVER_CONFIG_KEY
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, parse_address

from services.reports.domain import Rules
from services.reports.open311 import Open311Settings
from shared import wilayah

INTAKE_CONFIG_KEY = "INTAKE"
OPEN311_CONFIG_KEY = "OPEN311"


class IntakeRules(DependencyProvider):
    """The intake rules from config.yml (`INTAKE`), parsed once per container."""

    def setup(self):
        self.rules = Rules.from_config(self.container.config.get(INTAKE_CONFIG_KEY))
        wilayah.names()  # load the 80k villages now, not during the first incident (about a second)

    def get_dependency(self, worker_ctx) -> Rules:
        return self.rules


class Open311Config(DependencyProvider):
    """Open311 settings (`OPEN311`): jurisdiction and the sha256 digests of the accepted API keys."""

    def setup(self):
        self.settings = Open311Settings.from_config(self.container.config.get(OPEN311_CONFIG_KEY))

    def get_dependency(self, worker_ctx) -> Open311Settings:
        return self.settings


class ReportsWebServer(WebServer):
    """nameko's web server, but on a free local port when WEB_SERVER_ADDRESS is not configured.

    config.yml always sets it (REPORTS_HTTP_ADDRESS); a container started with a bare config (the
    event-path tests) must not fight over nameko's default 0.0.0.0:8000.
    """

    @property
    def bind_addr(self):
        return parse_address(self.container.config.get(WEB_SERVER_CONFIG_KEY) or "127.0.0.1:0")


class HttpEntrypoint(HttpRequestHandler):
    server = ReportsWebServer()


http = HttpEntrypoint.decorator
