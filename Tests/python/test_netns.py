"""Tests for scripts/lagexp/netns.py and relay.py: a 2-host namespace network with a TCP echo
server in host `a` and a measuring client in host `b`.

Needs root and working `ip netns`; the module is skipped otherwise. Run:
    cd /work/wt-netns && python3 -m pytest -q Tests/python/test_netns.py
"""

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    name = f"lxprobe{uuid.uuid4().hex[:6]}"
    try:
        proc = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"`ip netns add` unusable: {error}"
    if proc.returncode != 0:
        return f"`ip netns add` failed: {proc.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
    return None


_reason = _skip_reason()
if _reason:
    pytest.skip(_reason, allow_module_level=True)

from lagexp.netns import Network, cleanup_stale  # noqa: E402

ECHO_PORT = 7000
RELAY_PORT = 17000
DEADLINE_S = 20.0

ECHO_SERVER = r"""
import socket, sys, threading
server = socket.create_server(("0.0.0.0", int(sys.argv[1])), reuse_port=False)
def serve(conn):
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with conn:
        while data := conn.recv(65536):
            conn.sendall(data)
print("ready", flush=True)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""

# Messages are 32 bytes: sequence number, send time (CLOCK_MONOTONIC, comparable across
# processes), 16 payload bytes derived from the sequence number (to check integrity).
# pingpong: one message at a time; stream: paced sends, a thread reads the echoes.
# Prints "started" once connected, then one JSON line with the results.
CLIENT = r"""
import json, socket, struct, sys, threading, time
host, port, mode, count, interval = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5]) / 1000
SIZE = 32
def message(seq):
    return struct.pack("!Qd", seq, time.monotonic()) + (seq * 2654435761 % 2**64).to_bytes(8, "big") * 2
deadline = time.monotonic() + 10
while True:
    try:
        sock = socket.create_connection((host, port), timeout=1)
        break
    except OSError:
        if time.monotonic() > deadline:
            raise
        time.sleep(0.02)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sock.settimeout(15)
print("started", flush=True)
buffer = b""
def receive():
    global buffer
    while len(buffer) < SIZE:
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        buffer += chunk
    frame, buffer = buffer[:SIZE], buffer[SIZE:]
    now = time.monotonic()
    seq, sent = struct.unpack("!Qd", frame[:16])
    intact = frame[16:] == (seq * 2654435761 % 2**64).to_bytes(8, "big") * 2
    return seq, sent, now, intact
results = []
if mode == "pingpong":
    for seq in range(count):
        sock.sendall(message(seq))
        results.append(receive())
else:
    def send():
        start = time.monotonic()
        for seq in range(count):
            pause = start + seq * interval - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            sock.sendall(message(seq))
    threading.Thread(target=send, daemon=True).start()
    for _ in range(count):
        results.append(receive())
sock.close()
print(json.dumps({"seqs": [r[0] for r in results], "sent": [r[1] for r in results],
                  "received": [r[2] for r in results], "intact": all(r[3] for r in results)}), flush=True)
