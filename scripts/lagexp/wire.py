"""Small pyzmq helpers for the JSON request/reply queries every Prism process answers.

Every call is bounded (RCVTIMEO via poll, linger 0): a stopped or killed process must never hang
the experiment, it just yields None.
"""

from __future__ import annotations

import json
import time

import zmq

_context: zmq.Context | None = None


def context() -> zmq.Context:
    global _context
    if _context is None:
        _context = zmq.Context.instance()
    return _context


def request(endpoint: str, body: dict, timeout_ms: int = 1000) -> dict | None:
    """One request on a fresh REQ socket: the reply as a dict, or None on timeout or a bad reply."""
    sock = context().socket(zmq.REQ)
    sock.linger = 0
    try:
        sock.connect(endpoint)
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
