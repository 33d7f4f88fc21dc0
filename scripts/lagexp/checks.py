"""The post-run checks: nothing lost (every projector applied the head, and the head covers the
highest position `prism load` was acknowledged) and every read model equals a fresh rebuild from
position 0 (same `digest`).

Runs after the load stopped. Each wait is bounded; a check that cannot complete is reported false
with the reason, never hangs.
"""

from __future__ import annotations

import time

from . import stores, wire
from .system import Process, System

APPLY_DEADLINE_S = 60.0


def wait_applied(endpoint: str, head: int, deadline_s: float) -> int | None:
    """Polls `health` until applied ≥ head; returns the last applied seen (None: never answered)."""
    deadline = time.monotonic() + deadline_s
    applied = None
    while True:
        health = wire.result(endpoint, "health", timeout_ms=1000)
        if health is not None:
            applied = int(health.get("applied", 0))
            if applied >= head:
                return applied
        if time.monotonic() >= deadline:
            return applied
        time.sleep(0.05)


def wait_quiet_head(endpoint: str, deadline_s: float, quiet_s: float = 1.0) -> int | None:
    """The write node's head once it has not moved for `quiet_s` (bounded by `deadline_s`)."""
    deadline = time.monotonic() + deadline_s
    head, since = None, time.monotonic()
    while time.monotonic() < deadline:
        now_head = wire.writer_head(endpoint, timeout_ms=1000)
        if now_head is not None and now_head == head:
            if time.monotonic() - since >= quiet_s:
                return head
        else:
            head, since = now_head, time.monotonic()
        time.sleep(0.1)
    return head


def acknowledged(load_report: dict, head: int | None, projectors: dict) -> dict:
    """Each model against what clients were told is durable: the highest position `prism load` was
    acknowledged must be in the log (the head covers it) and applied by every projector. A head or
    an `applied` that merely agree with each other would also pass if acknowledged events vanished."""
    ack = load_report.get("acknowledged") or {}
    highest = ack.get("highestPosition")
    reached = {name: highest is not None and p.get("applied") is not None and p["applied"] >= highest
               for name, p in projectors.items()}
    head_covers = highest is not None and head is not None and head >= highest
    return {"commands": ack.get("commands"), "highestPosition": highest, "headCovers": head_covers,
            "reached": reached, "allReached": head_covers and all(reached.values())}


def run(system: System, rebuild: bool = True, deadline_s: float = APPLY_DEADLINE_S, on_applied=None) -> dict:
    """`on_applied` is called once every projector caught up (or gave up), before the rebuilds."""
    topo = system.topology
    out: dict = {"head": None, "projectors": {}, "allApplied": False, "digestsEqual": False, "notes": []}
    # An overloaded write node still holds queued commands after `prism load` gave up on them: the
    # head only means "everything" once it stops moving.
    head = wait_quiet_head(topo.command, deadline_s)
    out["head"] = head
    if head is None:
        out["notes"].append("the write node did not answer health after the load")
        return out
    deadline = time.monotonic() + deadline_s
    for name in system.projectors:
        applied = wait_applied(topo.query[name], head, max(1.0, deadline - time.monotonic()))
        digest = wire.result(topo.query[name], "digest", timeout_ms=30000)
        out["projectors"][name] = {"applied": applied, "digest": digest and digest.get("digest")}
    final_head = wire.writer_head(topo.command, timeout_ms=2000)
    if final_head != head:
        out["notes"].append(f"the write node's head moved from {head} to {final_head} during the checks")
    out["allApplied"] = all(p["applied"] == head for p in out["projectors"].values()) and final_head == head
    if on_applied is not None:
        on_applied()
    if not rebuild:
        return out
    rebuilt = _rebuild(system, head, deadline_s, out["notes"])
    for name, digest in rebuilt.items():
        out["projectors"][name]["rebuildDigest"] = digest
        out["projectors"][name]["digestEqual"] = digest is not None and digest == out["projectors"][name]["digest"]
    out["digestsEqual"] = bool(rebuilt) and all(p.get("digestEqual") for p in out["projectors"].values())
    return out


def _rebuild(system: System, head: int, deadline_s: float, notes: list[str]) -> dict[str, str | None]:
    """Starts every projector again with `--rebuild` on a fresh data dir (all at once), waits for the
    head, reads their digests, stops them."""
    topo = system.topology
    procs: dict[str, Process] = {}
    digests: dict[str, str | None] = {}
    try:
        for name in system.projectors:
            data = system.run_dir / "data" / f"{name}-projector-rebuild"
            argv = system.projector_argv(name, data, topo.rebuild_query_bind[name], extra=["--rebuild"],
                                         store_prefix=stores.REBUILD_PREFIX)
            proc = Process(f"{name}-rebuild", topo.hosts.get(name), argv,
                           system.run_dir / "logs" / f"{name}-projector-rebuild.log", system.launch)
            proc.start()
            procs[name] = proc
        for name, proc in procs.items():
            applied = wait_applied(topo.rebuild_query[name], head, deadline_s)
            if applied != head:
                notes.append(f"{name} rebuild reached {applied} of {head}: {proc.log_tail(5)}")
                digests[name] = None
                continue
            result = wire.result(topo.rebuild_query[name], "digest", timeout_ms=30000)
            digests[name] = result and result.get("digest")
    finally:
        for proc in procs.values():
            proc.stop()
    return digests
