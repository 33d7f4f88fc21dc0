"""The hostile clients, one process each: `python3 -m hostile.attacks NAME --endpoints JSON --scale suite|full`.

A run has three steps so the measurer can take its baseline in between: the attack prepares (e.g.
fills the log), prints `ready`, waits for a line on stdin, attacks, prints `done <JSON counts>`,
and keeps its sockets open (whatever it left queued stays queued) until stdin closes.

Each attack is sized by `SCALES[name][scale]`: `suite` is the short run of `Tests/python`, `full`
the issue's strength (`scripts/soak`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
import uuid
from pathlib import Path

import zmq

SCALES = {
    "idle": {"suite": {"seconds": 4}, "full": {"seconds": 60}},
    "no-read": {"suite": {"seconds": 6}, "full": {"seconds": 120}},
    "connection-churn": {"suite": {"connections": 3000}, "full": {"connections": 10_000}},
    # Paced, events of 500 bytes: the appends are the ordinary traffic the subscriber falls behind
    # on, not a load test; `full` is twice the write node's PUB queue per subscriber (20000).
    "slow-subscriber": {"suite": {"events": 6000, "perSecond": 1500}, "full": {"events": 40_000, "perSecond": 1000}},
    "query-flood": {"suite": {"seconds": 6}, "full": {"seconds": 120}},
    "whole-log": {"suite": {"log_events": 10_000, "seconds": 4}, "full": {"log_events": 50_000, "seconds": 60}},
    "max-size": {"suite": {"messages": 8}, "full": {"messages": 100}},
    "curve-garbage": {"suite": {"handshakes": 1000}, "full": {"handshakes": 10_000}},
}

# libzmq's ZMQ_MAXMSGSIZE on each endpoint (docs/PROTOCOL.md § 7, docs/QUERIES.md): the write node's
# 16 MiB, a projector's 16 × its 64 KiB request limit (1 MiB).
MAX_MESSAGE = {"command": 16 << 20, "catchUp": 16 << 20, "query": 1 << 20}


def tcp_address(endpoint: str) -> tuple[str, int]:
    host, port = endpoint.removeprefix("tcp://").rsplit(":", 1)
    return host, int(port)


class Attack:
    def __init__(self, endpoints: dict, scale: dict):
        self.endpoints, self.scale = endpoints, scale
        self.context = zmq.Context()
        self.counts: dict[str, int] = {}

    def count(self, key: str, n: int = 1) -> None:
        self.counts[key] = self.counts.get(key, 0) + n

    def socket(self, kind: int, endpoint: str, **options) -> zmq.Socket:
        sock = self.context.socket(kind)
        sock.linger = 0
        for name, value in options.items():
            sock.setsockopt(getattr(zmq, name), value)
        sock.connect(endpoint)
        return sock

    def request_endpoints(self) -> dict[str, str]:
        """Every endpoint that answers requests: command, catch-up, each projector's queries."""
        return {"command": self.endpoints["command"], "catchUp": self.endpoints["catchUp"],
                **{f"query:{name}": ep for name, ep in self.endpoints["queries"].items()}}

    def prepare(self) -> None:
        pass

    def attack(self) -> None:
        raise NotImplementedError

    def send_in_turn(self, endpoints: dict[str, str], bodies: dict[str, bytes], seconds: float, read: bool,
                     **options) -> None:
        """One client, one connection at a time: to each endpoint in turn, for an equal part of `seconds`,
        its body (same key) as fast as the connection takes it (never blocking); with `read` it also
        takes whatever replies arrived, else it never reads. The connection stays open to the end."""
        for key, endpoint in endpoints.items():
            sock = self.socket(zmq.DEALER, endpoint, **options)
            deadline = time.monotonic() + seconds / len(endpoints)
            while time.monotonic() < deadline:
                try:
                    sock.send(bodies[key], zmq.NOBLOCK)
                    self.count(f"sent:{key}")
                except zmq.Again:
                    time.sleep(0.001)
                while read and sock.poll(0, zmq.POLLIN):
                    sock.recv_multipart()
                    self.count(f"replies:{key}")


class NoRead(Attack):
    """Sends requests to every request endpoint in turn and never reads a reply (its receive buffers as
    small as they go, so the replies back up into the server)."""

    def attack(self) -> None:
        endpoints = self.request_endpoints()
        bodies = {key: b'{"after": 0}' if key == "catchUp" else b'{"query": "stats"}' for key in endpoints}
        self.send_in_turn(endpoints, bodies, self.scale["seconds"], read=False, RCVHWM=1, RCVBUF=4096)


