"""The secure mode from a pyzmq client's side (docs/PROTOCOL.md § Security): a real write node and
orders projector started with `--keys`, reached over CURVE with keys read from the certificate
files `prism keys generate` writes. One system per module; each test uses its own keys where it
revokes one, so the tests do not depend on each other's order.
"""

import json
import os
import signal
import subprocess
import time
import uuid

import pytest
import zmq

from conftest import RECEIVE_TIMEOUT_MS, READY_DEADLINE_S, STOP_DEADLINE_S, WriteNode, bin_dir, free_port, receive
from lagexp.keys import ClientKeys, fingerprint, generate, read_certificate

# name → roles (None: a key no server admits). The write node and the projector serve with their own.
KEYS = {
    "write-node": None, "orders-projector": "projector",
    "admin": "admin", "writer": "writer", "reader": "reader", "follower": "projector",
    "revoked-writer": "writer", "revoked-follower": "projector", "stranger": None,
}
DROPPED = "subscribers dropped"  # the write node's log line when a revocation drops its subscribers
SILENCE_MS = 1500  # long enough for a CURVE handshake and a reply on loopback, many heartbeats


def forbidden(reply):
    assert reply["ok"] is False and reply["error"]["code"] == "Forbidden", reply
    return reply["error"]["message"]


def poll_until(predicate, deadline_s=10.0, what="condition"):
    deadline = time.monotonic() + deadline_s
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not within {deadline_s} s"
        time.sleep(0.05)


def request(sock, body, timeout_ms=RECEIVE_TIMEOUT_MS):
    """One request on a DEALER (REQ's envelope), the reply document."""
    sock.send_multipart([b"", json.dumps(body).encode()])
    return json.loads(receive(sock, timeout_ms)[-1])


def silent(sock, timeout_ms=SILENCE_MS):
    """True when nothing arrives on `sock` within `timeout_ms`."""
    return not sock.poll(timeout_ms, zmq.POLLIN)


class Projector:
    """The orders projector, with `--keys`, following the write node."""

    def __init__(self, context, node, data_dir, log_path, keys_dir):
        self.context, self.log_path = context, log_path
        self.query = f"tcp://127.0.0.1:{free_port()}"
        self.log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [str(bin_dir() / "orders-projector"), "--data-dir", str(data_dir), "--query-endpoint", self.query,
             "--publish-endpoint", node.publish, "--catch-up-endpoint", node.catch_up, "--keys", str(keys_dir)],
            stdout=self.log, stderr=subprocess.STDOUT)

    def socket(self, keys):
        sock = self.context.socket(zmq.DEALER)
        sock.linger = 0
        keys.apply(sock, "orders-projector")
        sock.connect(self.query)
        return sock

    def wait_ready(self, keys):
        deadline = time.monotonic() + READY_DEADLINE_S
        sock = self.socket(keys)
        try:
            while time.monotonic() < deadline:
                assert self.process.poll() is None, f"orders-projector exited: {self.log_path.read_text()}"
                sock.send_multipart([b"", b'{"query":"health"}'])
                if sock.poll(250, zmq.POLLIN):
                    return json.loads(sock.recv_multipart()[-1])
        finally:
            sock.close()
        pytest.fail(f"orders-projector not ready: {self.log_path.read_text()}")

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_DEADLINE_S)
        finally:
            self.log.close()


class System:
    def __init__(self, context, keys_dir, node, projector):
        self.context, self.keys_dir, self.node, self.projector = context, keys_dir, node, projector

    def keys(self, name):
        return ClientKeys.load(self.keys_dir, name)

    def dealer(self, name, endpoint=None):
        return self.node.socket(zmq.DEALER, endpoint or self.node.command, keys=self.keys(name))

    def subscriber(self, name):
        sub = self.node.socket(zmq.SUB, keys=self.keys(name))
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(self.node.publish)
        return sub

    def write_node_stats(self):
        return request(self.dealer("admin"), {"query": "stats"})["result"]

    def revoke(self, name):
        """Removes `name` from authorized/ and SIGHUPs the write node; returns once it reloaded."""
        before = self.write_node_stats()["refusals"]["authorizedKeys"]
        os.remove(self.keys_dir / "authorized" / f"{name}.pub")
        self.node.process.send_signal(signal.SIGHUP)
        poll_until(lambda: self.write_node_stats()["refusals"]["authorizedKeys"] == before - 1, what="the reload")


@pytest.fixture(scope="module")
def secure(tmp_path_factory):
    if not zmq.has("curve"):
        pytest.skip("this libzmq has no CURVE")
    directory = tmp_path_factory.mktemp("secure")
    keys_dir = directory / "keys"
    for name, roles in KEYS.items():
        generate(bin_dir() / "prism", keys_dir, name, roles)
    context = zmq.Context()
    node = WriteNode(context, directory / "store", directory / "write-node.log", keys=ClientKeys.load(keys_dir, "admin"))
    node.start()
    projector = Projector(context, node, directory / "orders", directory / "orders-projector.log", keys_dir)
    try:
        projector.wait_ready(ClientKeys.load(keys_dir, "admin"))
        yield System(context, keys_dir, node, projector)
    finally:
        codes = (projector.stop(), node.stop())
        context.destroy(linger=0)
        assert codes == (0, 0), f"exit codes {codes}: {node.log_path.read_text()[-3000:]}"


def register(sock, user_id):
    return request(sock, {"command": "RegisterUser", "data": {"userId": user_id, "name": "Ada", "state": "Oregon"}})


