"""The deadline sweep's timer, which reads its interval from config.yml (`DISPATCH.SWEEP_SECONDS`)."""
from __future__ import annotations

from nameko.timer import Timer

from services.dispatch.domain import Settings

CONFIG_KEY = "DISPATCH"


def settings_from(config: dict) -> Settings:
    return Settings.from_config(config.get(CONFIG_KEY))


class SweepTimer(Timer):
    """nameko's timer, with its interval from config (`DISPATCH.SWEEP_SECONDS`) rather than fixed in code."""

    def __init__(self, **kwargs):
        super().__init__(interval=Settings().sweep_seconds, **kwargs)

    def setup(self):
        self.interval = settings_from(self.container.config).sweep_seconds
        super().setup()


every_sweep = SweepTimer.decorator
