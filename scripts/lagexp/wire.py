"""Small pyzmq helpers for the JSON request/reply queries every Prism process answers.

Every call is bounded (RCVTIMEO via poll, linger 0): a stopped or killed process must never hang
the experiment, it just yields None. After `secure(...)` every socket made by `dial` speaks CURVE
with the key of the server behind its endpoint.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import time

import zmq

_context: zmq.Context | None = None
_CLONE_NEWNET = 0x40000000
_keys = None  # keys.ClientKeys once `secure` is called
_servers: dict[str, str] = {}  # endpoint → the name of the server key behind it


def context() -> zmq.Context:
    global _context
    if _context is None:
        _context = zmq.Context()
    return _context


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, _CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"setns: {os.strerror(errno)}")


@contextlib.contextmanager
def in_namespace(name: str):
    """Runs the calling thread — and the threads it starts, and a fresh ZeroMQ context whose I/O
    threads are born inside — in network namespace `name` (/run/netns/<name>).

    Why: under `--mode netns` nothing is routed from the root namespace to the 10.77.x.y hosts, yet
    the sampler and the checks must talk to every process. Switching the experiment's own thread
    into the "client" host keeps them in-process (no helper process to marshal samples through).
    Child processes are unaffected: they are all launched with `ip netns exec <their host>`.
    """
    global _context
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/run/netns/{name}", os.O_RDONLY)
    saved = _context
    try:
        _setns(target)
        _context = zmq.Context()
        try:
            yield
        finally:
            _context.destroy(linger=0)
            _context = saved
            _setns(home)
    finally:
        os.close(home)
        os.close(target)


def secure(client_keys, servers: dict[str, str]) -> None:
    """CURVE from now on: `client_keys` (a `keys.ClientKeys`) for every endpoint of `servers`
    (endpoint → server key name, e.g. `write-node`, `orders-projector`)."""
    global _keys
    _keys = client_keys
    _servers.update(servers)


def dial(kind: int, endpoint: str, ctx: zmq.Context | None = None) -> zmq.Socket:
    """A socket (linger 0) connected to `endpoint`, over CURVE when `secure` named its server."""
    sock = (ctx or context()).socket(kind)
    sock.linger = 0
    if _keys is not None:
        if endpoint not in _servers:
            sock.close()
            raise KeyError(f"secure mode: no server key known for {endpoint}")
        _keys.apply(sock, _servers[endpoint])
    sock.connect(endpoint)
    return sock


def request(endpoint: str, body: dict, timeout_ms: int = 1000) -> dict | None:
    """One request on a fresh REQ socket: the reply as a dict, or None on timeout or a bad reply."""
    sock = dial(zmq.REQ, endpoint)
    try:
        sock.send(json.dumps(body).encode())
        if not sock.poll(timeout_ms, zmq.POLLIN):
            return None
        return json.loads(sock.recv())
    except (zmq.ZMQError, ValueError):
        return None
    finally:
        sock.close()


def result(endpoint: str, query: str, params: dict | None = None, timeout_ms: int = 1000) -> dict | None:
    """The `result` of a successful query, else None."""
    body: dict = {"query": query}
    if params is not None:
        body["params"] = params
    reply = request(endpoint, body, timeout_ms)
    if not reply or not reply.get("ok"):
        return None
    return reply.get("result")


def writer_head(endpoint: str, timeout_ms: int = 1000) -> int | None:
    """The write node's head position (`position` of its `health` reply), or None if it does not answer."""
    reply = request(endpoint, {"query": "health"}, timeout_ms)
    if not reply or not reply.get("ok"):
        return None
    return int(reply.get("position", 0))


def wait_until(predicate, deadline_s: float, interval_s: float = 0.05):
    """Polls `predicate` until it returns something truthy or `deadline_s` passes; returns the last value."""
    deadline = time.monotonic() + deadline_s
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval_s)
        value = predicate()
    return value


def read_log(endpoint: str, after: int = 0, page: int = 10_000, timeout_ms: int = 10_000) -> list[dict]:
    """Every event after `after` from a write node's catch-up endpoint (JSON log reads of `page`
    events, PROTOCOL.md § 4), in log order; raises on an error or an unanswered read."""
    events: list[dict] = []
    while True:
        sock = dial(zmq.REQ, endpoint)
        try:
            sock.send(json.dumps({"after": after, "limit": page}).encode())
            if not sock.poll(timeout_ms, zmq.POLLIN):
                raise TimeoutError(f"no answer to a log read from {endpoint} within {timeout_ms} ms")
            summary, *bodies = sock.recv_multipart()
        finally:
            sock.close()
        summary = json.loads(summary)
        if not summary.get("ok"):
            raise RuntimeError(f"log read after {after}: {summary}")
        events += [json.loads(body) for body in bodies]
        if summary["scannedTo"] >= summary["head"]:
            return events
        after = summary["scannedTo"]
