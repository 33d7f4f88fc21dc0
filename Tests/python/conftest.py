"""Fixtures for the wire-protocol tests: a real `write-node` on free ports with a temporary store.

The binary is looked up in `$PRISM_BIN_DIR`, else in `<repo>/.build/debug`. With `keys` (a
`ClientKeys` of scripts/lagexp/keys.py) the process is started with `--keys` and this fixture's own
sockets speak CURVE with those keys.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import zmq

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))
RECEIVE_TIMEOUT_MS = 5000
READY_DEADLINE_S = 20.0
STOP_DEADLINE_S = 15.0
HEARTBEAT_MS = 200


def bin_dir() -> Path:
    return Path(os.environ.get("PRISM_BIN_DIR") or REPO / ".build" / "debug")


def require_binaries() -> Path:
    """`bin_dir()`, failing the test at once (not after a timeout) when nothing is built there."""
    if not (bin_dir() / "write-node").exists():
        pytest.fail(f"{bin_dir()}/write-node does not exist: build it (swift build) or set PRISM_BIN_DIR")
    return bin_dir()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def receive(sock: zmq.Socket, timeout_ms: int = RECEIVE_TIMEOUT_MS) -> list[bytes]:
    """One multipart message, or an AssertionError after `timeout_ms`."""
    if not sock.poll(timeout_ms, zmq.POLLIN):
        raise AssertionError(f"no message within {timeout_ms} ms")
    return sock.recv_multipart()


class WriteNode:
    def __init__(self, context: zmq.Context, data_dir: Path, log_path: Path, keys=None, extra_args: list[str] = ()):
        self.context = context
        self.extra_args = list(extra_args)
        self.data_dir = data_dir
        self.log_path = log_path
        self.keys = keys
        self.heartbeat_ms = HEARTBEAT_MS
        self.process: subprocess.Popen | None = None
        self._sockets: list[zmq.Socket] = []

    def start(self, attempts: int = 3) -> None:
        binary = bin_dir() / "write-node"
        if not binary.exists():
            pytest.fail(f"{binary} does not exist: build it (swift build) or set PRISM_BIN_DIR")
        for attempt in range(attempts):
            # A free port may be taken by someone else before write-node binds it: retry on new ports.
            ports = [free_port() for _ in range(3)]
            self.command = f"tcp://127.0.0.1:{ports[0]}"
            self.publish = f"tcp://127.0.0.1:{ports[1]}"
            self.catch_up = f"tcp://127.0.0.1:{ports[2]}"
            self.log = open(self.log_path, "wb")
            self.process = subprocess.Popen(
                [str(binary), "--data-dir", str(self.data_dir),
                 "--command-endpoint", self.command, "--publish-endpoint", self.publish,
                 "--catch-up-endpoint", self.catch_up, "--heartbeat-ms", str(self.heartbeat_ms),
                 "--segment-bytes", "1048576", *(["--keys", str(self.keys.directory)] if self.keys else []),
                 *self.extra_args],
                stdout=self.log, stderr=subprocess.STDOUT)
            if self.wait_ready():
                return
            self.log.close()
            output = self.log_path.read_text()
            if "cannot bind" not in output or attempt == attempts - 1:
                pytest.fail(f"write-node exited with {self.process.returncode}: {output}")

    def wait_ready(self) -> bool:
        """Polls `{"query": "health"}` until it answers, with a bounded deadline; False if the process exited."""
        deadline = time.monotonic() + READY_DEADLINE_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            sock = self.socket(zmq.REQ, self.command)
            try:
                sock.send_json({"query": "health"})
                if sock.poll(250, zmq.POLLIN):
                    reply = json.loads(sock.recv())
                    if reply.get("ok") and reply["result"]["status"] == "serving":
                        return True
            finally:
                sock.close()
        self.process.kill()
        self.process.wait()
        pytest.fail(f"write-node not ready within {READY_DEADLINE_S} s: {self.log_path.read_text()}")

    def socket(self, kind: int, endpoint: str | None = None, keys=None) -> zmq.Socket:
        """A socket to one of the write node's endpoints, over CURVE with `keys` (default: the fixture's)."""
        sock = self.context.socket(kind)
        sock.linger = 0
        self._sockets.append(sock)
        if keys or self.keys:
            (keys or self.keys).apply(sock, "write-node")
        if endpoint:
            sock.connect(endpoint)
        return sock

    def request(self, body, sock: zmq.Socket | None = None) -> dict:
        """Sends one JSON request on a REQ socket to the command endpoint, returns the reply."""
        own = sock is None
        sock = sock or self.socket(zmq.REQ, self.command)
        sock.send(body if isinstance(body, bytes) else json.dumps(body).encode())
        frames = receive(sock)
        assert len(frames) == 1, frames
        if own:
            sock.close()
        return json.loads(frames[0])

    def read(self, body: dict) -> tuple[dict, list[dict]]:
        """A catch-up request: returns (summary, events)."""
        sock = self.socket(zmq.REQ, self.catch_up)
        sock.send_json(body)
        summary, *bodies = receive(sock)
        sock.close()
        return json.loads(summary), [json.loads(b) for b in bodies]

    def stop(self) -> int:
        for sock in self._sockets:
            sock.close(linger=0)
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("write-node did not stop within the deadline after SIGTERM")
        finally:
            self.log.close()
        return code


@pytest.fixture
def context():
    ctx = zmq.Context()
    yield ctx
    ctx.destroy(linger=0)


@pytest.fixture
def write_node(context, tmp_path):
    node = WriteNode(context, tmp_path / "store", tmp_path / "write-node.log")
    node.start()
    assert node.process.poll() is None
    try:
        yield node
    finally:
        if node.process.poll() is None:
            code = node.stop()
            assert code == 0, f"write-node exited with {code}: {node.log_path.read_text()}"
