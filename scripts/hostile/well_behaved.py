"""The well-behaved client: a PlaceOrder command to the write node, then a read of that order from
one projector (rotating through them) with `minPosition` = the command's position, over and over.

Every request must succeed; its round trip (send to reply, in seconds) is recorded. A request that
times out or answers `ok: false` is a failure (counted with its reason, never retried).
"""

from __future__ import annotations

import itertools
import json
import statistics
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Callable

import zmq

REQUEST_TIMEOUT_MS = 10_000


def projector_query(name: str, order_id: str, user_id: str) -> dict:
    """A query that reads the order back from projector `name`."""
    return {
        "orders": {"query": "order", "params": {"orderId": order_id}},
        "status": {"query": "orderStatus", "params": {"orderId": order_id}},
        "search": {"query": "search", "params": {"text": "hostile", "limit": 1}},
        "history": {"query": "monthly", "params": {"userId": user_id, "from": "2020-01", "to": "2029-12"}},
    }[name]


@dataclass
class Rounds:
    """Round trips (s) and failures of one phase."""

    trips: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    by_target: dict[str, list[float]] = field(default_factory=dict)

    @property
    def median(self) -> float | None:
        return statistics.median(self.trips) if self.trips else None

    def summary(self) -> dict:
        return {"requests": len(self.trips) + len(self.failures), "failures": len(self.failures),
                "medianMs": None if self.median is None else round(self.median * 1000, 3),
                "medianMsByTarget": {t: round(statistics.median(v) * 1000, 3) for t, v in sorted(self.by_target.items())},
                "firstFailures": self.failures[:5]}


class WellBehavedClient:
    """`secure`, in secure mode, sets a socket's CURVE keys for the endpoint it will connect to."""

    def __init__(self, context: zmq.Context, command: str, queries: dict[str, str],
                 secure: Callable[[zmq.Socket, str], None] | None = None):
        self.context, self.command_endpoint, self.query_endpoints, self.secure = context, command, queries, secure
        self.user_id = f"wb-{uuid.uuid4().hex[:12]}"
        self._orders = itertools.count(1)
        self._targets = itertools.cycle(sorted(queries))
        self.command = self._socket(command)
        self.queries = {name: self._socket(endpoint) for name, endpoint in queries.items()}

    def _socket(self, endpoint: str) -> zmq.Socket:
        sock = self.context.socket(zmq.REQ)
        sock.linger = 0
        if self.secure:
            self.secure(sock, endpoint)
        sock.connect(endpoint)
        return sock

    def close(self) -> None:
        for sock in [self.command, *self.queries.values()]:
            sock.close(linger=0)

    def _request(self, sock: zmq.Socket, body: dict, rounds: Rounds, target: str = "command") -> dict | None:
        started = time.monotonic()
        sock.send(json.dumps(body).encode())
        if not sock.poll(REQUEST_TIMEOUT_MS, zmq.POLLIN):
            rounds.failures.append(f"no reply within {REQUEST_TIMEOUT_MS} ms to {body}")
            # A REQ socket without its reply cannot send again: replace it.
            self._replace(sock)
            return None
        reply = json.loads(sock.recv())
        if not reply.get("ok"):
            rounds.failures.append(f"{body} → {reply}")
            return None
        rounds.trips.append(time.monotonic() - started)
        rounds.by_target.setdefault(target, []).append(rounds.trips[-1])
        return reply

    def _replace(self, sock: zmq.Socket) -> None:
        if sock is self.command:
            self.command = self._socket(self.command_endpoint)
        for name, query in self.queries.items():
            if query is sock:
                self.queries[name] = self._socket(self.query_endpoints[name])
        sock.close(linger=0)

    def register(self) -> None:
        reply = self._request(self.command, {"command": "RegisterUser", "data": {
            "userId": self.user_id, "name": "Well Behaved", "state": "Oregon"}}, Rounds())
        if reply is None:
            raise RuntimeError("the well-behaved client could not register its user")

    def round(self, rounds: Rounds) -> None:
        """One command and one query of the order it placed."""
        order_id = f"{self.user_id}-{next(self._orders)}"
        placed = self._request(self.command, {"command": "PlaceOrder", "data": {
            "orderId": order_id, "userId": self.user_id, "amountCents": 4999, "description": "hostile neighbours"}}, rounds)
        if placed is None:
            return
        name = next(self._targets)
        query = projector_query(name, order_id, self.user_id)
        self._request(self.queries[name], {**query, "minPosition": placed["position"], "timeoutMs": REQUEST_TIMEOUT_MS - 1000},
                      rounds, name)

    def health(self, target: str) -> dict | None:
        """The `health` reply of the write node (`command`) or a projector, None if it does not answer."""
        return self._request(self.command if target == "command" else self.queries[target], {"query": "health"}, Rounds())

    def wait_applied(self, deadline_s: float = 60.0) -> tuple[int | None, dict[str, int | None]]:
        """The write node's head, and what each projector has applied once it reached it (bounded wait)."""
        head = (self.health("command") or {}).get("position")
        applied: dict[str, int | None] = {}
        deadline = time.monotonic() + deadline_s
        for name in self.queries:
            while True:
                applied[name] = ((self.health(name) or {}).get("result") or {}).get("applied")
                if head is None or (applied[name] or 0) >= head or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        return head, applied

    def run(self, seconds: float, at_least: int = 20, stop: threading.Event | None = None) -> Rounds:
        """Rounds for `seconds` (and at least `at_least` requests), or until `stop` is set."""
        rounds = Rounds()
        deadline = time.monotonic() + seconds
        while (time.monotonic() < deadline or len(rounds.trips) + len(rounds.failures) < at_least) \
                and not (stop and stop.is_set()):
            self.round(rounds)
        return rounds
