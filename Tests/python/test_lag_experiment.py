"""The lag experiment end to end, short: it must launch the Procfile's system, survive a killed
projector, prove nothing was lost (applied == head == the highest acknowledged position, digests
equal a rebuild) and write its outputs.

Binaries come from `$PRISM_BIN_DIR`, else `<repo>/.build/debug` (what `scripts/test` builds).
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "lag-experiment"
TIMEOUT_S = 120


def bin_dir() -> Path:
    return Path(os.environ.get("PRISM_BIN_DIR") or REPO / ".build" / "debug")


def run_experiment(tmp_path: Path, *extra: str) -> tuple[Path, dict, str]:
    if not (bin_dir() / "write-node").exists():
        pytest.fail(f"{bin_dir()}/write-node does not exist: build it (swift build) or set PRISM_BIN_DIR")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--bin-dir", str(bin_dir()), "--rates", "200", "--duration", "3",
         "--results-dir", str(tmp_path), *extra],
        capture_output=True, text=True, timeout=TIMEOUT_S)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-4000:]}"
    lines = proc.stdout.strip().splitlines()
    assert lines, proc.stderr
    folder = Path(lines[-1])
    assert folder.is_dir() and folder.parent == tmp_path, lines[-1]
    summary = json.loads((folder / "summary.json").read_text())
    return folder, summary, proc.stderr


def assert_lag_stages(run: dict, stderr: str) -> None:
    """Each model's lag breakdown is in summary.json and the printed table: no stage negative,
    and the stages' means add up to the mean lag of the same (live) events."""
    for name, entry in run["projectors"].items():
        stages = entry["lagStagesUs"]
        assert set(stages) == {"network", "beforePoll", "queue", "apply", "commit", "total"}, stages
        for stage, figures in stages.items():
            assert figures is not None and min(figures.values()) >= 0, (name, stage, stages)
        parts = sum(stages[s]["mean"] for s in ["network", "queue", "apply", "commit"])
        assert abs(parts - stages["total"]["mean"]) <= 5, (name, stages)
        assert stages["beforePoll"]["mean"] <= stages["network"]["mean"], (name, stages)
        assert f"| {name} |" in stderr
    write = run["writeNodeStages"]
    assert all(write[stage]["p50"] >= 0 for stage in ["syncWait", "sync", "publish"]), write


def test_local_run_with_a_killed_projector(tmp_path):
    folder, summary, stderr = run_experiment(tmp_path, "--projectors", "status,orders", "--fault", "kill:status@1")
    [run] = summary["runs"]
    assert "error" not in run, run.get("error")
    assert run["checks"]["allApplied"] is True, run["checks"]
    assert run["checks"]["digestsEqual"] is True, run["checks"]
    # Constant arrivals: exactly 3 s × 200/s commands, one event each, after 1000 registrations.
    assert run["load"]["commands"] == run["load"]["completed"] == 600
    assert run["load"]["acknowledged"] == {"commands": 600, "highestPosition": 1600}
    assert run["checks"]["head"] == 1600
    assert run["checks"]["acknowledged"]["allReached"] is True, run["checks"]
    assert run["checks"]["zeroEventsLost"] is True, run["checks"]
    assert set(run["projectors"]) == {"status", "orders"}
    assert run["projectors"]["status"]["starts"] == 2
    assert run["projectors"]["orders"]["lagUs"]["count"] > 0
    assert_lag_stages(run, stderr)

    [fault] = run["faults"]
    assert fault["spec"] == "kill:status@1" and fault["error"] is None
    catch_up = fault["projectors"]["status"]
    assert catch_up["caughtUp"] is True, fault
    assert catch_up["catchUpS"] is not None and catch_up["catchUpS"] >= 0
    assert catch_up["maxLagUs"] and catch_up["maxLagUs"] > 0
    assert catch_up["catchUpEventsPerS"] is not None

    csv = (folder / run["timeseries"]).read_text().splitlines()
    assert csv[0].startswith("time_s,process,applied,head,behind")
    assert sum(1 for line in csv if ",status," in line) >= 20  # ≥ 3 s at one sample per 100 ms
    assert (folder / f"lag-over-time-{run['id']}.png").stat().st_size > 1000
    assert (folder / f"latency-cdf-{run['id']}.png").exists()


def test_secure_run_with_a_killed_projector(tmp_path):
    """`--secure`: keys made for the run, every process and client on CURVE, the same checks pass."""
    folder, summary, _ = run_experiment(tmp_path, "--secure", "--projectors", "status", "--fault", "kill:status@1")
    [run] = summary["runs"]
    assert "error" not in run, run.get("error")
    assert summary["options"]["secure"] is True
    assert run["checks"]["zeroEventsLost"] is True and run["checks"]["digestsEqual"] is True, run["checks"]
    assert run["projectors"]["status"]["starts"] == 2
    assert (folder / "keys" / "write-node.key").stat().st_mode & 0o077 == 0
    logs = folder / run["id"] / "logs"
    assert "security=CURVE" in (logs / "write-node.log").read_text()
    assert "authorized keys loaded" in (logs / "status-projector.log").read_text()


def _netns_works() -> bool:
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    name = f"lagexp-probe-{os.getpid()}"
    try:
        if subprocess.run(["ip", "netns", "add", name], capture_output=True, timeout=10).returncode != 0:
            return False
        return True
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, timeout=10)


@pytest.mark.skipif(not _netns_works(), reason="needs root and a working `ip netns`")
def test_netns_run_with_delay_and_loss(tmp_path):
    folder, summary, stderr = run_experiment(tmp_path, "--mode", "netns", "--delay-ms", "5", "--loss-percent", "2",
                                             "--projectors", "status")
    [run] = summary["runs"]
    assert "error" not in run, run.get("error")
    assert run["network"]["delayMs"] == 5 and run["network"]["lossPercent"] == 2
    assert run["checks"]["allApplied"] is True, run["checks"]
    assert run["checks"]["acknowledged"]["allReached"] is True, run["checks"]
    assert run["checks"]["digestsEqual"] is True, run["checks"]
    # Every event crosses the delayed link: the lag cannot be below the injected one-way delay.
    assert run["projectors"]["status"]["lagUs"]["p50"] >= 5000
    assert (folder / f"lag-over-time-{run['id']}.png").exists()
