"""Network emulation for the distributed-lag experiments: network namespaces on a bridge.

    from lagexp.netns import Network

    with Network(["wn", "orders", "client"]) as net:
        wn = net.popen("wn", ["write-node", "--publish-endpoint", f"tcp://{net.address('wn')}:5551", ...])
        relay = net.start_relay("orders", 15551, "wn", 5551, delay_ms=20, jitter_ms=2)
        orders = net.popen("orders", ["projector", "--subscribe", "tcp://127.0.0.1:15551", ...])
        net.set_loss("orders", 1.0)       # 1 % random loss on orders' link, both directions
        net.set_rate("orders", 2000)      # 2 Mbit/s each direction
        net.cut("orders", True); ...; net.cut("orders", False)
        net.set_delay("orders", 50)       # every relay running in orders: 50 ms each way

Layout: one namespace per host (`<prefix>-<host>`, loopback up) plus a switch namespace
(`<prefix>-sw`) holding a bridge. Each host has a veth pair: `<prefix>h<i>` in the host
(address 10.77.<subnet>.<i+2>/24) and `<prefix>s<i>` on the bridge. Nothing is created in
the root namespace, so a run cannot disturb the machine's own network, and every address
is private to the run (parallel runs with different prefixes never collide).

Impairments, per host link and in both directions:
- loss: netem on both ends of the veth if the kernel has netem, else nftables
  `numgen random` drops in the switch namespace (bridge family, forward hook);
- rate: tbf on both ends of the veth (under netem when netem carries the loss);
- cut: nftables drops everything to/from the host's switch port. Packets vanish in the
  "network", the hosts' TCP stacks just retransmit, so connections survive short cuts;
- delay/jitter: the TCP relay (`relay.py`) run inside a host's namespace, because this
  kernel has no netem. Delay is applied per TCP chunk in user space, both directions.

Cleanup: `down()` (idempotent) kills every process started through the Network, then deletes
the namespaces (which destroys the veths and the bridge). It runs from `__exit__`, from
`atexit`, and `cleanup_stale(prefix)` removes leftovers of crashed runs by prefix.
"""

from __future__ import annotations

import atexit
import os
import queue
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from pathlib import Path

RELAY_SCRIPT = Path(__file__).resolve().with_name("relay.py")
DEFAULT_PREFIX_ROOT = "lx"
NFT_TABLE = "lagexp"
STOP_TIMEOUT_S = 3.0
READY_TIMEOUT_S = 10.0
_MAX_PREFIX = 9    # "<prefix>h<i>" must stay within 15 characters for i < 100000

OWNER_DIR = Path("/run/lagexp-netns")   # <run prefix> -> "<pid> <start time>" of the owning process

_live: "weakref.WeakSet[Network]" = weakref.WeakSet()
_netem_available: bool | None = None
_nft_checked = False
_lock = threading.Lock()


class NetnsError(RuntimeError):
    pass


def run(argv: list[str], check: bool = True, input: str | None = None,
        timeout: float = 30.0) -> subprocess.CompletedProcess:
    """Runs a command, returns the completed process; NetnsError with its stderr when `check` and it failed."""
    proc = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise NetnsError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


def ensure_nft() -> str:
    """Path of `nft`, installing Debian's `nftables` package if it is missing."""
    global _nft_checked
    with _lock:
        path = shutil.which("nft") or (shutil.which("nft", path="/usr/sbin:/sbin"))
        if path:
            _nft_checked = True
            return path
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        install = ["apt-get", "install", "-y", "-qq", "nftables"]
        if subprocess.run(install, capture_output=True, env=env, timeout=600).returncode != 0:
            subprocess.run(["apt-get", "update", "-qq"], capture_output=True, env=env, timeout=600)
            proc = subprocess.run(install, capture_output=True, text=True, env=env, timeout=600)
            if proc.returncode != 0:
                raise NetnsError(f"cannot install nftables: {proc.stderr.strip()}")
        path = shutil.which("nft") or shutil.which("nft", path="/usr/sbin:/sbin")
        if not path:
            raise NetnsError("nftables installed but no nft binary found")
        _nft_checked = True
        return path


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _claim(run_prefix: str) -> None:
    """Records this process as the owner of `run_prefix`, so cleanup_stale() leaves the run alone."""
    OWNER_DIR.mkdir(parents=True, exist_ok=True)
    (OWNER_DIR / run_prefix).write_text(f"{os.getpid()} {_start_time(os.getpid())}\n")


def _release(run_prefix: str) -> None:
    try:
        (OWNER_DIR / run_prefix).unlink()
    except OSError:
        pass