class ConnectionChurn(Attack):
    """Opens and drops connections to every endpoint (PUB too): half bare TCP (connect, close), half
    ZeroMQ sockets that send one request and close without waiting for the reply."""

    def attack(self) -> None:
        endpoints = [*self.request_endpoints().items(), ("publish", self.endpoints["publish"])]
        for i in range(self.scale["connections"]):
            key, endpoint = endpoints[i % len(endpoints)]
            if i % 2 == 0:
                with socket.create_connection(tcp_address(endpoint), timeout=5):
                    pass
                self.count("tcp")
            else:
                kind = zmq.SUB if key == "publish" else zmq.DEALER
                sock = self.socket(kind, endpoint)
                if kind == zmq.DEALER:
                    sock.send(b'{"query": "health"}' if key != "catchUp" else b'{"after": 0, "limit": 1}')
                sock.close(linger=0)
                self.count("zmq")


class SlowSubscriber(Attack):
    """A subscriber to every event that never reads, while the log grows by `events` (generic appends of
    a category no projector follows): PUB must drop for it alone, the write node's memory bounded."""

    def prepare(self) -> None:
        self.subscriber = self.socket(zmq.SUB, self.endpoints["publish"], RCVHWM=1, RCVBUF=4096)
        self.subscriber.setsockopt(zmq.SUBSCRIBE, b"")

    def attack(self) -> None:
        append_filler(self, self.scale["events"], per_second=self.scale["perSecond"], event_bytes=500)


def append_filler(attack: Attack, events: int, per_request: int = 500, per_second: float | None = None,
                  event_bytes: int = 1000) -> None:
    """Appends `events` events of about `event_bytes` to streams of category `filler`, at most `per_second`."""
    sock = attack.socket(zmq.REQ, attack.endpoints["command"])
    text = "f" * event_bytes
    started = time.monotonic()
    for start in range(0, events, per_request):
        if per_second:
            time.sleep(max(0.0, started + start / per_second - time.monotonic()))
        body = {"append": {"stream": f"filler-{uuid.uuid4().hex[:8]}", "events": [
            {"id": str(uuid.uuid4()), "type": "Filled", "data": {"text": text}}
            for _ in range(min(per_request, events - start))]}}
        sock.send(json.dumps(body).encode())
        if not sock.poll(30_000, zmq.POLLIN):
            raise RuntimeError("the write node did not answer an append within 30 s")
        reply = json.loads(sock.recv())
        if not reply.get("ok"):
            raise RuntimeError(f"append failed: {reply}")
        attack.count("appended", len(body["append"]["events"]))
    sock.close()


class QueryFlood(Attack):
    """Pipelines queries as fast as it can to each query endpoint (the write node's too) in turn, reading the replies."""

    def attack(self) -> None:
        endpoints = {key: ep for key, ep in self.request_endpoints().items() if key != "catchUp"}
        queries = {
            "command": {"query": "stats"},
            "query:orders": {"query": "ordersByStatus", "params": {"status": "payment_pending", "limit": 50}},
            "query:status": {"query": "userOrders", "params": {"userId": "nobody", "limit": 3}},
            "query:search": {"query": "search", "params": {"text": "hostile neighbours", "limit": 10}},
            "query:history": {"query": "monthly", "params": {"userId": "nobody", "from": "2020-01", "to": "2029-12"}},
        }
        self.send_in_turn(endpoints, {key: json.dumps(q).encode() for key, q in queries.items()}, self.scale["seconds"], read=True)


class WholeLog(Attack):
    """Asks the catch-up endpoint for the whole log at once, over and over (JSON and binary, from 0, with
    the largest limit, and a limit past it, which must be refused), reading the replies."""

    def prepare(self) -> None:
        append_filler(self, self.scale["log_events"])

    def attack(self) -> None:
        sock = self.socket(zmq.DEALER, self.endpoints["catchUp"])
        bodies = [b'{"after": 0}', b'{"after": 0, "format": "binary"}', b'{"after": 0, "limit": 10000}',
                  b'{"after": 0, "limit": 1000000000}', b'{"after": 0, "limit": 10000, "format": "binary"}']
        deadline = time.monotonic() + self.scale["seconds"]
        i = 0
        while time.monotonic() < deadline:
            # Four requests in flight: it reads, but it always has more waiting.
            while self.counts.get("sent", 0) - self.counts.get("replies", 0) < 4:
                sock.send(bodies[i % len(bodies)])
                self.count("sent")
                i += 1
            if sock.poll(1000, zmq.POLLIN):
                frames = sock.recv_multipart()
                self.count("replies")
                self.count("replyBytes", sum(len(f) for f in frames))
                summary = json.loads(frames[0])
                self.count("ok" if summary.get("ok") else f"error:{summary['error']['code']}")


