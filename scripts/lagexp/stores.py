"""The real read-model stores: which projector goes to which database server (`--stores`), the
flags that point it there, and throwaway servers (`scripts/store-server`) for the harness and tests.

`--stores postgres,redis` lists servers in order of preference: each projector uses the first one
it has a backend for (orders, search, history: postgres; status: redis); the rest stay embedded.
`scripts/start --stores` asks this module for its Procfile (`python3 -m lagexp.stores procfile`), so
the start script, the experiment and the benchmarks choose alike.
"""

from __future__ import annotations

import argparse
import shlex
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from . import procfile

REPO = Path(__file__).resolve().parents[2]
STORE_SERVER = REPO / "scripts" / "store-server"
SERVERS = ("postgres", "redis")
EMBEDDED = "embedded"
# The servers each projector executable has a backend for (the `stores` of OrdersProjectors.swift).
SUPPORTED = {"orders": ("postgres",), "search": ("postgres",), "history": ("postgres",), "status": ("redis",)}
DEFAULT_PREFIX = "prism"
# A second copy in the same server (a post-run rebuild, a test's reference model) needs names of its own.
REBUILD_PREFIX = "prismcheck"
READY_DEADLINE_S = 60.0


def parse(text: str) -> list[str]:
    """`postgres,redis` → ["postgres", "redis"]; ValueError names the servers on anything else."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SERVERS]
    if not names or unknown:
        raise ValueError(f"--stores takes a comma-separated list of {', '.join(SERVERS)}; got {text!r}")
    return list(dict.fromkeys(names))


def assign(projectors: list[str], stores: list[str]) -> dict[str, str]:
    """Each projector's store: the first of `stores` it supports, else `embedded`."""
    return {name: next((s for s in stores if s in SUPPORTED.get(name, ())), EMBEDDED) for name in projectors}


def used(assignment: dict[str, str]) -> list[str]:
    """The servers an assignment needs, in `SERVERS` order."""
    return [server for server in SERVERS if server in assignment.values()]


def url(kind: str, port: int, password: str | None = None) -> str:
    """How a projector reaches a store-server: superuser `prism` (password `prism` unless given),
    database `prism` on PostgreSQL; Redis with `password` when it requires one."""
    if kind == "postgres":
        return f"postgres://prism:{password or 'prism'}@127.0.0.1:{port}/prism"
    return f"redis://:{password}@127.0.0.1:{port}" if password else f"redis://127.0.0.1:{port}"


def projector_args(kind: str, server_url: str | None, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """The flags that put a projector's read model on `kind` (none for embedded)."""
    if kind == EMBEDDED:
        return []
    return ["--store", kind, f"--{kind}-url", server_url, "--store-prefix", prefix]


class Server:
    """One throwaway server: `scripts/store-server KIND --dir D --port P` in the foreground.

    The data lives in a directory of its own under the system's temporary directory (reachable by
    the `postgres` user, unlike a test's tmp_path under /tmp/pytest-of-root); `remove()` deletes it.
    Restartable on the same directory and port, as a database that crashed and came back.
    """

    def __init__(self, kind: str, log_path: Path, port: int | None = None, password: str | None = None,
                 wal_level: str | None = None):
        """`password`: PostgreSQL's superuser's (default `prism`), Redis's requirepass (default none).
        `wal_level`: PostgreSQL's (`logical` for CDC; default `replica`)."""
        from .system import Process, free_port, local_launch
        self.kind, self.password = kind, password
        self.port = port or free_port()
        self.directory = Path(tempfile.mkdtemp(prefix=f"prism-{kind}-"))
        self.directory.chmod(0o755)
        options = (["--password", password] if password else []) + (["--wal-level", wal_level] if wal_level else [])
        argv = [str(STORE_SERVER), kind, "--dir", str(self.directory / "data"), "--port", str(self.port), *options]
        self.process = Process(kind, None, argv, log_path, local_launch)

    @property
    def url(self) -> str:
        return url(self.kind, self.port, self.password)

    def start(self, deadline_s: float = READY_DEADLINE_S) -> "Server":
        """Starts the server and waits until it answers (raises with its log tail if it does not)."""
        from .wire import wait_until
        self.process.start()
        if not wait_until(lambda: self.process.exited() or self.ready(), deadline_s, 0.1) or self.process.exited():
            raise RuntimeError(f"{self.kind} store-server did not become ready on port {self.port}:\n"
                               f"{self.process.log_tail(30)}")
        return self

    def ready(self) -> bool:
        """PostgreSQL accepts connections (pg_isready), Redis answers PING with PONG (not LOADING)."""
        if self.kind == "postgres":
            argv = ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.port), "-d", "prism", "-U", "prism"]
        else:
            argv = ["redis-cli", "-h", "127.0.0.1", "-p", str(self.port), "--no-auth-warning",
                    *(["-a", self.password] if self.password else []), "ping"]
        try:
            probe = subprocess.run(argv, capture_output=True, text=True, timeout=5)
        except subprocess.TimeoutExpired:
            return False
        return probe.returncode == 0 and (self.kind == "postgres" or probe.stdout.strip() == "PONG")

    def kill(self) -> None:
        """SIGKILL the server and every process it started (PostgreSQL's backends would otherwise
        hold its shared memory and stop the restart): a crash, with no shutdown checkpoint."""
        if self.process.pid is None:
            return
        # Listed first, killed after the server: a postmaster still alive could start new backends.
        children = _descendants(self.process.pid)
        self.process.kill()
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        _wait_port_free(self.port)

    def stop(self, deadline_s: float = 30.0) -> None:
        """A clean shutdown — PostgreSQL's fast one (SIGINT: its SIGTERM would wait for every
        client to disconnect), Redis's SIGTERM — then kill() if it has not exited by the bound."""
        if self.process.popen is None or self.process.exited():
            self.process.stop()  # reaped already: only forgets it
            return
        self.process.signal(signal.SIGINT if self.kind == "postgres" else signal.SIGTERM)
        try:
            self.process.popen.wait(deadline_s)
        except subprocess.TimeoutExpired:
            self.kill()
        self.process.stop()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


