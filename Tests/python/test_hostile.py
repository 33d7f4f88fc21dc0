"""A bounded surface (issue 9): each hostile client runs beside a well-behaved one against a real
system (the Procfile's write node and four projectors); every request of the well-behaved client
must succeed with a median round trip within 3× of its unloaded value, and every process's RSS
must stay within 50 MB of where it started (scripts/hostile/bound.py).

Short runs here; `PRISM_HOSTILE_SCALE=full` (scripts/soak) runs each at the issue's strength.
Binaries come from `$PRISM_BIN_DIR`, else `<repo>/.build/debug`.
"""

import json
import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from hostile import bound  # noqa: E402
from lagexp import system as lagsystem  # noqa: E402

SCALE = os.environ.get("PRISM_HOSTILE_SCALE", "suite")


def bin_dir() -> Path:
    return Path(os.environ.get("PRISM_BIN_DIR") or REPO / ".build" / "debug")


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    if not (bin_dir() / "write-node").exists():
        pytest.fail(f"{bin_dir()}/write-node does not exist: build it (swift build) or set PRISM_BIN_DIR")
    running = bound.start_system(bin_dir(), tmp_path_factory.mktemp("hostile"))
    try:
        yield running
    finally:
        codes = running.stop()
        lagsystem.cleanup_all()
    assert all(code == 0 for code in codes.values()), codes


@pytest.mark.parametrize("attack", ["idle", "no-read", "connection-churn", "slow-subscriber", "query-flood", "whole-log", "max-size"])
def test_a_hostile_client_neither_starves_a_well_behaved_one_nor_grows_memory(system, attack, tmp_path):
    result = bound.measure(system, attack, SCALE, tmp_path)
    print(json.dumps(result, indent=1))
    assert result["passed"], "\n".join(result["failures"])
