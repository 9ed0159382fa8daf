"""Kannel, the open-source SMS gateway, run for Siaga: a config written for one bearerbox and one smsbox.

    python -m siaga.kannel --dir var/kannel --inbound-url "http://127.0.0.1:13080/inbound?token=..."

bearerbox talks to the SMS centre (here Kannel's own test SMSC, `fakesmsc` from kannel-extras, which
plays the operator's side over Kannel's `fake` protocol); smsbox offers `sendsms` over HTTP, which the
bridge (`siaga.kannel_bridge`) submits to, and hands every inbound SMS to the bridge's `/inbound`
through a catch-all `sms-service` that never answers by SMS itself. Its store file keeps what
bearerbox accepted across a restart of Kannel. Only what this module started is ever stopped.

`KannelGateway` is the demo's gateway where Kannel is installed: both boxes, the test SMSC (whose
officers answer their assignments "OK <number>", as the simulator's do) and the bridge as a process.
"""
from __future__ import annotations

import argparse
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from shared.config import PROJECT_ROOT
from shared.embedded_db import free_port
from siaga.kannel_bridge import GET_URL_PARAMETERS, inbound_url

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
    """The boxes and the test SMSC (kannel, kannel-extras): what the demo and the tests run."""
    return all(binary(name) for name in ("bearerbox", "smsbox", "fakesmsc"))


@dataclass
class Ports:
    admin: int = field(default_factory=free_port)
    smsbox: int = field(default_factory=free_port)  # bearerbox ↔ smsbox
    smsc: int = field(default_factory=free_port)  # bearerbox ↔ fakesmsc
    sendsms: int = field(default_factory=free_port)


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
http-request-retry = 300
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
        try:
            self.start_box("bearerbox", self.ports.smsbox, timeout)
            self.start_box("smsbox", self.ports.sendsms, timeout)
        except BaseException:
            self.stop()  # a failed start leaves no box running
            raise
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


GOT = re.compile(r"Got message \d+: <(\S+) (\S+) (\S+) (.*)>$")
SENT = re.compile(r"fakesmsc: sent message \d+")
ASSIGNMENT = re.compile(r"^SIAGA P\d #([0-9A-Z]{3,12}) .*Balas")  # notify's officer_assignment text


def shown_text(kind: str, data: str) -> str:
    """fakesmsc prints a UCS-2 SMS as URL-encoded UTF-16BE and an 8-bit one URL-encoded."""
    if kind not in ("ucs-2", "ucs2", "data"):
        return data
    raw = urllib.parse.unquote_to_bytes(data.replace("+", "%20"))
    return raw.decode("latin-1" if kind == "data" else "utf-16-be", "replace")


class TestSmsc:
    """Kannel's fakesmsc, interactive, as the operator's SMS centre: it reports every SMS Kannel hands
    it as delivered; `received` is what it got, `send` types an SMS from a phone. With `auto_reply`
    ("OK {number}") the officer of an assignment SMS answers it after `reply_delay` seconds."""

    __test__ = False  # not a pytest class

    def __init__(self, port: int, number: str = "1717", auto_reply: str | None = None, reply_delay: float = 1.0):
        self.number, self.auto_reply, self.reply_delay = number, auto_reply, reply_delay
        self.process = subprocess.Popen(
            [binary("fakesmsc"), "-H", "127.0.0.1", "-r", str(port), "-i", "0.01"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True)
        self.received: list[tuple[str, str]] = []  # (to, text)
        self.connected = threading.Event()
        self.lock = threading.Lock()  # one SMS typed at a time
        self.sent = threading.Condition()
        self.sent_count = 0
        threading.Thread(target=self._read, name="test-smsc", daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            if "Connecting to" in line:
                self.connected.set()
            if SENT.search(line):
                with self.sent:
                    self.sent_count += 1
                    self.sent.notify_all()
            got = GOT.search(line.rstrip("\n"))
            if got:
                to, text = got.group(2), shown_text(got.group(3), got.group(4))
                self.received.append((to, text))
                assignment = ASSIGNMENT.match(text)
                if self.auto_reply and assignment:
                    reply = self.auto_reply.format(number=assignment.group(1))
                    threading.Timer(self.reply_delay, self.send, (to, reply)).start()

    def sms_to(self, phone: str) -> list[str]:
        return [text for to, text in self.received if to == phone]

    def send(self, sender: str, text: str, timeout: float = 10.0) -> None:
        """An SMS from `sender`'s phone to the gateway's number. fakesmsc takes one line at a time: a
        second line already in the pipe waits unread until a third arrives, so each waits for the last
        to be sent."""
        with self.lock:
            if self.process.poll() is not None:
                return
            with self.sent:
                before = self.sent_count
                self.process.stdin.write(f"{sender} {self.number} text {text}\n")
                self.process.stdin.flush()
                if not self.sent.wait_for(lambda: self.sent_count > before, timeout):
                    raise RuntimeError(f"the test SMSC did not send {text!r} within {timeout}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)


class KannelGateway:
    """Kannel, its test SMSC and the bridge (`python -m siaga.kannel_bridge`, returned by `start` for the
    caller to watch and stop like its other processes), files and logs in `directory`."""

    def __init__(self, directory: Path, log: Path, auto_reply: str | None = None):
        self.directory = Path(directory)
        self.log = log
        self.auto_reply = auto_reply
        self.kannel: Kannel | None = None
        self.smsc: TestSmsc | None = None

    def start(self, env: dict[str, str]) -> subprocess.Popen:
        """`env`: the bridge's environment (AMQP_URI as the sms-gateway party); Kannel's part is added here."""
        self.directory.mkdir(parents=True, exist_ok=True)
        for name in ("bridge.sqlite3", "bridge.sqlite3-wal", "bridge.sqlite3-shm"):  # a fresh fence for a fresh run
            (self.directory / name).unlink(missing_ok=True)
        ports, secret, password = Ports(), secrets.token_hex(32), secrets.token_hex(12)
        address = f"127.0.0.1:{free_port()}"
        self.kannel = Kannel(self.directory, inbound_url(f"http://{address}", secret.encode()),
                             password=password, ports=ports)
        self.kannel.start()
        self.smsc = TestSmsc(ports.smsc, auto_reply=self.auto_reply)
        env = env | {"KANNEL_SENDSMS_URL": self.kannel.sendsms_url, "KANNEL_PASSWORD": password,
                     "KANNEL_BRIDGE_ADDRESS": address, "KANNEL_BRIDGE_SECRET": secret,
                     "KANNEL_BRIDGE_STATE": str(self.directory / "bridge.sqlite3")}
        return subprocess.Popen([sys.executable, "-m", "siaga.kannel_bridge"], cwd=PROJECT_ROOT, env=env,
                                stdout=open(self.log, "ab"), stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.smsc:
            self.smsc.stop()
        if self.kannel:
            self.kannel.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m siaga.kannel", description=__doc__.split("\n")[0])
    parser.add_argument("--dir", default="var/kannel", help="where kannel.conf, the store and the logs go")
    parser.add_argument("--inbound-url", required=True,
                        help="the bridge's /inbound URL with its token (--print-get-url without the %%-parameters)")
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
