"""Launches and stops one Prism system (write node + projectors) from the Procfile, and nothing else.

A `Topology` says where each process runs and which endpoints it binds and dials (loopback with free
ports locally, namespace addresses under netns); a `launch` function turns an argv into a Popen
(plain `subprocess.Popen` locally, `Network.popen` under netns). Every start waits for a `health`
answer with a deadline, every stop is bounded (SIGTERM, then SIGKILL), and every Popen is tracked
in a module registry so `cleanup_all()` can end them on any exit path.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import keys, procfile, stores, wire

READY_DEADLINE_S = 30.0
STOP_DEADLINE_S = 10.0

_registry: set[subprocess.Popen] = set()


def cleanup_all() -> None:
    """Ends every child still running (SIGCONT first: a SIGSTOPped process cannot act on SIGTERM)."""
    for proc in list(_registry):
        stop_popen(proc, deadline_s=3.0)


def stop_popen(proc: subprocess.Popen, deadline_s: float = STOP_DEADLINE_S) -> int | None:
    if proc.poll() is None:
        for sig in (signal.SIGCONT, signal.SIGTERM):
            try:
                proc.send_signal(sig)
            except ProcessLookupError:
                pass
        try:
            proc.wait(deadline_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
    _registry.discard(proc)
    return proc.returncode


def local_launch(host: str | None, argv: list[str], **kw) -> subprocess.Popen:
    return subprocess.Popen(argv, **kw)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Topology:
    """Where each process runs and how everything reaches everything else.

    `*_bind` are what a process binds; the other endpoints are what a peer dials. `hosts` maps a
    process name to its netns host (None: the root namespace).
    """

    command_bind: str
    publish_bind: str
    catch_up_bind: str
    command: str  # the write node's command endpoint as the load generator and sampler dial it
    projector_publish: dict[str, str] = field(default_factory=dict)
    projector_catch_up: dict[str, str] = field(default_factory=dict)
    query_bind: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    hosts: dict[str, str | None] = field(default_factory=dict)
    rebuild_query_bind: dict[str, str] = field(default_factory=dict)  # the post-run rebuild's own query endpoint
    rebuild_query: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def local(projectors: list[str]) -> "Topology":
        ports = {name: free_port() for name in ["command", "publish", "catch-up", *projectors,
                                                 *(f"{p}-rebuild" for p in projectors)]}
        ep = lambda p: f"tcp://127.0.0.1:{p}"
        return Topology(
            command_bind=ep(ports["command"]), publish_bind=ep(ports["publish"]), catch_up_bind=ep(ports["catch-up"]),
            command=ep(ports["command"]),
            projector_publish={p: ep(ports["publish"]) for p in projectors},
            projector_catch_up={p: ep(ports["catch-up"]) for p in projectors},
            query_bind={p: ep(ports[p]) for p in projectors},
            query={p: ep(ports[p]) for p in projectors},
            rebuild_query_bind={p: ep(ports[f"{p}-rebuild"]) for p in projectors},
            rebuild_query={p: ep(ports[f"{p}-rebuild"]) for p in projectors},
        )

    def server_keys(self) -> dict[str, str]:
        """Each dialed endpoint's server key name (what a CURVE client must trust there): the write
        node serves with `write-node`, a projector (and its rebuild) with `<name>-projector`."""
        names = {self.command: keys.WRITE_NODE}
        for endpoints in (self.query, self.rebuild_query):
            names.update({endpoint: keys.projector_key(p) for p, endpoint in endpoints.items()})
        return names


class Process:
    """One Prism process: its argv, its log, its Popen; restartable with the same argv and data."""

    def __init__(self, name: str, host: str | None, argv: list[str], log_path: Path, launch: Callable):
        self.name, self.host, self.argv, self.log_path, self.launch = name, host, argv, log_path, launch
        self.popen: subprocess.Popen | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        return self.popen.pid if self.popen and self.popen.poll() is None else None

    def start(self) -> None:
        log = open(self.log_path, "ab")
        log.write(f"\n=== start {self.starts + 1}: {' '.join(self.argv)}\n".encode())
        log.flush()
        self.popen = self.launch(self.host, self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        _registry.add(self.popen)
        self.starts += 1

    def signal(self, sig: int) -> None:
        if self.popen and self.popen.poll() is None:
            os.kill(self.popen.pid, sig)

    def kill(self) -> None:
        """SIGKILL and reap: a crash, with no chance to flush or snapshot."""
        if self.popen:
            self.signal(signal.SIGKILL)
            try:
                self.popen.wait(5)
            except subprocess.TimeoutExpired:
                pass
            _registry.discard(self.popen)

    def stop(self) -> int | None:
        return stop_popen(self.popen) if self.popen else None

    def exited(self) -> bool:
        return self.popen is not None and self.popen.poll() is not None

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class System:
    """The write node and the chosen projectors of one run, built from the Procfile."""

    def __init__(self, procfile_path: Path, bin_dir: Path, run_dir: Path, topology: Topology, projectors: list[str],
                 launch: Callable = local_launch, keys_dir: Path | None = None, servers=None):
        """`keys_dir`: CURVE on, every process with `--keys keys_dir` (its own key by its default identity).
        `servers`: a started `stores.Servers`, whose flags put each projector's model in its server."""
        self.topology, self.projectors, self.run_dir, self.launch = topology, projectors, run_dir, launch
        self.servers = servers
        self.key_args = ["--keys", str(keys_dir)] if keys_dir else []
        self.bin_dir, self.entries = bin_dir, procfile.parse(procfile_path)
        (run_dir / "data").mkdir(parents=True, exist_ok=True)
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        t = topology
        writer_argv = procfile.command(procfile.find(self.entries, "write-node"), bin_dir, run_dir / "data" / "write-node",
                                       {"--command-endpoint": t.command_bind, "--publish-endpoint": t.publish_bind,
                                        "--catch-up-endpoint": t.catch_up_bind}, self.key_args)
        self.processes: dict[str, Process] = {
            "write-node": Process("write-node", t.hosts.get("write-node"), writer_argv, run_dir / "logs" / "write-node.log", launch)}
        for p in projectors:
            self.processes[p] = Process(p, t.hosts.get(p), self.projector_argv(p, run_dir / "data" / f"{p}-projector",
                                                                              t.query_bind[p]),
                                        run_dir / "logs" / f"{p}-projector.log", launch)

    def projector_argv(self, name: str, data_dir: Path, query_bind: str, publish: str | None = None,
                       catch_up: str | None = None, extra: list[str] = (),
                       store_prefix: str | None = stores.DEFAULT_PREFIX) -> list[str]:
        """`store_prefix`: another copy of a model in the same server (a rebuild to compare) needs
        names of its own; None keeps the model embedded, whatever the system's servers."""
        t = self.topology
        store_args = self.servers.args(name, store_prefix) if self.servers and store_prefix else []
        return procfile.command(procfile.find(self.entries, name), self.bin_dir, data_dir,
                                {"--query-endpoint": query_bind, "--publish-endpoint": publish or t.projector_publish[name],
                                 "--catch-up-endpoint": catch_up or t.projector_catch_up[name]},
                                [*extra, *store_args, *self.key_args])

    def store(self, name: str) -> str:
        """Where projector `name` keeps its model: embedded, postgres or redis."""
        return self.servers.assignment.get(name, stores.EMBEDDED) if self.servers else stores.EMBEDDED

    @property
    def writer(self) -> Process:
        return self.processes["write-node"]

    def pids(self) -> dict[str, int | None]:
        return {name: proc.pid for name, proc in self.processes.items()}

    def start(self) -> None:
        self.start_process("write-node")
        for p in self.projectors:
            self.start_process(p)

    def start_process(self, name: str) -> None:
        proc = self.processes[name]
        proc.start()
        self.wait_ready(name)

    def wait_ready(self, name: str, deadline_s: float = READY_DEADLINE_S) -> None:
        """Polls `health` until the process answers; raises with its log tail if it exits or the deadline passes."""
        proc = self.processes[name]
        endpoint = self.topology.command if name == "write-node" else self.topology.query[name]
        deadline = time.monotonic() + deadline_s
        while time.monotonic() < deadline:
            if proc.exited():
                raise RuntimeError(f"{name} exited with {proc.popen.returncode}:\n{proc.log_tail()}")
            if wire.request(endpoint, {"query": "health"}, timeout_ms=300):
                return
            time.sleep(0.05)
        raise RuntimeError(f"{name} did not answer health at {endpoint} within {deadline_s:.0f} s:\n{proc.log_tail()}")

    def stop(self) -> dict[str, int | None]:
        """Projectors first (so they do not log the writer's disappearance), then the write node."""
        codes = {}
        for name in [*self.projectors, "write-node"]:
            codes[name] = self.processes[name].stop()
        return codes