"""


def read_line(proc: subprocess.Popen, deadline: float) -> str:
    """Next stdout line of `proc`, failing at `deadline` (stdout read via os.read + select, never blocking past it)."""
    import select
    buf = getattr(proc, "_linebuf", b"")
    fd = proc.stdout.fileno()
    while b"\n" not in buf:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError(f"no output line within the deadline (so far {buf!r})")
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                err = proc.stderr.read().decode() if proc.stderr else ""
                raise AssertionError(f"process exited ({proc.wait()}) without a line: {buf!r} {err}")
            buf += chunk
    line, _, rest = buf.partition(b"\n")
    proc._linebuf = rest
    return line.decode()


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    scripts = tmp_path_factory.mktemp("netns")
    (scripts / "echo.py").write_text(ECHO_SERVER)
    (scripts / "client.py").write_text(CLIENT)
    with Network(["a", "b"]) as network:
        network.scripts = scripts
        echo = network.popen("a", [sys.executable, scripts / "echo.py", ECHO_PORT],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert read_line(echo, time.monotonic() + DEADLINE_S) == "ready"
        yield network


def start_client(net: Network, host: str, port: int, mode: str, count: int,
                 interval_ms: float = 0) -> subprocess.Popen:
    client = net.popen("b", [sys.executable, net.scripts / "client.py", host, port, mode, count, interval_ms],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert read_line(client, time.monotonic() + DEADLINE_S) == "started"
    return client


def finish_client(client: subprocess.Popen, count: int) -> dict:
    result = json.loads(read_line(client, time.monotonic() + DEADLINE_S))
    assert client.wait(timeout=DEADLINE_S) == 0
    assert result["seqs"] == list(range(count)), "messages lost, duplicated or reordered"
    assert result["intact"], "corrupted message"
    result["rtts_ms"] = [(r - s) * 1000 for s, r in zip(result["sent"], result["received"])]
    return result


def tcp_retransmissions(net: Network, host: str) -> int:
    snmp = net.run(host, ["cat", "/proc/net/snmp"]).stdout.splitlines()
    header, values = [line.split() for line in snmp if line.startswith("Tcp:")][:2]
    return int(values[header.index("RetransSegs")])


def test_addresses_and_plain_rtt(net):
    assert net.address("a") != net.address("b")
    assert net.namespace("a").startswith(net.prefix)
    client = start_client(net, net.address("a"), ECHO_PORT, "pingpong", 200)
    rtts = finish_client(client, 200)["rtts_ms"]
    assert statistics.median(rtts) < 5, rtts


def test_relay_adds_delay_both_ways_and_keeps_order(net):
    relay = net.start_relay("b", RELAY_PORT, "a", ECHO_PORT, delay_ms=20)
    try:
        client = start_client(net, "127.0.0.1", RELAY_PORT, "stream", 200, interval_ms=5)
        rtts = finish_client(client, 200)["rtts_ms"]
        assert 35 <= statistics.median(rtts) <= 80, rtts
        assert min(rtts) >= 38.5, rtts   # 20 ms each way; the relay releases at most 0.5 ms early
        # With jitter: still every message, in order.
        net.set_delay("b", 10, jitter_ms=5)
        client = start_client(net, "127.0.0.1", RELAY_PORT, "stream", 200, interval_ms=2)
        rtts = finish_client(client, 200)["rtts_ms"]
        assert 10 <= min(rtts) and statistics.median(rtts) <= 60, rtts
    finally:
        relay.stop()


def test_loss_retransmits_everything(net):
    baseline = statistics.median(finish_client(
        start_client(net, net.address("a"), ECHO_PORT, "pingpong", 50), 50)["rtts_ms"])
    before = tcp_retransmissions(net, "b")
    net.set_loss("b", 5)
    try:
        client = start_client(net, net.address("a"), ECHO_PORT, "stream", 500, interval_ms=2)
        rtts = finish_client(client, 500)["rtts_ms"]
    finally:
        net.set_loss("b", 0)
    assert tcp_retransmissions(net, "b") > before, "no TCP retransmission: was anything lost?"
    # A retransmission holds back the lost message and, in order, every message behind it.
    outliers = [r for r in rtts if r > max(1.0, 10 * baseline)]
    assert outliers, (f"no RTT outlier (loss-free median {baseline:.3f} ms, median {statistics.median(rtts):.3f} ms, "
                      f"max {max(rtts):.3f} ms)")


def test_cut_connection_survives(net):
    client = start_client(net, net.address("a"), ECHO_PORT, "stream", 60, interval_ms=50)
    cut_start = time.monotonic()
    net.cut("b", True)
    try:
        time.sleep(1.0)   # the length of the cut, not a readiness wait
    finally:
        net.cut("b", False)
    cut_end = time.monotonic()
    result = finish_client(client, 60)
    during = [(s, r) for s, r in zip(result["sent"], result["received"]) if cut_start + 0.01 < s < cut_end - 0.01]
    assert len(during) >= 15, "expected messages sent during the cut"
    assert all(r >= cut_end for _, r in during), "a message sent during the cut arrived before the restore"


def test_down_removes_everything(tmp_path):
    network = Network(["x", "y"])
    network.up()
    prefix = network.prefix
    sleeper = network.popen("x", [sys.executable, "-c", "import time; time.sleep(60)"])
    relay = network.start_relay("y", RELAY_PORT, "x", ECHO_PORT, delay_ms=1)
    network.set_loss("x", 1)
    network.set_rate("y", 1000)
    assert any(ns.startswith(prefix) for ns in network.leftovers())
    assert cleanup_stale(prefix) == [], "cleanup_stale must spare a run whose owner is alive"
    network.down()
    network.down()   # idempotent
    assert sleeper.poll() is not None and relay.process.poll() is not None
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True).stdout
    assert prefix not in namespaces and prefix not in links
    assert network.leftovers() == []


def test_cleanup_stale_removes_orphans():
    prefix = f"lxt{uuid.uuid4().hex[:6]}"
    # What a crashed run leaves: its namespaces (no owner record) with a process inside.
    subprocess.run(["ip", "netns", "add", f"{prefix}-sw"], check=True)
    subprocess.run(["ip", "netns", "add", f"{prefix}-a"], check=True)
    sleeper = subprocess.Popen(["ip", "netns", "exec", f"{prefix}-a", sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + DEADLINE_S
        while str(sleeper.pid) not in subprocess.run(["ip", "netns", "pids", f"{prefix}-a"],
                                                     capture_output=True, text=True).stdout.split():
            assert time.monotonic() < deadline, "the process never entered the namespace"
            time.sleep(0.02)
        assert sorted(cleanup_stale(prefix)) == [f"{prefix}-a", f"{prefix}-sw"]
        assert sleeper.wait(timeout=DEADLINE_S) == -15   # killed by cleanup_stale's SIGTERM
    finally:
        if sleeper.poll() is None:
            sleeper.kill()
        subprocess.run(["ip", "netns", "del", f"{prefix}-a"], capture_output=True)
        subprocess.run(["ip", "netns", "del", f"{prefix}-sw"], capture_output=True)
    assert prefix not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
