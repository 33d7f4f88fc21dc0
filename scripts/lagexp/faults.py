"""Fault injection on a schedule relative to the load start, and the catch-up figures of each fault.

Specs (repeatable `--fault`):
  kill:NAME@T[+D]     SIGKILL projector NAME at T s, restart it D s later (default 1) on the same data
  stop:NAME@T+D       SIGSTOP NAME at T for D s, then SIGCONT
  restart-writer@T    SIGTERM the write node, start it again on the same store (every projector affected)
  cut:NAME@T+D        netns only: take NAME's link down for D s

The fault "ends" when the process is back (restarted and answering health, SIGCONT sent, link up).
Catch-up is measured from that end until the projector's applied position reaches the write node's
head at that moment — the backlog the fault created — on the 100 ms samples.
"""

from __future__ import annotations

import re
import signal
import threading
import time
from dataclasses import dataclass, field

from . import wire

_SPEC = re.compile(r"^(?P<kind>kill|stop|cut|restart-writer)(?::(?P<target>[\w-]+))?@(?P<at>[\d.]+)(?:\+(?P<dur>[\d.]+))?$")
DEFAULT_DURATION = {"kill": 1.0, "stop": 3.0, "cut": 2.0, "restart-writer": 0.0}


@dataclass
class Fault:
    spec: str
    kind: str
    target: str | None
    at: float
    duration: float
    started: float | None = None  # monotonic
    ended: float | None = None  # monotonic
    head_at_end: int | None = None
    error: str | None = None
    notes: list[str] = field(default_factory=list)

    def affected(self, projectors: list[str]) -> list[str]:
        return list(projectors) if self.kind == "restart-writer" else [self.target]


def parse(spec: str, projectors: list[str], mode: str) -> Fault:
    m = _SPEC.match(spec.strip())
    if not m:
        raise ValueError(f"bad --fault {spec!r}: expected kill:NAME@T[+D], stop:NAME@T+D, restart-writer@T or cut:NAME@T+D")
    kind, target = m["kind"], m["target"]
    if kind == "restart-writer":
        if target:
            raise ValueError(f"bad --fault {spec!r}: restart-writer takes no target")
    elif target not in projectors:
        raise ValueError(f"bad --fault {spec!r}: {target!r} is not one of the projectors ({', '.join(projectors)})")
    if kind == "cut" and mode != "netns":
        raise ValueError(f"--fault {spec!r} needs --mode netns (it cuts a namespace's link)")
    duration = float(m["dur"]) if m["dur"] else DEFAULT_DURATION[kind]
    return Fault(spec, kind, target, float(m["at"]), duration)


class FaultRunner(threading.Thread):
    """Executes every fault at t0 + at, each on its own thread so overlapping faults overlap as
    scheduled; every action is bounded, errors are recorded in the fault, not raised."""

    def __init__(self, faults: list[Fault], system, t0: float, network=None):
        super().__init__(name="faults", daemon=True)
        self.faults, self.system, self.t0, self.network = sorted(faults, key=lambda f: f.at), system, t0, network
        self._cancel = threading.Event()

    def cancel(self) -> None:
        self._cancel.set()

    def run(self) -> None:
        threads = [threading.Thread(target=self._one, args=(f,), name=f"fault {f.spec}", daemon=True)
                   for f in self.faults]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _one(self, fault: Fault) -> None:
        if self._cancel.wait(max(0.0, self.t0 + fault.at - time.monotonic())):
            return
        try:
            self._inject(fault)
        except Exception as error:  # the run goes on; the summary says what failed
            fault.error = f"{type(error).__name__}: {error}"
            if fault.ended is None:
                fault.ended = time.monotonic()
        fault.head_at_end = wire.writer_head(self.system.topology.command, timeout_ms=500)

    def _sleep(self, seconds: float) -> None:
        self._cancel.wait(seconds)

    def _inject(self, fault: Fault) -> None:
        fault.started = time.monotonic()
        if fault.kind == "kill":
            proc = self.system.processes[fault.target]
            proc.kill()
            self._sleep(fault.duration)
            proc.start()
            fault.ended = time.monotonic()  # running again; catch-up time includes its own start-up
            self.system.wait_ready(fault.target)
            fault.notes.append(f"answering again {time.monotonic() - fault.ended:.3f} s after the restart")
        elif fault.kind == "stop":
            proc = self.system.processes[fault.target]
            proc.signal(signal.SIGSTOP)
            self._sleep(fault.duration)
            proc.signal(signal.SIGCONT)
            fault.ended = time.monotonic()
        elif fault.kind == "cut":
            host = self.system.topology.hosts.get(fault.target)
            self.network.cut(host, True)
            self._sleep(fault.duration)
            self.network.cut(host, False)
            fault.ended = time.monotonic()
        elif fault.kind == "restart-writer":
            code = self.system.writer.stop()
            fault.notes.append(f"write node stopped with exit status {code}")
            self._sleep(fault.duration)
            self.system.writer.start()
            self.system.wait_ready("write-node")
            fault.ended = time.monotonic()


