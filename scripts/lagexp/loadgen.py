"""Runs `prism load` (open loop) against the write node and reads its JSON report.

`prism load` first registers `--users` users (not timed) and only then starts the timed phase; the
experiment's clock (t0, the origin of every time series and fault time) is the moment the write
node's head reaches the number of users, polled every 10 ms — on a fresh store that is the end of
registration, without parsing progress output.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Callable

from . import wire
from .system import _registry, local_launch, stop_popen


class Load:
    def __init__(self, bin_dir: Path, command_endpoint: str, probe_endpoints: dict[str, str], rate: float,
                 duration: float, arrivals: str, connections: int, users: int, size: int, log_path: Path,
                 host: str | None = None, launch: Callable = local_launch, visibility_sample: int = 100,
                 keys_dir: Path | None = None, identity: str = "admin"):
        self.argv = [str(bin_dir / "prism"), "load", "--json", "--progress", "--command-endpoint", command_endpoint,
                     "--rate", f"{rate:g}", "--duration", f"{duration:g}", "--arrivals", arrivals,
                     "--connections", str(connections), "--users", str(users), "--size", str(size),
                     "--visibility-sample", str(visibility_sample)]
        for name, endpoint in probe_endpoints.items():
            self.argv += ["--projector", f"{name}={endpoint}"]
        if not probe_endpoints:
            self.argv += ["--projector", "none"]
        if keys_dir:
            self.argv += ["--keys", str(keys_dir), "--identity", identity]
        self.command_endpoint, self.users, self.duration = command_endpoint, users, duration
        self.log_path, self.host, self.launch = log_path, host, launch
        self.popen: subprocess.Popen | None = None
        self.t0: float | None = None

    def start(self, registration_deadline_s: float = 120.0) -> float:
        """Starts the load and returns t0 (monotonic) once registration is over (bounded wait)."""
        self.stdout_path = self.log_path.with_suffix(".json")
        out, err = open(self.stdout_path, "wb"), open(self.log_path, "wb")
        self.popen = self.launch(self.host, self.argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL)
        out.close(), err.close()
        _registry.add(self.popen)
        deadline = time.monotonic() + registration_deadline_s
        while time.monotonic() < deadline and self.popen.poll() is None:
            head = wire.writer_head(self.command_endpoint, timeout_ms=200)
            if head is not None and head >= self.users:
                break
            time.sleep(0.01)
        self.t0 = time.monotonic() + 0.01  # prism load starts its clock 10 ms after registration
        return self.t0

    def wait(self, margin_s: float = 60.0) -> dict:
        """The report (the last JSON line on stdout); raises if the process hangs past duration + margin."""
        try:
            self.popen.wait(self.duration + margin_s)
        except subprocess.TimeoutExpired:
            stop_popen(self.popen)
            raise RuntimeError(f"prism load did not finish within {self.duration + margin_s:.0f} s")
        _registry.discard(self.popen)
        report = None
        for line in self.stdout_path.read_text(errors="replace").splitlines():
            line = line.strip()
            if line.startswith("{"):
                try:
                    report = json.loads(line)
                except ValueError:
                    pass
        if report is None:
            raise RuntimeError(f"prism load exited with {self.popen.returncode} without a JSON report:\n"
                               + self.log_path.read_text(errors="replace")[-2000:])
        report["exitStatus"] = self.popen.returncode
        return report

    def stop(self) -> None:
        if self.popen is not None:
            stop_popen(self.popen)


def command_errors(report: dict) -> int:
    """Errors on commands (not on visibility probes, which fail by design while a projector is down)."""
    return sum(v for k, v in (report.get("errors") or {}).items() if not k.startswith("probe:"))
