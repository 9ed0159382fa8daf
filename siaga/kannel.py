"""Kannel, the open-source SMS gateway, run for Siaga: a config written for one bearerbox and one smsbox.

    python -m siaga.kannel --dir var/kannel      # write kannel.conf, start both boxes; Ctrl-C stops

bearerbox talks to the SMS centre (here Kannel's own test SMSC, `fakesmsc` from kannel-extras, which
plays the operator's side over Kannel's `fake` protocol); smsbox offers `sendsms` over HTTP, which the
bridge (`siaga.kannel_bridge`) submits to, and hands every inbound SMS to the bridge's `/inbound`
through a catch-all `sms-service` that never answers by SMS itself. Its store file keeps what
bearerbox accepted across a restart of Kannel. Only what this module started is ever stopped.
"""
from __future__ import annotations

import argparse
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from nameko.testing.utils import find_free_port

from siaga.kannel_bridge import GET_URL_PARAMETERS

# Debian puts the boxes in /usr/sbin (not on a user's PATH) and the test SMSCs in /usr/lib/kannel/test.
SEARCHED = ("/usr/sbin", "/usr/local/sbin", "/usr/lib/kannel/test")


def binary(name: str) -> str | None:
    """Where Kannel's `name` is installed, or None."""
    found = shutil.which(name)
    if found:
        return found
    for folder in SEARCHED:
        if (Path(folder) / name).is_file():
            return str(Path(folder) / name)
    return None


def installed() -> bool:
    return all(binary(name) for name in ("bearerbox", "smsbox"))


@dataclass
class Ports:
    admin: int = field(default_factory=find_free_port)
    smsbox: int = field(default_factory=find_free_port)  # bearerbox ↔ smsbox
    smsc: int = field(default_factory=find_free_port)  # bearerbox ↔ fakesmsc
    sendsms: int = field(default_factory=find_free_port)


CONFIG = """\
group = core
admin-port = {ports.admin}
admin-password = "{admin_password}"
admin-interface = 127.0.0.1
smsbox-port = {ports.smsbox}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{directory}/bearerbox.log"
log-level = 1
access-log = "{directory}/access.log"
dlr-storage = internal
store-type = file
store-location = "{directory}/store"
sms-resend-freq = 1
sms-resend-retry = -1

group = smsc
smsc = fake
smsc-id = test-smsc
host = 127.0.0.1
port = {ports.smsc}
connect-allow-ip = "127.0.0.1"
throughput = {throughput}

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {ports.smsbox}
sendsms-port = {ports.sendsms}
sendsms-interface = 127.0.0.1
log-file = "{directory}/smsbox.log"
log-level = 1
http-request-retry = 10
http-queue-delay = 1

group = sendsms-user
username = "{username}"
password = "{password}"
default-sender = "{sender}"
concatenation = true
max-messages = 10

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{inbound_url}{parameters}"
"""


class Kannel:
    """One bearerbox and one smsbox on free local ports, their config and logs in `directory`."""

    def __init__(self, directory: Path, inbound_url: str, username: str = "siaga", password: str = "siaga",
                 sender: str = "1717", throughput: float = 100.0, ports: Ports | None = None):
        self.directory = Path(directory)
        self.inbound_url = inbound_url
        self.username, self.password = username, password
        self.sender, self.throughput = sender, throughput
        self.ports = ports or Ports()
        self.config = self.directory / "kannel.conf"
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def sendsms_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sendsms}/cgi-bin/sendsms"

    def write_config(self) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.config.write_text(CONFIG.format(
            ports=self.ports, directory=self.directory, admin_password=self.password, username=self.username,
            password=self.password, sender=self.sender, throughput=self.throughput,
            inbound_url=self.inbound_url, parameters=GET_URL_PARAMETERS))
        return self.config

    def start(self, timeout: float = 20.0) -> "Kannel":
        self.write_config()
        self.start_box("bearerbox", self.ports.smsbox, timeout)
        self.start_box("smsbox", self.ports.sendsms, timeout)
        return self

    def start_box(self, box: str, port: int, timeout: float = 20.0) -> None:
        """Start `box` and wait until it listens on `port` (bearerbox: for smsbox; smsbox: sendsms)."""
        path = binary(box)
        if path is None:
            raise RuntimeError(f"Kannel's {box} is not installed (apt-get install kannel)")
        out = open(self.directory / f"{box}.out", "ab")
        self.processes[box] = subprocess.Popen([path, str(self.config)], stdout=out, stderr=subprocess.STDOUT,
                                               start_new_session=True)
        wait_listening(port, timeout, self.processes[box], self.directory / f"{box}.log")

    def stop_box(self, box: str, grace: float = 10.0) -> None:
        process = self.processes.pop(box, None)
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def stop(self) -> None:
        for box in ("smsbox", "bearerbox"):
            self.stop_box(box)


def wait_listening(port: int, timeout: float, process: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with code {process.returncode}; see {log}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{process.args[0]} did not listen on {port} within {timeout}s; see {log}")
            time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siaga.kannel", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="var/kannel", help="where kannel.conf, the store and the logs go")
    parser.add_argument("--inbound-url", required=True, help="the bridge's /inbound URL, with its token")
    args = parser.parse_args(argv)
    kannel = Kannel(Path(args.dir).resolve(), args.inbound_url).start()
    print(f"Kannel running: sendsms {kannel.sendsms_url}, test SMSC port {kannel.ports.smsc}")
    try:
        signal.sigwait({signal.SIGINT, signal.SIGTERM})
    finally:
        kannel.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