# ---- the write node ---------------------------------------------------------------------------


def test_a_writer_sends_a_command_and_the_log_records_its_principal(secure):
    user = f"u-{uuid.uuid4().hex[:8]}"
    reply = register(secure.dealer("writer"), user)
    assert reply["ok"] is True, reply
    catch_up = secure.dealer("follower", secure.node.catch_up)
    summary, *bodies = (json.loads(frame) for frame in
                        request_frames(catch_up, {"stream": f"user-{user}", "fromVersion": 0, "limit": 10}))
    assert summary["ok"] is True and len(bodies) == 1, summary
    assert bodies[0]["metadata"]["principal"] == "writer"


def request_frames(sock, body):
    sock.send_multipart([b"", json.dumps(body).encode()])
    frames = receive(sock)
    return frames[1:] if frames[0] == b"" else frames


def test_a_reader_may_query_but_not_command(secure):
    reader = secure.dealer("reader")
    message = forbidden(register(reader, "u-reader"))
    assert "reader" in message and "writer" in message
    assert request(reader, {"query": "health"})["ok"] is True  # any role may ask health and stats
    query = secure.projector.socket(secure.keys("reader"))
    reply = request(query, {"query": "countByStatus"})
    assert reply["ok"] is True, reply


def test_a_projector_key_subscribes_and_catches_up_a_reader_key_does_neither(secure):
    follower, reader = secure.subscriber("follower"), secure.subscriber("reader")
    poll_until(lambda: follower.poll(100, zmq.POLLIN), what="the follower's first message (a heartbeat)")
    assert register(secure.dealer("writer"), f"u-{uuid.uuid4().hex[:8]}")["ok"] is True
    topics = set()
    poll_until(lambda: topics.add(receive(follower)[0]) or any(t.startswith(b"e:user:") for t in topics),
               what="the event on the follower's subscription")
    assert silent(reader), "a reader key was admitted to the PUB socket"

    summary, *_ = (json.loads(f) for f in request_frames(secure.dealer("follower", secure.node.catch_up),
                                                          {"after": 0, "limit": 5}))
    assert summary["ok"] is True and summary["count"] >= 1, summary
    refused = json.loads(request_frames(secure.dealer("reader", secure.node.catch_up), {"after": 0, "limit": 5})[0])
    assert "projector" in forbidden(refused)


def test_an_unknown_key_gets_no_reply_and_is_logged_once(secure):
    before = secure.write_node_stats()["refusals"]["handshakes"]
    # ClientKeys.load reads the key pair; the stranger is in no authorized/ directory.
    for _ in range(5):
        stranger = secure.dealer("stranger")
        stranger.send_multipart([b"", b'{"query":"health"}'])
        assert silent(stranger, 500), "an unknown key got a reply"
        stranger.close()
    poll_until(lambda: secure.write_node_stats()["refusals"]["handshakes"] >= before + 5, what="5 refused handshakes")
    key = fingerprint(read_certificate(secure.keys_dir / "stranger.pub")["public-key"])
    lines = [line for line in secure.node.log_path.read_text().splitlines() if key in line]
    assert len(lines) == 1, lines
    assert "refused" in lines[0]


def test_a_writer_revoked_by_sighup_is_forbidden_on_its_open_connection(secure):
    writer = secure.dealer("revoked-writer")
    assert register(writer, f"u-{uuid.uuid4().hex[:8]}")["ok"] is True
    secure.revoke("revoked-writer")
    assert "no longer authorized" in forbidden(register(writer, f"u-{uuid.uuid4().hex[:8]}"))


def test_a_subscriber_revoked_by_sighup_stops_receiving(secure):
    revoked, follower = secure.subscriber("revoked-follower"), secure.subscriber("follower")
    for sub in (revoked, follower):
        poll_until(lambda: sub.poll(100, zmq.POLLIN), what="a first message")
    drops = secure.node.log_path.read_text().count(DROPPED)
    secure.revoke("revoked-follower")
    # A PUB socket cannot check messages: the write node drops every subscriber after a revocation,
    # and the handshake admits again only those still authorized.
    poll_until(lambda: secure.node.log_path.read_text().count(DROPPED) > drops, what="the subscribers dropped")
    while revoked.poll(0, zmq.POLLIN):
        revoked.recv_multipart()  # published before the drop
    writer = secure.dealer("writer")
    user = f"u-{uuid.uuid4().hex[:8]}"
    assert register(writer, user)["ok"] is True
    # The follower is admitted again; the event may fall in its reconnection gap, so wait for any
    # event after the drop (catch-up repairs such gaps), sending more until one arrives.
    def follower_sees_an_event():
        while follower.poll(200, zmq.POLLIN):
            if receive(follower)[0].startswith(b"e:user:"):
                return True
        assert register(writer, f"u-{uuid.uuid4().hex[:8]}")["ok"] is True
        return False
    poll_until(follower_sees_an_event, what="an event on the re-admitted follower")
    assert silent(revoked), "the revoked subscriber still receives"


# ---- the projector ----------------------------------------------------------------------------


def test_admin_may_rebuild_a_projector_a_reader_may_not(secure):
    refused = request(secure.projector.socket(secure.keys("reader")), {"query": "rebuild"})
    assert "admin" in forbidden(refused)
    reply = request(secure.projector.socket(secure.keys("admin")), {"query": "rebuild"})
    assert reply["ok"] is True, reply