def _owner_alive(run_prefix: str) -> bool:
    try:
        pid, start = (OWNER_DIR / run_prefix).read_text().split()
        return _start_time(int(pid)) == start
    except (OSError, ValueError):
        return False


def netem_available() -> bool:
    """Whether the kernel has the netem qdisc: tried once on a throw-away veth in a throw-away namespace."""
    global _netem_available
    with _lock:
        if _netem_available is None:
            probe = f"lxprobe{secrets.token_hex(3)}"
            ns = f"{probe}-netem"
            try:
                _claim(probe)
                run(["ip", "netns", "add", ns])
                run(["ip", "-n", ns, "link", "add", "pa", "type", "veth", "peer", "name", "pb"])
                _netem_available = run(["tc", "-n", ns, "qdisc", "add", "dev", "pa", "root", "netem",
                                        "loss", "1%"], check=False).returncode == 0
            finally:
                run(["ip", "netns", "del", ns], check=False)
                _release(probe)
        return _netem_available


def _namespaces() -> list[str]:
    out = run(["ip", "netns", "list"], check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip()]


def _kill_namespace_processes(ns: str) -> None:
    pids = [int(p) for p in run(["ip", "netns", "pids", ns], check=False).stdout.split() if p.isdigit()]
    for sig in (signal.SIGTERM, signal.SIGKILL):
        alive = []
        for pid in pids:
            try:
                os.kill(pid, sig)
                alive.append(pid)
            except ProcessLookupError:
                pass
        if not alive:
            return
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while time.monotonic() < deadline:
            pids = [int(p) for p in run(["ip", "netns", "pids", ns], check=False).stdout.split() if p.isdigit()]
            if not pids:
                return
            time.sleep(0.05)


def cleanup_stale(prefix: str = DEFAULT_PREFIX_ROOT, force: bool = False) -> list[str]:
    """Removes namespaces (killing their processes) and root-namespace interfaces whose names start
    with `prefix`: leftovers of crashed runs. Returns what it removed. Runs whose owning process is
    still alive (parallel runs) are left alone unless `force`."""
    removed = []
    for ns in _namespaces():
        run_prefix = ns.split("-", 1)[0]
        if ns.startswith(prefix) and (force or not _owner_alive(run_prefix)):
            _kill_namespace_processes(ns)
            run(["ip", "netns", "del", ns], check=False)
            removed.append(ns)
            if not any(n.startswith(run_prefix + "-") for n in _namespaces()):
                _release(run_prefix)
    out = run(["ip", "-o", "link", "show"], check=False).stdout
    for match in re.finditer(r"^\d+:\s+([^:@\s]+)", out, re.M):
        name = match.group(1)
        if name.startswith(prefix) and (force or not _owner_alive(re.sub(r"(h|s)\d+$|br$", "", name))):
            run(["ip", "link", "del", name], check=False)
            removed.append(name)
    return removed


class Relay:
    """A running relay.py inside a host's namespace (returned by `Network.start_relay`)."""

    def __init__(self, network: "Network", host: str, listen_port: int, target_host: str,
                 target_port: int, delay_ms: float, jitter_ms: float, process: subprocess.Popen):
        self.network = network
        self.host = host
        self.listen_port = listen_port
        self.target_host = target_host
        self.target_port = target_port
        self.delay_ms = delay_ms
        self.jitter_ms = jitter_ms
        self.process = process
        self.ready_line = ""
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def endpoint(self) -> str:
        """Where clients inside `host` connect: 127.0.0.1:listen_port."""
        return f"127.0.0.1:{self.listen_port}"

    def _read_stdout(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)

    def _next_line(self, deadline: float, prefix: str) -> str:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise NetnsError(f"relay in {self.host}: no '{prefix}' line in time")
            try:
                line = self._lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                code = self.process.wait(timeout=STOP_TIMEOUT_S)
                err = self.process.stderr.read() if self.process.stderr else ""
                raise NetnsError(f"relay in {self.host} exited ({code}): {err.strip()}")
            if line.startswith(prefix):
                return line
            if line.startswith("error"):
                raise NetnsError(f"relay in {self.host}: {line}")

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> str:
        self.ready_line = self._next_line(time.monotonic() + timeout, "relay ready")
        return self.ready_line

    def _command(self, text: str, reply: str, timeout: float) -> str:
        if self.process.poll() is not None:
            raise NetnsError(f"relay in {self.host} is not running")
        self.process.stdin.write(text + "\n")
        self.process.stdin.flush()
        return self._next_line(time.monotonic() + timeout, reply)

    def set_delay(self, delay_ms: float, jitter_ms: float = 0.0, timeout: float = 5.0) -> None:
        """Changes the delay of chunks read from now on (chunks already queued keep theirs;
        order is still preserved, so lowering the delay takes effect after the queue drains)."""
        self._command(f"delay {float(delay_ms)!r} {float(jitter_ms)!r}", "ok delay", timeout)
        self.delay_ms, self.jitter_ms = delay_ms, jitter_ms

    def stats(self, timeout: float = 5.0) -> dict:
        import json
        return json.loads(self._command("stats", "stats ", timeout)[len("stats "):])

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int | None:
        return _stop_process(self.process)


