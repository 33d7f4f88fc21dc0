"""The bound a hostile client must not break, measured with real processes.

`measure` runs one attack (`hostile.attacks`, its own process) beside the well-behaved client: first the
client's unloaded median, then its median while the attack runs, and every Prism process's RSS
before, at its peak during, and at the end of the attack (sampled every 100 ms, the attacker still
connected). It passes when every request of the client succeeded, the attacked median is within
`MEDIAN_FACTOR` × the unloaded one, no process's RSS (peak or end) rose more than `RSS_BOUND_MB`,
and every projector reaches the write node's head afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable

import zmq

from lagexp import keys, procstat, wire
from lagexp.system import System, Topology, _registry, cleanup_all, stop_popen
from .well_behaved import Rounds, WellBehavedClient

REPO = Path(__file__).resolve().parents[2]
PROJECTORS = ["orders", "search", "status", "history"]
MEDIAN_FACTOR = 3.0
RSS_BOUND_MB = 50.0
UNLOADED_S = 2.5
ATTACK_DEADLINE_S = 900.0


def start_system(bin_dir: Path, run_dir: Path, secure_mode: bool = False) -> System:
    """The Procfile's write node and four projectors on free ports, data under `run_dir`; in secure mode
    with a system's keys (`lagexp.keys`) in `run_dir/keys`, the harness's own requests made as `reader`."""
    directory = run_dir / "keys" if secure_mode else None
    if directory:
        keys.generate_system(bin_dir / "prism", directory)
    system = System(REPO / "Procfile", bin_dir, run_dir, Topology.local(PROJECTORS), PROJECTORS, keys_dir=directory)
    if directory:
        wire.secure(keys.ClientKeys.load(directory, "reader"), system.topology.server_keys())
    system.start()
    return system


def stop_system(system: System) -> dict[str, int | None]:
    """Stops every process, and the harness's requests go back to plain text."""
    codes = system.stop()
    cleanup_all()
    wire.secure(None, {})
    return codes


def keys_dir(system: System) -> Path | None:
    return Path(system.key_args[1]) if system.key_args else None


def curve_client(system: System) -> Callable[[zmq.Socket, str], None] | None:
    """In secure mode, what makes a socket the well-behaved client: `writer` on the command endpoint,
    `reader` on the query endpoints, each trusting the server behind it."""
    directory = keys_dir(system)
    if directory is None:
        return None
    servers = system.topology.server_keys()
    writer, reader = keys.ClientKeys.load(directory, "writer"), keys.ClientKeys.load(directory, "reader")
    return lambda sock, endpoint: (writer if endpoint == system.topology.command else reader).apply(sock, servers[endpoint])


def endpoints(system: System) -> dict:
    """What an attacker is told: every endpoint, and in secure mode each one's server public key."""
    t = system.topology
    out = {"command": t.command, "publish": t.publish_bind, "catchUp": t.catch_up_bind, "queries": dict(t.query)}
    directory = keys_dir(system)
    if directory:
        reader = keys.ClientKeys.load(directory, "reader")
        servers = {**t.server_keys(), t.publish_bind: keys.WRITE_NODE, t.catch_up_bind: keys.WRITE_NODE}
        out["serverKeys"] = {endpoint: reader.server_key(name) for endpoint, name in servers.items()}
    return out


def rss_mb(system: System) -> dict[str, float | None]:
    return {name: (None if (kb := procstat.rss_kb(pid)) is None else round(kb / 1024, 1)) if pid else None
            for name, pid in system.pids().items()}


class RssSampler:
    """Every process's highest RSS while it runs, sampled every 100 ms on a thread of its own."""

    def __init__(self, system: System):
        self.system, self.peak = system, rss_mb(system)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            for name, mb in rss_mb(self.system).items():
                if mb is not None and (self.peak.get(name) is None or mb > self.peak[name]):
                    self.peak[name] = mb

    def stop(self) -> dict[str, float | None]:
        self._stop.set()
        self._thread.join()
        return self.peak