class Servers:
    """The servers an assignment of projectors to stores needs, started together, and the flags
    that point each projector at its own."""

    def __init__(self, assignment: dict[str, str], log_dir: Path):
        self.assignment = assignment
        self.servers = {kind: Server(kind, log_dir / f"{kind}.log") for kind in used(assignment)}

    def start(self) -> "Servers":
        for server in self.servers.values():
            server.start()
        return self

    def remove(self) -> None:
        for server in self.servers.values():
            server.remove()

    def args(self, projector: str, prefix: str = DEFAULT_PREFIX) -> list[str]:
        kind = self.assignment.get(projector, EMBEDDED)
        return projector_args(kind, self.servers[kind].url if kind != EMBEDDED else None, prefix)


def _descendants(pid: int) -> list[int]:
    """Every live process below `pid`, from /proc (children first found, then theirs)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        parents.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        children = parents.get(queue.pop(), [])
        found += children
        queue += children
    return found


def _wait_port_free(port: int, deadline_s: float = 15.0) -> None:
    """Until nothing accepts on `port` (a killed postmaster's children may hold it a moment)."""
    import socket
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)


def procfile_text(source: Path, stores: list[str], ports: dict[str, int], dirs: dict[str, str],
                  external: set[str] = frozenset()) -> str:
    """The Procfile `scripts/start --stores` runs: a store-server per server used (first, so it
    comes up while the projectors start), then `source`'s lines with each projector's store flags.

    A server in `external` is the user's own, named by PRISM_POSTGRES_URL / PRISM_REDIS_URL: no
    server is started for it, and the projectors read the URL from the environment (so no password
    is written into the generated file).
    """
    entries = procfile.parse(source)
    assignment = assign([e.name for e in entries if e.name in SUPPORTED], stores)
    lines = [f"# Generated by scripts/start --stores {','.join(stores)} from {source.name}; overwritten on every start."]
    for server in used(assignment):
        if server not in external:
            lines.append(f"{server}: exec scripts/store-server {server} --dir {shlex.quote(dirs[server])} --port {ports[server]}")
    for raw in source.read_text().splitlines():
        entry = procfile.parse_line(raw)
        kind = assignment.get(entry.name, EMBEDDED) if entry else EMBEDDED
        if kind != EMBEDDED:
            flags = projector_args(kind, url(kind, ports[kind]))
            if kind in external:
                flags = flags[:2] + flags[4:]  # --store KIND --store-prefix P: the URL comes from the environment
            raw += " " + " ".join(flags)
        lines.append(raw)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m lagexp.stores")
    sub = parser.add_subparsers(dest="command", required=True)
    generate = sub.add_parser("procfile", help="print the Procfile for scripts/start --stores")
    generate.add_argument("source", type=Path)
    generate.add_argument("--stores", required=True)
    for server in SERVERS:
        generate.add_argument(f"--{server}-port", type=int, required=True)
        generate.add_argument(f"--{server}-dir", required=True)
    generate.add_argument("--external", default="", help="servers the environment names (no server started)")
    args = parser.parse_args(argv)
    try:
        stores = parse(args.stores)
        external = set(parse(args.external)) if args.external else set()
    except ValueError as error:
        parser.error(str(error))
    ports = {s: getattr(args, f"{s}_port") for s in SERVERS}
    dirs = {s: getattr(args, f"{s}_dir") for s in SERVERS}
    sys.stdout.write(procfile_text(args.source, stores, ports, dirs, external))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
