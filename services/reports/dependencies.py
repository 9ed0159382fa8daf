"""nameko extensions of the reports service: its intake settings and its HTTP front door."""
from __future__ import annotations

from nameko.constants import WEB_SERVER_CONFIG_KEY
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import WebServer, parse_address

from services.reports.settings import IntakeSettings
from shared import wilayah
from shared.settings import SettingsProvider


class IntakeSettingsProvider(SettingsProvider):
    """Intake's settings; the villages are loaded with them, before the first incident rather than during it."""

    def __init__(self):
        super().__init__(IntakeSettings)

    def setup(self):
        super().setup()
        wilayah.names()


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
