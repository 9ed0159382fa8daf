"""A private RabbitMQ node, started from the OS install, that a chaos run may restart at will.

The machine-wide node (127.0.0.1:5672) serves other people's runs, so it must never be
restarted; this node has its own name, ports, data, logs and Erlang cookie under a temp dir,
and is stopped and deleted on exit, even on failure.

    with PrivateBroker() as broker:
        broker.amqp_uri            # amqp://guest:guest@127.0.0.1:<port>/
        broker.restart()           # stops the whole node and starts it again on the same data
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from shared.embedded_db import free_port

SCRIPTS = Path("/usr/lib/rabbitmq/bin")  # the Debian package's scripts, not the su-to-rabbitmq wrappers


class PrivateBroker:
    """One RabbitMQ node of our own: start, restart (a real node stop and start), delete."""

    def __init__(self, start_timeout: float = 120.0, keep_logs_in: Path | None = None):
        self.start_timeout = start_timeout
        self.keep_logs_in = keep_logs_in  # the node's logs are evidence: copied here before deletion
        self.node = f"siaga-chaos-{uuid.uuid4().hex[:8]}@localhost"
        self.port = free_port()
        self.dist_port = free_port()
        self.base: Path | None = None
        self.process: subprocess.Popen | None = None

    @property
    def amqp_uri(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    @property
    def log_dir(self) -> Path:
        return self._base / "log"

    @property
    def _base(self) -> Path:
        if self.base is None:
            raise RuntimeError("the private broker is not started")
        return self.base

    def _env(self) -> dict[str, str]:
        """Everything the node reads points into our temp dir, so nothing clashes with the shared node."""
        base = self._base
        return os.environ | {
            "HOME": str(base),  # the Erlang cookie of this node and of our rabbitmqctl calls
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONF_ENV_FILE": str(base / "rabbitmq-env.conf"),  # not /etc/rabbitmq's (names rabbit@)
            "RABBITMQ_CONFIG_FILE": str(base / "rabbitmq.conf"),  # not /etc/rabbitmq's (listens on 5672)
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(base / "advanced.config"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(base / "enabled_plugins"),  # none: no management port clash
            "RABBITMQ_PLUGINS_EXPAND_DIR": str(base / "plugins-expand"),
            "RABBITMQ_FEATURE_FLAGS_FILE": str(base / "feature_flags"),
            "RABBITMQ_MNESIA_BASE": str(base / "mnesia"),
            "RABBITMQ_LOG_BASE": str(base / "log"),
            "RABBITMQ_PID_FILE": str(base / "rabbitmq.pid"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
        }

    def start(self) -> "PrivateBroker":
        self.base = Path(tempfile.mkdtemp(prefix="siaga-chaos-broker-"))
        (self.base / "rabbitmq-env.conf").write_text("")
        (self.base / "rabbitmq.conf").write_text(f"listeners.tcp.1 = 127.0.0.1:{self.port}\n")
        (self.base / "advanced.config").write_text("[].\n")
        (self.base / "enabled_plugins").write_text("[].\n")
        self._start_node()
        return self

    def _start_node(self) -> None:
        log = open(self._base / "server.out", "ab")
        self.process = subprocess.Popen([str(SCRIPTS / "rabbitmq-server")], env=self._env(), cwd=self._base,
                                        stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while self._ctl("await_startup", "--timeout", "10", check=False).returncode != 0:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"private RabbitMQ node {self.node} did not start; see {self._base}")

    def _stop_node(self) -> None:
        """`rabbitmqctl stop` (clean: queues flushed to disk), then make sure the process is gone."""
        self._ctl("stop", check=False)
        if self.process is None:
            return
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)
            self.process.wait()

    def restart(self) -> float:
        """Stop the whole node and start it again on the same data; returns the seconds it was away."""
        began = time.monotonic()
        self._stop_node()
        self._start_node()
        return time.monotonic() - began

    def stop(self) -> None:
        if self.base is None:
            return
        try:
            self._stop_node()
        finally:
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, 9)
            try:
                self._keep_logs()
            finally:
                shutil.rmtree(self._base, ignore_errors=True)
                self.base = None

    def _keep_logs(self) -> None:
        if self.keep_logs_in is None:
            return
        target = self.keep_logs_in / "rabbitmq"
        shutil.copytree(self._base / "log", target, dirs_exist_ok=True)
        shutil.copy(self._base / "server.out", target / "server.out")

    def _ctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run([str(SCRIPTS / "rabbitmqctl"), "-q", "-n", self.node, *args], env=self._env(),
                              cwd=self._base, check=check, capture_output=True, timeout=120)

    def __enter__(self) -> "PrivateBroker":
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
