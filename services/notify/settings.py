"""notify's settings (config.yml `SMS:`), handed to workers, and the retry timer that reads its interval there."""
from __future__ import annotations

from nameko.extensions import DependencyProvider
from nameko.timer import Timer

from services.notify.domain import SendPolicy

SMS_CONFIG_KEY = "SMS"


def policy_from(config: dict) -> SendPolicy:
    return SendPolicy.from_config(config.get(SMS_CONFIG_KEY))


class Policy(DependencyProvider):
    """The send policy (timeouts, attempts, backoff), read once per container."""

    def setup(self):
        self.policy = policy_from(self.container.config)

    def get_dependency(self, worker_ctx) -> SendPolicy:
        return self.policy


class RetryTimer(Timer):
    """nameko's timer, with its interval from config (`SMS.RETRY_POLL`) rather than fixed in code."""

    def __init__(self, **kwargs):
        super().__init__(interval=SendPolicy().retry_poll, **kwargs)

    def setup(self):
        self.interval = policy_from(self.container.config).retry_poll
        super().setup()


every_retry_poll = RetryTimer.decorator