class Attacker:
    """One `python3 -m hostile.attacks` process, driven through the ready / go / done steps."""

    def __init__(self, name: str, system: System, scale: str, log_path: Path):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "scripts"), os.environ.get("PYTHONPATH", "")])}
        # Niced: the attacker shares the test machine's cores with the system; a remote attacker would
        # not take the server's CPU, so neither may this one (its traffic is what is measured).
        self.log = open(log_path, "wb")
        self.popen = subprocess.Popen(
            ["nice", "-n", "10", sys.executable, "-m", "hostile.attacks", name, "--endpoints", json.dumps(endpoints(system)),
             "--scale", scale], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, env=env, text=True)
        _registry.add(self.popen)
        self.counts: dict | None = None
        self.done = threading.Event()

    def expect(self, word: str) -> str:
        line = self.popen.stdout.readline()
        if not line.startswith(word):
            self.popen.wait(5)
            raise RuntimeError(f"attacker said {line!r}, expected {word!r}: {Path(self.log.name).read_text()[-3000:]}")
        return line

    def go(self) -> None:
        self.popen.stdin.write("go\n")
        self.popen.stdin.flush()
        threading.Thread(target=self._wait_done, daemon=True).start()

    def _wait_done(self) -> None:
        try:
            self.counts = json.loads(self.expect("done").removeprefix("done "))
        except (RuntimeError, ValueError) as error:
            self.counts = {"error": str(error)}
        self.done.set()

    def stop(self) -> None:
        try:
            self.popen.stdin.close()
        except OSError:
            pass
        stop_popen(self.popen, deadline_s=10)
        self.log.close()


def measure(system: System, attack: str, scale: str, log_dir: Path) -> dict:
    """One attack under the bound; the result says what was measured and whether it `passed`."""
    context = zmq.Context()
    client = WellBehavedClient(context, system.topology.command, dict(system.topology.query), curve_client(system))
    attacker = Attacker(attack, system, scale, log_dir / f"attack-{attack}.log")
    try:
        client.register()
        attacker.expect("ready")
        client.run(0.5)  # warm-up: connections made, caches filled
        unloaded = client.run(UNLOADED_S)
        before = rss_mb(system)
        sampler = RssSampler(system)
        attacker.go()
        deadline = time.monotonic() + ATTACK_DEADLINE_S
        attacked = Rounds()
        while not attacker.done.is_set() and time.monotonic() < deadline:
            client.round(attacked)
        while len(attacked.trips) + len(attacked.failures) < 20:
            client.round(attacked)
        end = rss_mb(system)
        peak = sampler.stop()
        attacker.stop()
        # Whatever PUB dropped for the attacker, every projector still reaches the head.
        head, applied = client.wait_applied()
    finally:
        attacker.stop()
        client.close()
        context.destroy(linger=0)
    alive = {name: pid is not None for name, pid in system.pids().items()}
    rss = rss_report(before, peak, end)
    result = {
        "attack": attack, "scale": scale, "attacker": attacker.counts,
        "unloaded": unloaded.summary(), "attacked": attacked.summary(),
        "medianRatio": None if not (unloaded.median and attacked.median) else round(attacked.median / unloaded.median, 2),
        "rss": rss, "alive": alive, "head": head, "applied": applied,
    }
    result["failures"] = failures(result)
    result["passed"] = not result["failures"]
    return result


def rss_report(before: dict, peak: dict, end: dict) -> dict:
    """Each process's RSS before, at its peak, at the end, and its rise (the larger of peak and end)."""
    return {name: {"beforeMb": before[name], "peakMb": peak[name], "endMb": end[name],
                   "riseMb": None if end[name] is None or before[name] is None else round(max(peak[name], end[name]) - before[name], 1)}
            for name in before}


def process_failures(result: dict) -> list[str]:
    """A process that died, or whose RSS rose past the bound."""
    out = []
    if not all(result["alive"].values()):
        out.append(f"processes died: {[n for n, a in result['alive'].items() if not a]}")
    for name, rss in result["rss"].items():
        if rss["riseMb"] is None or rss["riseMb"] > RSS_BOUND_MB:
            out.append(f"{name} RSS rose {rss['riseMb']} MB (before {rss['beforeMb']}, peak {rss['peakMb']}, end {rss['endMb']}; bound {RSS_BOUND_MB})")
    return out


def failures(result: dict) -> list[str]:
    """Why `result` breaks the bound (empty: it holds)."""
    out = process_failures(result)
    if result["head"] is None or any(a != result["head"] for a in result["applied"].values()):
        out.append(f"not every projector reached the head {result['head']} after the attack: {result['applied']}")
    if result["attacker"] is None or "error" in result["attacker"]:
        out.append(f"the attack did not finish: {result['attacker']}")
    for phase in ("unloaded", "attacked"):
        if result[phase]["failures"]:
            out.append(f"{phase}: {result[phase]['failures']} of the well-behaved client's requests failed: {result[phase]['firstFailures']}")
    if result["medianRatio"] is None or result["medianRatio"] > MEDIAN_FACTOR:
        out.append(f"median round trip {result['attacked']['medianMs']} ms under attack vs {result['unloaded']['medianMs']} ms unloaded "
                   f"(ratio {result['medianRatio']}, bound {MEDIAN_FACTOR})")
    return out
