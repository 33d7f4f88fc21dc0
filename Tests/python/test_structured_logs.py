"""Structured logs (issue 12, part 5): with `--log-format json` every line a process writes is one
JSON object with time, level, logger and message; the startup configuration and each fault the
projector recovers from are logged with their figures.

The fault is a write node frozen (SIGSTOP) past the projector's silence timeout: the projector
resubscribes, and once the node runs again it logs the recovery's end with its duration.
"""

import json
import signal
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from lagexp import wire  # noqa: E402
from lagexp.system import System, Topology, cleanup_all  # noqa: E402
from conftest import bin_dir, require_binaries  # noqa: E402

DEADLINE_S = 30.0


def records(path: Path) -> list[dict]:
    """Every log line of a process as JSON (the harness's own `=== start` lines aside)."""
    lines = [line for line in path.read_text(errors="replace").splitlines() if line and not line.startswith("=== start")]
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"{path.name}: a line that is not JSON: {line!r}")
    return parsed


def wait_for_record(path: Path, predicate, what: str) -> dict:
    found = wire.wait_until(lambda: next((r for r in records(path) if predicate(r)), None), DEADLINE_S)
    if not found:
        pytest.fail(f"no {what} in {path.name} within {DEADLINE_S:.0f} s:\n{path.read_text(errors='replace')[-3000:]}")
    return found


@pytest.fixture
def system(tmp_path):
    require_binaries()
    system = System(REPO / "Procfile", bin_dir(), tmp_path, Topology.local(["status"]), ["status"])
    system.processes["write-node"].argv += ["--log-format", "json"]
    system.processes["status"].argv += ["--log-format", "json", "--silence-timeout-ms", "400"]
    yield system
    system.stop()
    cleanup_all()


def test_json_lines_carry_the_configuration_and_the_recoveries(system):
    system.start()
    writer_log = system.processes["write-node"].log_path
    projector_log = system.processes["status"].log_path

    serving = wait_for_record(writer_log, lambda r: r.get("message") == "write node serving", "startup record")
    assert serving["logger"] == "prism.write-node" and serving["level"] == "info"
    assert serving["endpoint.command"].startswith("tcp://")
    assert serving["store.directory"] and serving["durability"].startswith("fdatasync")
    assert serving["security"].startswith("none")
    assert serving["time"].endswith("Z") and "T" in serving["time"]

    starting = wait_for_record(projector_log, lambda r: r.get("message") == "projector starting", "startup record")
    assert starting["store"] == "embedded" and starting["projector.name"] == "status"
    assert starting["endpoint.publish"] and starting["endpoint.catchUp"] and starting["data.directory"]
    wait_for_record(projector_log, lambda r: r.get("message") == "caught up" and r.get("recovery") == "start",
                    "the start's catch-up record")

    writer = system.processes["write-node"]
    writer.signal(signal.SIGSTOP)
    try:
        silence = wait_for_record(projector_log, lambda r: r.get("recovery") == "silence", "resubscription record")
        assert silence["level"] == "notice" and int(silence["silent.ms"]) > 400
    finally:
        writer.signal(signal.SIGCONT)
    recovered = wait_for_record(
        projector_log, lambda r: r.get("message") == "recovered: caught up" and r.get("recovery") == "silence",
        "recovery record")
    assert int(recovered["catchUp.ms"]) >= 0 and "feed.position" in recovered

    for path in (writer_log, projector_log):
        for record in records(path):
            assert {"time", "level", "logger", "message"} <= record.keys(), record
