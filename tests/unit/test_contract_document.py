"""contract/asyncapi.yaml says exactly what the code validates with, and AsyncAPI's own parser accepts it."""
from __future__ import annotations

import copy
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from contract import generate
from shared import topology
from shared.contract import EVENT_TYPES, EventType

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_DIR = ROOT / "contract"


@pytest.fixture(scope="module")
def generated() -> dict:
    return generate.build_document()


@pytest.fixture(scope="module")
def committed() -> dict:
    return yaml.safe_load(generate.DOCUMENT_PATH.read_text(encoding="utf-8"))


def test_committed_document_is_what_the_code_generates(generated, committed):
    drift = generate.differences(generated, committed)
    assert not drift, (
        "contract/asyncapi.yaml differs from the code; run `python -m contract.generate` and commit:\n"
        + "\n".join(drift)
    )


@pytest.mark.parametrize("event_type", EVENT_TYPES.values(), ids=str)
def test_committed_payload_data_is_the_marshmallow_schema_the_code_validates_with(
        event_type: EventType, committed):
    payload = committed["components"]["messages"][event_type.name]["payload"]
    drift = generate.differences(generate.json_schema(event_type.schema), payload["properties"]["data"])
    assert not drift, f"{event_type.schema_class.__qualname__} and the document disagree:\n" + "\n".join(drift)
    assert payload["properties"]["type"] == {"type": "string", "const": event_type.name}
    assert "data" in payload["required"] and "type" in payload["required"]


def test_every_event_queue_the_topology_declares_has_a_receive_operation(committed):
    declared = {queue.name for queue in topology.all_queues(topology.siaga_service_classes())
                if queue.name.startswith("evt-")}
    documented = {operation["x-siaga-queue"] for operation in committed["operations"].values()
                  if operation["action"] == "receive"}
    assert documented == declared


def test_each_event_has_exactly_one_send_operation_on_its_publishers_exchange(committed):
    for event_type in EVENT_TYPES.values():
        senders = [op for op in committed["operations"].values()
                   if op["action"] == "send" and op["channel"]["$ref"] == f"#/channels/{event_type.name}"]
        assert [op["tags"] for op in senders] == [[{"name": event_type.publisher}]]
        exchange = committed["channels"][event_type.name]["bindings"]["amqp"]["exchange"]
        assert exchange["name"] == event_type.exchange


def test_drift_comparison_reports_a_changed_schema_by_its_path(generated):
    tampered = copy.deepcopy(generated)
    data = tampered["components"]["messages"]["sms_requested"]["payload"]["properties"]["data"]
    data["properties"]["to"]["pattern"] = ".*"
    del data["properties"]["segments"]

    drift = generate.differences(generated, tampered)

    prefix = "/components/messages/sms_requested/payload/properties/data/properties"
    assert drift == [
        f"{prefix}/segments: expected {{'minimum': 1, 'type': 'integer'}} != actual '<missing>'",
        f"{prefix}/to/pattern: expected '^\\\\+[1-9]\\\\d{{6,14}}$' != actual '.*'",
    ]


def test_check_exits_1_with_a_diff_when_the_file_on_disk_is_stale(tmp_path, monkeypatch, capsys):
    stale = tmp_path / "asyncapi.yaml"
    wanted = generate.render(generate.build_document())
    stale.write_text(wanted.replace("const: sms_requested", "const: sms_sent"))
    monkeypatch.setattr(generate, "DOCUMENT_PATH", stale)

    assert generate.main(["--check"]) == 1
    out, err = capsys.readouterr()
    changed = [line[0] + line[1:].strip() for line in out.splitlines()
               if line.startswith(("-", "+")) and "const:" in line]
    assert changed == ["-const: sms_sent", "+const: sms_requested"]
    assert "run `python -m contract.generate`" in err


def test_check_exits_0_when_the_file_on_disk_is_current(tmp_path, monkeypatch):
    current = tmp_path / "asyncapi.yaml"
    monkeypatch.setattr(generate, "DOCUMENT_PATH", current)
    assert generate.main([]) == 0
    assert generate.main(["--check"]) == 0


def test_official_asyncapi_parser_reports_no_errors():
    node = shutil.which("node")
    assert node, "node (20+) is needed to validate contract/asyncapi.yaml"
    if not (CONTRACT_DIR / "node_modules" / "@asyncapi" / "parser").is_dir():
        pytest.fail("contract/node_modules is missing: run `npm ci --prefix contract` first")

    result = subprocess.run([node, "contract/validate.mjs", "contract/asyncapi.yaml"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)

    errors = [line for line in result.stdout.splitlines() if line.startswith("error\t")]
    assert result.returncode == 0 and not errors, result.stdout + result.stderr
