"""A system in secure mode (docs/SECURITY.md): a key directory made here, `--keys` on every process,
and CURVE sockets for the well-behaved client.

Keys are written in the zcert text format the servers read (`Sources/Security/Certificate.swift`):
the write node and each projector with its own pair (projectors authorized as `projector`), and
one client principal with the `writer` and `reader` roles.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import zmq

from lagexp.system import System

CLIENT = "well-behaved"


def write_certificate(directory: Path, name: str, public: bytes, secret: bytes | None, roles: str = "") -> None:
    lines = ["metadata", f'    name = "{name}"'] + ([f'    roles = "{roles}"'] if roles else [])
    lines += ["curve", f'    public-key = "{public.decode()}"'] + ([f'    secret-key = "{secret.decode()}"'] if secret else [])
    path = directory / f"{name}.{'key' if secret else 'pub'}"
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o600 if secret else 0o644)


def make_keys(directory: Path, projectors: list[str]) -> dict[str, tuple[bytes, bytes]]:
    """Every process's pair and the client's (name → (public, secret)), written to `directory`."""
    (directory / "authorized").mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    roles = {"write-node": "", **{f"{p}-projector": "projector" for p in projectors}, CLIENT: "writer,reader"}
    pairs = {}
    for name, role in roles.items():
        public, secret = zmq.curve_keypair()
        pairs[name] = (public, secret)
        write_certificate(directory, name, public, secret, role)
        write_certificate(directory, name, public, None, role)
        if role:
            write_certificate(directory / "authorized", name, public, None, role)
    return pairs


class CurveClient:
    """Sets the client principal's keys, pinning the server an endpoint belongs to."""

    def __init__(self, pairs: dict[str, tuple[bytes, bytes]], servers: dict[str, str]):
        self.pairs, self.servers = pairs, servers  # servers: endpoint → server key name

    def __call__(self, sock: zmq.Socket, endpoint: str) -> None:
        sock.curve_publickey, sock.curve_secretkey = self.pairs[CLIENT]
        sock.curve_serverkey = self.pairs[self.servers[endpoint]][0]


def start(system: System, keys: Path, curve: CurveClient, deadline_s: float = 30.0) -> None:
    """Starts every process with `--keys` and waits until each answers `health` over CURVE."""
    context = zmq.Context()
    try:
        for name, proc in system.processes.items():
            proc.argv += ["--keys", str(keys)]
            proc.start()
            endpoint = system.topology.command if name == "write-node" else system.topology.query[name]
            deadline = time.monotonic() + deadline_s
            while not answers_health(context, endpoint, curve):
                if proc.exited() or time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not answer health over CURVE:\n{proc.log_tail()}")
    finally:
        context.destroy(linger=0)


def answers_health(context: zmq.Context, endpoint: str, curve: CurveClient) -> bool:
    sock = context.socket(zmq.REQ)
    sock.linger = 0
    curve(sock, endpoint)
    sock.connect(endpoint)
    try:
        sock.send(b'{"query": "health"}')
        return bool(sock.poll(300, zmq.POLLIN)) and b'"ok":true' in sock.recv().replace(b" ", b"")
    finally:
        sock.close()
