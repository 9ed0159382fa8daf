"""nameko extensions of the reports service: its intake settings and its HTTP front door."""
from __future__ import annotations

import logging

from nameko.constants import WEB_SERVER_CONFIG_KEY
from nameko.extensions import DependencyProvider
from nameko.web.handlers import HttpRequestHandler
from nameko.web.server import parse_address
from werkzeug.wrappers import Response

from services.reports import open311
from services.reports.places import Locator
from services.reports.settings import IntakeSettings
from shared import boundaries, wilayah
from shared.boundaries import PlaceSettings
from shared.settings import SettingsProvider, read
from shared.webserver import SecureWebServer

log = logging.getLogger(__name__)


class IntakeSettingsProvider(SettingsProvider):
    """Intake's settings; the villages are loaded with them, before the first incident rather than during it."""

    def __init__(self):
        super().__init__(IntakeSettings)

    def setup(self):
        super().setup()
        wilayah.names()


class PlacesProvider(DependencyProvider):
    """The village boundaries of the provinces this process serves (PLACES), loaded once at start."""

    def setup(self):
        settings = read(PlaceSettings, self.container.config)
        self.locator = Locator(boundaries.atlas(settings), settings)

    def get_dependency(self, worker_ctx):
        return self.locator


class ReportsWebServer(SecureWebServer):
    """The hardened web server (an API's headers), but on a free local port when WEB_SERVER_ADDRESS is not configured.

    config.yml always sets it (REPORTS_HTTP_ADDRESS); a container started with a bare config (the
    event-path tests) must not fight over nameko's default 0.0.0.0:8000.
    """

    @property
    def bind_addr(self):
        return parse_address(self.container.config.get(WEB_SERVER_CONFIG_KEY) or "127.0.0.1:0")


class HttpEntrypoint(HttpRequestHandler):
    """nameko's @http; what fails outside an Open311 answer's own handling is logged, never shown."""

    server = ReportsWebServer()

    def response_from_exception(self, exc):
        log.error("HTTP request failed", exc_info=exc)
        error = open311.internal_error()
        content_type, text = open311.render_error("json", error)
        return Response(text, status=error.status, content_type=content_type)


http = HttpEntrypoint.decorator