def analyze(fault: Fault, rows: list[dict], t0: float, projectors: list[str]) -> dict:
    """The fault's summary entry: per affected projector max lag, backlog, catch-up time and speed."""
    entry = {"spec": fault.spec, "kind": fault.kind, "target": fault.target, "at": fault.at, "duration": fault.duration,
             "startedAt": _rel(fault.started, t0), "endedAt": _rel(fault.ended, t0), "headAtEnd": fault.head_at_end,
             "error": fault.error, "notes": fault.notes, "projectors": {}}
    if fault.started is None or fault.ended is None:
        return entry
    for name in fault.affected(projectors):
        mine = [r for r in rows if r["process"] == name and r["answered"]]
        entry["projectors"][name] = _catch_up(fault, mine, t0)
    return entry


def _catch_up(fault: Fault, rows: list[dict], t0: float) -> dict:
    end, target = fault.ended, fault.head_at_end
    before = [r for r in rows if r["t"] <= end and r["t"] >= fault.started - 0.5]
    after = [r for r in rows if r["t"] >= end]
    if fault.kind == "kill" and after:
        # A restarted process resumes from its stored checkpoint (from 0 for a read model kept only in
        # memory): its first answer is where its catch-up starts, not the position it was killed at.
        applied_at_end = after[0]["applied"]
    else:
        applied_at_end = before[-1]["applied"] if before else (after[0]["applied"] if after else None)
    caught = next((r for r in after if target is not None and r["applied"] >= target), None)
    threshold = 0 if not after else max(2, int(0.01 * max(r["head"] for r in after)))
    zero = next((r for r in after if r["behind"] <= threshold), None) if after else None
    horizon = (caught["t"] if caught else (after[-1]["t"] if after else end)) + 1.0
    window = [r for r in rows if fault.started <= r["t"] <= horizon]
    lags = [r["max"] for r in window if r["max"] is not None]
    behinds = [r["behind"] for r in window if r["behind"] is not None]
    out = {
        "appliedAtFaultEnd": applied_at_end,
        "backlogAtFaultEnd": (target - applied_at_end) if target is not None and applied_at_end is not None else None,
        "caughtUp": caught is not None,
        "catchUpS": round(caught["t"] - end, 3) if caught else None,
        "timeToZeroBehindS": round(zero["t"] - end, 3) if zero else None,
        "maxLagUs": max(lags) if lags else None,
        "maxBehind": max(behinds) if behinds else None,
        "catchUpEventsPerS": None,
    }
    if caught and applied_at_end is not None:
        # At least one sample interval: the catch-up happened somewhere inside it.
        seconds = max(caught["t"] - end, 0.1)
        out["catchUpEventsPerS"] = round((caught["applied"] - applied_at_end) / seconds, 1)
    return out


def _rel(t: float | None, t0: float) -> float | None:
    return None if t is None else round(t - t0, 3)