class MaxSize(Attack):
    """Messages of exactly ZMQ_MAXMSGSIZE on every request endpoint (answered `TooLarge` or `Malformed`),
    and one byte more (the connection is dropped), `messages` of each per endpoint."""

    def attack(self) -> None:
        for key, endpoint in self.request_endpoints().items():
            limit = MAX_MESSAGE[key.split(":")[0]]
            at_limit = b"{" + b" " * (limit - 2) + b"}"
            over_limit = at_limit + b" "
            sock = self.socket(zmq.DEALER, endpoint)
            for _ in range(self.scale["messages"]):
                sock.send(at_limit, copy=False)
                self.count(f"atLimit:{key}")
                if sock.poll(30_000, zmq.POLLIN):
                    sock.recv_multipart()
                    self.count(f"replies:{key}")
                over = self.socket(zmq.DEALER, endpoint)
                over.send(over_limit, copy=False)
                self.count(f"overLimit:{key}")
                over.close(linger=2000)  # let it reach the server before the socket goes
            sock.close()


class Idle(Attack):
    """No attack at all, for as long as the others: the control, showing the measurement's own noise."""

    def attack(self) -> None:
        time.sleep(self.scale["seconds"])


class CurveGarbage(Attack):
    """CURVE handshakes that must fail, `handshakes` times, round the endpoints (PUB too): random bytes as
    keys, a wrong server key, an unknown client key with the right server key, a ZMTP greeting for
    CURVE followed by garbage. Each connection sends a request and goes after a short wait."""

    def attack(self) -> None:
        keys = self.endpoints["serverKeys"]
        endpoints = [*self.request_endpoints().values(), self.endpoints["publish"]]
        greeting = b"\xff" + bytes(8) + b"\x7f\x03\x00CURVE" + bytes(15) + b"\x00" + bytes(31)
        for i in range(self.scale["handshakes"]):
            endpoint = endpoints[i % len(endpoints)]
            variant = i % 4
            if variant == 3:
                try:
                    with socket.create_connection(tcp_address(endpoint), timeout=2) as conn:
                        conn.sendall(greeting + os.urandom(200))
                except OSError:
                    pass
                self.count("garbageHello")
                continue
            sock = self.context.socket(zmq.SUB if endpoint == self.endpoints["publish"] else zmq.DEALER)
            sock.linger = 0
            public, secret = zmq.curve_keypair()
            if variant == 0:
                sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = os.urandom(32), os.urandom(32), os.urandom(32)
                self.count("randomKeys")
            elif variant == 1:
                sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = public, secret, zmq.curve_keypair()[0]
                self.count("wrongServerKey")
            else:
                sock.curve_publickey, sock.curve_secretkey, sock.curve_serverkey = public, secret, keys[endpoint].encode()
                self.count("unknownClientKey")
            sock.connect(endpoint)
            if sock.socket_type == zmq.DEALER:
                sock.send(b'{"query": "health"}' if endpoint != self.endpoints["catchUp"] else b'{"after": 0}', zmq.NOBLOCK)
            if sock.poll(5, zmq.POLLIN):
                self.count("answered")  # must stay 0: no handshake here may succeed
            sock.close(linger=0)


ATTACKS = {"curve-garbage": CurveGarbage, "idle": Idle, "no-read": NoRead, "connection-churn": ConnectionChurn, "slow-subscriber": SlowSubscriber,
           "query-flood": QueryFlood, "whole-log": WholeLog, "max-size": MaxSize}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("name", choices=sorted(ATTACKS))
    parser.add_argument("--endpoints", required=True, help="JSON: command, publish, catchUp, queries {name: endpoint}")
    parser.add_argument("--scale", choices=["suite", "full"], default="suite")
    args = parser.parse_args()
    attack = ATTACKS[args.name](json.loads(args.endpoints), SCALES[args.name][args.scale])
    attack.prepare()
    print("ready", flush=True)
    sys.stdin.readline()
    attack.attack()
    print("done " + json.dumps(attack.counts), flush=True)
    sys.stdin.read()  # hold every socket open until the measurer lets go
    attack.context.destroy(linger=0)


if __name__ == "__main__":
    main()