def _stop_process(proc: subprocess.Popen) -> int | None:
    if proc.poll() is None:
        try:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        except ProcessLookupError:
            pass
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            try:
                stream.close()
            except OSError:
                pass
    return proc.returncode


class Network:
    def __init__(self, hosts: list[str], prefix: str | None = None, subnet: int = 0,
                 loss_backend: str | None = None):
        """`hosts`: host names (letters, digits, '-', '_'). `prefix`: unique per run, at most 9
        characters, default "lx" + 6 random hex digits. `subnet`: X in 10.77.X.0/24.
        `loss_backend`: "netem" or "nft"; default netem if the kernel has it, else nft."""
        if not hosts or len(set(hosts)) != len(hosts):
            raise ValueError("hosts must be non-empty and unique")
        if len(hosts) > 253:
            raise ValueError("at most 253 hosts")
        for h in hosts:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", h) or h == "sw":
                raise ValueError(f"bad host name {h!r}")
        self.prefix = prefix or DEFAULT_PREFIX_ROOT + secrets.token_hex(3)
        if not re.fullmatch(r"[a-z][a-z0-9]*", self.prefix) or len(self.prefix) > _MAX_PREFIX:
            raise ValueError(f"prefix must be [a-z][a-z0-9]*, at most {_MAX_PREFIX} chars: {self.prefix!r}")
        if not 0 <= subnet <= 255:
            raise ValueError("subnet must be 0..255")
        if loss_backend not in (None, "netem", "nft"):
            raise ValueError("loss_backend must be None, 'netem' or 'nft'")
        self.hosts = list(hosts)
        self.subnet = subnet
        self._loss_backend = loss_backend
        self.switch_ns = f"{self.prefix}-sw"
        self.bridge = f"{self.prefix}br"
        self._index = {h: i for i, h in enumerate(self.hosts)}
        self._loss: dict[str, float] = {}
        self._rate: dict[str, int] = {}
        self._rate_params: dict[str, tuple[int | None, float]] = {}
        self._cut: set[str] = set()
        self._processes: list[subprocess.Popen] = []
        self._relays: list[Relay] = []
        self._up = False
        self._created: list[str] = []
        self._mutex = threading.RLock()

    # ---- naming -------------------------------------------------------------------------
    def _check(self, host: str) -> int:
        if host not in self._index:
            raise KeyError(f"unknown host {host!r}; hosts are {self.hosts}")
        return self._index[host]

    def namespace(self, host: str) -> str:
        self._check(host)
        return f"{self.prefix}-{host}"

    def address(self, host: str) -> str:
        return f"10.77.{self.subnet}.{self._check(host) + 2}"

    def host_interface(self, host: str) -> str:
        """The host's end of its veth pair (inside the host namespace)."""
        return f"{self.prefix}h{self._check(host)}"

    def switch_interface(self, host: str) -> str:
        """The bridge's end of the host's veth pair (inside the switch namespace)."""
        return f"{self.prefix}s{self._check(host)}"

    @property
    def loss_backend(self) -> str:
        if self._loss_backend is None:
            self._loss_backend = "netem" if netem_available() else "nft"
        return self._loss_backend

    # ---- lifecycle ----------------------------------------------------------------------
    def __enter__(self) -> "Network":
        self.up()
        return self

    def __exit__(self, *exc) -> None:
        self.down()

    def up(self) -> "Network":
        if self._up:
            return self
        self._up = True
        _live.add(self)
        try:
            _claim(self.prefix)
            ensure_nft()
            self.loss_backend
            sw = self.switch_ns
            self._add_namespace(sw)
            run(["ip", "-n", sw, "link", "set", "lo", "up"])
            run(["ip", "-n", sw, "link", "add", self.bridge, "type", "bridge"])
            # No STP/forward delay: ports forward at once.
            run(["ip", "-n", sw, "link", "set", self.bridge, "type", "bridge", "stp_state", "0",
                 "forward_delay", "0"], check=False)
            run(["ip", "-n", sw, "link", "set", self.bridge, "up"])
            for host in self.hosts:
                ns = self.namespace(host)
                self._add_namespace(ns)
                hif, sif = self.host_interface(host), self.switch_interface(host)
                run(["ip", "link", "add", hif, "netns", ns, "type", "veth", "peer", "name", sif, "netns", sw])
                run(["ip", "-n", sw, "link", "set", sif, "master", self.bridge])
                run(["ip", "-n", sw, "link", "set", sif, "up"])
                run(["ip", "-n", ns, "link", "set", "lo", "up"])
                run(["ip", "-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", hif])
                run(["ip", "-n", ns, "link", "set", hif, "up"])
            self._apply_nft()
        except BaseException:
            self.down()
            raise
        return self

    def _add_namespace(self, ns: str) -> None:
        run(["ip", "netns", "add", ns])
        self._created.append(ns)

    def down(self) -> None:
        """Stops every process started through this Network, deletes the namespaces. Idempotent."""
        for relay in self._relays:
            relay.stop()
        for proc in self._processes:
            _stop_process(proc)
        self._relays.clear()
        self._processes.clear()
        if self._up or self._created:
            names = set(self._created) | {self.switch_ns} | {f"{self.prefix}-{h}" for h in self.hosts}
            existing = set(_namespaces())
            for ns in names & existing:
                _kill_namespace_processes(ns)   # anything started behind our back
                run(["ip", "netns", "del", ns], check=False)
            self._created.clear()
            _release(self.prefix)
        self._up = False
        self._loss.clear()
        self._rate.clear()
        self._cut.clear()
        _live.discard(self)

    def leftovers(self) -> list[str]:
        """Namespaces and root-namespace interfaces still carrying this run's prefix (empty after down())."""
        out = [ns for ns in _namespaces() if ns.startswith(self.prefix)]
        links = run(["ip", "-o", "link", "show"], check=False).stdout
        out += [m.group(1) for m in re.finditer(r"^\d+:\s+([^:@\s]+)", links, re.M)
                if m.group(1).startswith(self.prefix)]
        return out

    # ---- processes ----------------------------------------------------------------------
    def exec_argv(self, host: str, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(host), *argv]

    def popen(self, host: str, argv: list[str], **kwargs) -> subprocess.Popen:
        """Starts `argv` in the host's namespace (`ip netns exec` execs, so the Popen pid is the
        program's). The process is stopped (SIGTERM, then SIGKILL) by `down()`."""
        if not self._up:
            raise NetnsError("network is not up")
        proc = subprocess.Popen(self.exec_argv(host, [str(a) for a in argv]), **kwargs)
        self._processes.append(proc)
        return proc

    def run(self, host: str, argv: list[str], check: bool = True, timeout: float = 30.0) -> subprocess.CompletedProcess:
        """Runs a short command in the host's namespace and waits for it."""
        return run(self.exec_argv(host, [str(a) for a in argv]), check=check, timeout=timeout)

    def start_relay(self, host: str, listen_port: int, target_host: str, target_port: int,
                    delay_ms: float, jitter_ms: float = 0, listen_address: bool = True,
                    ready_timeout: float = READY_TIMEOUT_S) -> Relay:
        """Starts relay.py in `host`'s namespace on 127.0.0.1:listen_port (and on the host's
        address when `listen_address`), forwarding to target_host's address:target_port with
        `delay_ms` (+- `jitter_ms`) added to both directions. Returns once it listens."""
        listens = ["--listen", f"127.0.0.1:{listen_port}"]
        if listen_address:
            listens += ["--listen", f"{self.address(host)}:{listen_port}"]
        argv = [sys.executable, "-u", str(RELAY_SCRIPT), *listens,
                "--target", f"{self.address(target_host)}:{target_port}",
                "--delay-ms", repr(float(delay_ms)), "--jitter-ms", repr(float(jitter_ms)), "--control-stdin"]
        proc = self.popen(host, argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, bufsize=1)
        self._processes.remove(proc)
        relay = Relay(self, host, listen_port, target_host, target_port, delay_ms, jitter_ms, proc)
        self._relays.append(relay)
        try:
            relay.wait_ready(ready_timeout)
        except BaseException:
            relay.stop()
            self._relays.remove(relay)
            raise
        return relay

    def relays(self, host: str | None = None) -> list[Relay]:
        return [r for r in self._relays if host is None or r.host == host]

    def set_delay(self, host: str, delay_ms: float, jitter_ms: float = 0) -> None:
        """Sets the delay of every running relay started in `host`."""
        self._check(host)
        for relay in self.relays(host):
            if relay.running():
                relay.set_delay(delay_ms, jitter_ms)

    # ---- impairments --------------------------------------------------------------------
    def set_loss(self, host: str, percent: float) -> None:
        """Random loss of `percent` % on the host's link, each direction independently; 0 removes."""
        self._check(host)
        if not 0 <= percent <= 100:
            raise ValueError("percent must be within 0..100")
        if percent:
            self._loss[host] = float(percent)
        else:
            self._loss.pop(host, None)
        if self.loss_backend == "netem":
            self._apply_qdiscs(host)
        else:
            self._apply_nft()

    def set_rate(self, host: str, kbit: int | None, burst_bytes: int | None = None,
                 latency_ms: float = 100.0) -> None:
        """Rate limit (tbf) on the host's link, each direction; None (or 0) removes."""
        self._check(host)
        if kbit:
            self._rate[host] = int(kbit)
            self._rate_params[host] = (burst_bytes, latency_ms)
        else:
            self._rate.pop(host, None)
        self._apply_qdiscs(host)

    def cut(self, host: str, down: bool) -> None:
        """Severs (down=True) or restores the host's link: everything to or from its switch port is
        dropped, the interfaces stay up, so TCP connections survive a cut shorter than their timeouts."""
        self._check(host)
        if down:
            self._cut.add(host)
        else:
            self._cut.discard(host)
        self._apply_nft()

    def impairments(self) -> dict:
        return {"loss": dict(self._loss), "rate_kbit": dict(self._rate), "cut": sorted(self._cut),
                "delay": {r.host: (r.delay_ms, r.jitter_ms) for r in self._relays if r.running()},
                "loss_backend": self.loss_backend}

    def _apply_nft(self) -> None:
        with self._mutex:
            self._apply_nft_locked()

    def _apply_nft_locked(self) -> None:
        rules = []
        for host in self.hosts:
            port = self.switch_interface(host)
            if host in self._cut:
                rules += [f'iifname "{port}" drop', f'oifname "{port}" drop']
            elif host in self._loss and self.loss_backend == "nft":
                n = round(self._loss[host] * 100)   # 0.01 % resolution
                rules += [f'iifname "{port}" numgen random mod 10000 < {n} drop',
                          f'oifname "{port}" numgen random mod 10000 < {n} drop']
        body = "\n".join(f"    {r}" for r in rules)
        # Declare, delete and re-create in one transaction: atomic replacement of the rule set.
        script = (f"table bridge {NFT_TABLE}\ndelete table bridge {NFT_TABLE}\n"
                  f"table bridge {NFT_TABLE} {{\n  chain forward {{\n"
                  f"    type filter hook forward priority 0; policy accept;\n{body}\n  }}\n}}\n")
        run(["ip", "netns", "exec", self.switch_ns, ensure_nft(), "-f", "-"], input=script)

    def _apply_qdiscs(self, host: str) -> None:
        with self._mutex:
            self._apply_qdiscs_locked(host)

    def _apply_qdiscs_locked(self, host: str) -> None:
        loss = self._loss.get(host, 0.0) if self.loss_backend == "netem" else 0.0
        rate = self._rate.get(host)
        burst, latency_ms = self._rate_params.get(host, (None, 100.0))
        for ns, dev in ((self.namespace(host), self.host_interface(host)),
                        (self.switch_ns, self.switch_interface(host))):
            run(["tc", "-n", ns, "qdisc", "del", "dev", dev, "root"], check=False)
            tbf_parent = ["root"]
            if loss:
                run(["tc", "-n", ns, "qdisc", "add", "dev", dev, "root", "handle", "1:", "netem",
                     "loss", f"{loss}%", "limit", "100000"])
                tbf_parent = ["parent", "1:1"]
            if rate:
                b = burst or max(rate * 1000 // 8 // 100, 16 * 1024)   # 10 ms of traffic, at least 16 KiB
                run(["tc", "-n", ns, "qdisc", "add", "dev", dev, *tbf_parent, "handle", "10:", "tbf",
                     "rate", f"{rate}kbit", "burst", str(b), "latency", f"{latency_ms}ms"])


@atexit.register
def _down_all() -> None:
    for network in list(_live):
        try:
            network.down()
        except Exception as error:  # keep cleaning the others
            print(f"lagexp.netns: cleanup of {network.prefix} failed: {error}", file=sys.stderr)
