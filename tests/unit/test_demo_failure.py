"""A demo that cannot start says what failed and where its traceback is, not a bare "timed out"."""
from __future__ import annotations

import siaga.demo


class StartTimesOut:
    def __init__(self, log_dir):
        self.log_dir = log_dir

    def start(self):
        raise TimeoutError("timed out")

    def stop(self):
        pass


def test_a_demo_that_cannot_start_names_the_error_and_keeps_its_traceback(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(siaga.demo, "System", lambda **_: StartTimesOut(tmp_path / "log"))
    monkeypatch.setattr(siaga.demo.signal, "signal", lambda *_: None)  # the demo's own, not pytest's

    assert siaga.demo.main(["--exit-after-demo"]) == 1

    printed = " ".join(capsys.readouterr().out.split())
    failure = tmp_path / "log" / "demo-failure.log"
    assert f"Siaga could not run the demo: TimeoutError: timed out (where: {failure};" in printed
    assert "in start" in failure.read_text() and failure.read_text().rstrip().endswith("TimeoutError: timed out")
