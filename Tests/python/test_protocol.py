"""A Python client of the write node written from docs/PROTOCOL.md alone."""

import json
import struct
import time
import uuid

import zmq

from conftest import RECEIVE_TIMEOUT_MS, receive

HEADER = struct.Struct(">QQqq")  # position, previousInCategory, version, recordedAt


def register(node, user_id, state="Oregon"):
    return node.request({"command": "RegisterUser", "data": {"userId": user_id, "name": "Ada", "state": state}})


def place(node, order_id, user_id, amount=4999):
    return node.request({"command": "PlaceOrder", "data": {
        "orderId": order_id, "userId": user_id, "amountCents": amount, "description": "red running shoes"}})


def ok(reply):
    assert reply["ok"] is True, reply
    return reply


def error_code(reply):
    assert reply["ok"] is False, reply
    assert isinstance(reply["error"]["message"], str) and reply["error"]["message"]
    return reply["error"]["code"]


def workload(node):
    """Commands across two categories; returns the last position."""
    ok(register(node, "u1"))
    ok(register(node, "u2", "California"))
    ok(place(node, "o-1", "u1"))
    ok(node.request({"command": "ChangeUserAddress", "data": {"userId": "u1", "state": "Nevada"}}))
    ok(node.request({"command": "ConfirmPayment", "data": {"orderId": "o-1"}}))
    ok(place(node, "o-2", "u2", 100))
    ok(node.request({"command": "CancelOrder", "data": {"orderId": "o-2", "reason": "changed mind"}}))
    return ok(node.request({"command": "ShipOrder", "data": {"orderId": "o-1"}}))["position"]


class Follower:
    """The subscriber algorithm of PROTOCOL.md § 5, optionally filtered by one category."""

    def __init__(self, node, category=None, position=0):
        self.node = node
        self.category = category
        self.position = position
        self.applied = []  # (position, previousInCategory, body) in apply order
        self.heartbeats = []
        self.gaps = 0
        # 1. subscribe first
        self.sub = node.socket(zmq.SUB)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"h")
        self.sub.setsockopt(zmq.SUBSCRIBE, f"e:{category}:".encode() if category else b"e:")
        self.sub.connect(node.publish)

    def wait_subscribed(self, deadline_s=10.0):
        """Returns once a heartbeat arrived: the subscription is live (no slow-joiner loss after this)."""
        count = len(self.heartbeats)
        deadline = time.monotonic() + deadline_s
        while len(self.heartbeats) == count:
            assert time.monotonic() < deadline, "no heartbeat"
            self.step()

    def category_of(self, stream):
        return stream.split("-", 1)[0]

    def apply(self, body, previous):
        if self.category and self.category_of(body["stream"]) != self.category:
            return
        self.applied.append((body["position"], previous, body))
        self.position = body["position"]

    def catch_up(self):
        while True:
            request = {"after": self.position, "limit": 3}
            if self.category:
                request["categories"] = [self.category]
            summary, events = self.node.read(request)
            assert summary["ok"] is True and summary["count"] == len(events), summary
            for body in events:
                if body["position"] > self.position:
                    self.apply(body, None)
            self.position = max(self.position, summary["scannedTo"])
            if summary["scannedTo"] >= summary["head"]:
                return

    def step(self, timeout_ms=RECEIVE_TIMEOUT_MS):
        topic, header, body = receive(self.sub, timeout_ms)
        position, previous, version, recorded_at = HEADER.unpack(header)
        if topic == b"h":
            beat = json.loads(body)
            assert beat["head"] == position and beat["sentAt"] == recorded_at and previous == 0 and version == 0
            self.heartbeats.append(beat)
            head = beat["categories"].get(self.category, 0) if self.category else beat["head"]
            if head > self.position:
                self.gaps += 1
                self.catch_up()
            return
        event = json.loads(body)
        assert topic == f"e:{self.category_of(event['stream'])}:{event['type']}".encode()
        assert (event["position"], event["version"], event["recordedAt"]) == (position, version, recorded_at)
        # Stamped when the batch was staged, then when the sync covering it returned.
        assert recorded_at <= event["syncedAt"] < recorded_at + 60 * 10**9
        if self.category and self.category_of(event["stream"]) != self.category:
            return  # prefix match caught another category (e.g. `order:eu`): ignore it entirely
        if position <= self.position:
            return
        is_next = previous <= self.position if self.category else position == self.position + 1
        if not is_next:
            self.gaps += 1
            self.catch_up()
            return
        self.apply(event, previous)

    def follow_until(self, position, deadline_s=10.0):
        deadline = time.monotonic() + deadline_s
        while self.position < position:
            assert time.monotonic() < deadline, f"stuck at {self.position}, wanted {position}"
            self.step()


# ---- command endpoint -------------------------------------------------------------------------


def test_health_and_stats(write_node):
    health = ok(write_node.request({"query": "health"}))
    assert health == {"ok": True, "position": 0, "result": {"status": "serving"}}
    ok(register(write_node, "u1"))
    stats = ok(write_node.request({"query": "stats"}))
    assert stats["position"] == 1 and stats["result"]["head"] == 1
    for key in ("requests", "batches", "eventsAppended", "largestBatch", "cachedStreams"):
        assert isinstance(stats["result"][key], int)
    assert error_code(write_node.request({"query": "nope"})) == "UnknownQuery"


def test_commands_reply_positions_and_events(write_node):
    reply = ok(register(write_node, "u1"))
    assert reply == {"ok": True, "position": 1, "events": [
        {"stream": "user-u1", "version": 0, "position": 1, "type": "UserRegistered"}]}
    reply = ok(place(write_node, "o-123", "u1"))
    assert reply["position"] == 2
    assert reply["events"] == [{"stream": "order-o-123", "version": 0, "position": 2, "type": "OrderCreated"}]
    reply = ok(write_node.request({"command": "ConfirmPayment", "data": {"orderId": "o-123"}}))
    assert reply["events"] == [{"stream": "order-o-123", "version": 1, "position": 3, "type": "PaymentConfirmed"}]


def test_dealer_framing(write_node):
    dealer = write_node.socket(zmq.DEALER, write_node.command)
    dealer.send_multipart([json.dumps({"query": "health"}).encode()])
    frames = receive(dealer)
    assert len(frames) == 1 and json.loads(frames[0])["ok"] is True
    dealer.send_multipart([b"", json.dumps({"query": "health"}).encode()])
    frames = receive(dealer)
    assert len(frames) == 2 and frames[0] == b"" and json.loads(frames[1])["ok"] is True


def test_domain_rejections_and_validation(write_node):
    ok(register(write_node, "u1"))
    assert error_code(register(write_node, "u1")) == "Rejected"
    assert error_code(place(write_node, "o-1", "nobody")) == "Rejected"
    ok(place(write_node, "o-1", "u1"))
    assert error_code(write_node.request({"command": "ShipOrder", "data": {"orderId": "o-1"}})) == "Rejected"
    reply = place(write_node, "o-2", "u1", amount=0)
    assert error_code(reply) == "InvalidArgument" and "amountCents" in reply["error"]["message"]
    assert error_code(place(write_node, "o 3", "u1")) == "InvalidArgument"
    assert error_code(write_node.request({"command": "Nope", "data": {}})) == "UnknownCommand"
    assert error_code(write_node.request({"command": "PlaceOrder", "data": []})) == "InvalidArgument"
    # Nothing rejected was written.
    assert ok(write_node.request({"query": "health"}))["position"] == 2


def test_malformed_requests(write_node):
    for body in [b"not json", b"[1, 2]", b'{"hello": 1}', b'{"command": 5}', b'{"a": 1, "a": 2}',
                 b'{"command": "RegisterUser", "append": {}}', b'{"query": 1}']:
        assert error_code(write_node.request(body)) == "Malformed", body
    req = write_node.socket(zmq.REQ, write_node.command)
    req.send_multipart([b'{"query": "health"}', b"extra"])
    assert error_code(json.loads(receive(req)[0])) == "Malformed"
    req.send(b"")
    assert error_code(json.loads(receive(req)[0])) == "Malformed"
    # The node keeps serving.
    ok(write_node.request({"query": "health"}))


def test_too_large(write_node):
    big = {"append": {"stream": "blob-1", "events": [
        {"id": str(uuid.uuid4()), "type": "Blob", "data": {"x": "a" * (70 * 1024)}}]}}
    assert error_code(write_node.request(big)) == "TooLarge"
    many = {"append": {"stream": "blob-1", "events": [
        {"id": str(uuid.uuid4()), "type": "Blob"} for _ in range(1001)]}}
    assert error_code(write_node.request(many)) == "TooLarge"
    huge = b'{"query": "health", "pad": "' + b"a" * (1 << 20) + b'"}'
    assert error_code(write_node.request(huge)) == "TooLarge"


def test_append_expected_version_and_idempotent_retry(write_node):
    ids = [str(uuid.uuid4()), str(uuid.uuid4())]
    append = {"append": {"stream": "note-n1", "expectedVersion": "noStream", "events": [
        {"id": ids[0], "type": "NoteAdded", "data": {"text": "one"}, "metadata": {"by": "test"}},
        {"id": ids[1], "type": "NoteAdded", "data": {"text": "two"}}]}}
    first = ok(write_node.request(append))
    assert first["position"] == 2
    assert [(e["stream"], e["version"], e["position"]) for e in first["events"]] == [("note-n1", 0, 1), ("note-n1", 1, 2)]

    # The retry (same ids) returns the original result and writes nothing.
    assert ok(write_node.request(append)) == first
    assert ok(write_node.request({"query": "health"}))["position"] == 2

    def note(expected, text):
        return write_node.request({"append": {"stream": "note-n1", "expectedVersion": expected, "events": [
            {"id": str(uuid.uuid4()), "type": "NoteAdded", "data": {"text": text}}]}})

    assert error_code(note(0, "stale")) == "WrongExpectedVersion"
    assert error_code(note("noStream", "stale")) == "WrongExpectedVersion"
    assert ok(note(1, "three"))["events"][0]["version"] == 2
    assert ok(note("any", "four"))["events"][0]["version"] == 3
    assert error_code(note(-1, "bad")) == "InvalidArgument"
    # Half of the ids already stored: an idempotency conflict.
    conflict = {"append": {"stream": "note-n1", "events": [
        {"id": ids[0], "type": "NoteAdded"}, {"id": str(uuid.uuid4()), "type": "NoteAdded"}]}}
    assert error_code(write_node.request(conflict)) == "InvalidArgument"
    assert error_code(write_node.request({"append": {"stream": "note-n1", "events": [
        {"id": "not-a-uuid", "type": "NoteAdded"}]}})) == "InvalidArgument"
    assert error_code(write_node.request({"append": {"stream": "note-n1", "events": []}})) == "InvalidArgument"

    summary, events = write_node.read({"stream": "note-n1"})
    assert [e["data"].get("text") for e in events] == ["one", "two", "three", "four"]
    assert events[0]["metadata"] == {"by": "test"} and events[1]["metadata"] is None
    assert events[0]["id"] == ids[0]


# ---- catch-up endpoint ------------------------------------------------------------------------


def test_stream_read(write_node):
    last = workload(write_node)
    summary, events = write_node.read({"stream": "order-o-1", "fromVersion": 1, "limit": 10})
    assert summary == {"ok": True, "head": last, "count": 2, "scannedTo": last}
    assert [(e["version"], e["type"]) for e in events] == [(1, "PaymentConfirmed"), (2, "OrderShipped")]
    assert events[1]["data"] == {"orderId": "o-1", "status": "shipped", "userId": "u1"}
    summary, events = write_node.read({"stream": "order-none"})
    assert summary["count"] == 0 and events == []


def test_log_read_filters_and_scanned_to(write_node):
    last = workload(write_node)
    summary, events = write_node.read({"after": 0, "limit": 2})
    assert summary["count"] == 2 and summary["scannedTo"] == 2 and summary["head"] == last
    summary, events = write_node.read({"after": 0, "types": ["OrderShipped"]})
    assert [e["position"] for e in events] == [last] and summary["scannedTo"] >= last
    summary, events = write_node.read({"after": last - 1, "categories": ["user"]})
    assert events == [] and summary["scannedTo"] == last
    for bad in [{"after": last + 1}, {"after": 0, "limit": 0}, {"after": 0, "limit": 10001},
                {"after": -1}, {"after": 0, "bogus": 1}]:
        summary, events = write_node.read(bad)
        assert error_code(summary) == "InvalidArgument", bad


RECORD = struct.Struct("<IIQQq16sHHII")  # the binary catch-up record header (PROTOCOL.md § 4)


def read_binary(node, body):
    """A binary log read: returns (summary, events as dicts like the JSON bodies)."""
    sock = node.socket(zmq.REQ, node.catch_up)
    sock.send_json({**body, "format": "binary"})
    frames = receive(sock)
    sock.close()
    summary = json.loads(frames[0])
    if summary["ok"] is False:
        assert len(frames) == 1
        return summary, []
    assert len(frames) == 2, frames
    records, events, offset = frames[1], [], 0
    while offset < len(records):
        (length, _crc, position, version, recorded_at, uuid_bytes,
         stream_length, type_length, data_length, metadata_length) = RECORD.unpack_from(records, offset)
        no_metadata = metadata_length == 0xFFFFFFFF
        assert RECORD.size + stream_length + type_length + data_length + (0 if no_metadata else metadata_length) == length
        at = offset + RECORD.size
        fields = []
        for size in (stream_length, type_length, data_length, 0 if no_metadata else metadata_length):
            fields.append(records[at:at + size])
            at += size
        stream, kind, data, metadata = fields
        events.append({"position": position, "stream": stream.decode(), "version": version, "type": kind.decode(),
                       "id": str(uuid.UUID(bytes=uuid_bytes)), "recordedAt": recorded_at, "data": json.loads(data),
                       "metadata": None if no_metadata else json.loads(metadata)})
        offset += length
    assert len(events) == summary["count"]
    return summary, events


def test_binary_log_read_matches_json(write_node):
    last = workload(write_node)
    for body in [{"after": 0}, {"after": 0, "limit": 2}, {"after": 3, "categories": ["order"]},
                 {"after": 0, "types": ["OrderShipped", "UserRegistered"]}, {"after": last}]:
        assert read_binary(write_node, body) == write_node.read(body), body
    summary, events = read_binary(write_node, {"after": 0, "limit": 3})
    assert [e["position"] for e in events] == [1, 2, 3] and summary["scannedTo"] == 3
    for bad in [{"after": 0, "format": "xml"}, {"after": 0, "format": 1}]:
        summary, _ = write_node.read(bad)
        assert error_code(summary) == "InvalidArgument" and "format must be one of" in summary["error"]["message"], bad
    summary, _ = read_binary(write_node, {"after": last + 1})
    assert error_code(summary) == "InvalidArgument"


# ---- event stream -----------------------------------------------------------------------------


def test_subscriber_catches_up_then_follows_live(write_node):
    before = workload(write_node)  # published before anyone subscribed: only catch-up has them
    follower = Follower(write_node)
    follower.catch_up()
    assert follower.position == before
    ok(register(write_node, "u3"))
    ok(place(write_node, "o-3", "u3"))
    last = ok(write_node.request({"command": "CancelOrder", "data": {"orderId": "o-3"}}))["position"]
    follower.follow_until(last)
    positions = [p for p, _, _ in follower.applied]
    assert positions == list(range(1, last + 1))
    bodies = [b for _, _, b in follower.applied]
    assert bodies[-1]["type"] == "OrderCancelled" and bodies[-1]["data"]["reason"] == ""
    assert bodies[2]["data"] == {"amountCents": 4999, "description": "red running shoes", "orderId": "o-1",
                                 "status": "payment_pending", "userId": "u1"}


def test_subscriber_backfills_events_lost_while_disconnected(write_node):
    follower = Follower(write_node)
    follower.catch_up()
    ok(register(write_node, "u1"))
    follower.follow_until(1)
    # Events published while the subscriber is away: the heartbeat head reveals them.
    follower.sub.close(linger=0)
    last = workload_after_u1(write_node)
    follower.sub = write_node.socket(zmq.SUB)
    follower.sub.setsockopt(zmq.SUBSCRIBE, b"h")
    follower.sub.setsockopt(zmq.SUBSCRIBE, b"e:")
    follower.sub.connect(write_node.publish)
    follower.follow_until(last)
    assert [p for p, _, _ in follower.applied] == list(range(1, last + 1))
    assert follower.gaps >= 1


def workload_after_u1(node):
    ok(register(node, "u2"))
    ok(place(node, "o-1", "u1"))
    return ok(node.request({"command": "ConfirmPayment", "data": {"orderId": "o-1"}}))["position"]


def test_category_filtered_subscriber(write_node):
    ok(register(write_node, "u1"))
    ok(place(write_node, "o-1", "u1"))                      # order events: 2
    follower = Follower(write_node, category="order")
    follower.catch_up()
    follower.wait_subscribed()
    assert [p for p, _, _ in follower.applied] == [2]
    ok(register(write_node, "u2"))                          # 3 (user: not delivered)
    ok(place(write_node, "o-2", "u2"))                      # 4, previousInCategory 2
    ok(write_node.request({"command": "ChangeUserAddress", "data": {"userId": "u2", "state": "Utah"}}))  # 5
    last = ok(write_node.request({"command": "ConfirmPayment", "data": {"orderId": "o-2"}}))["position"]  # 6
    follower.follow_until(last)
    applied = follower.applied
    assert [p for p, _, _ in applied] == [2, 4, 6]
    assert all(b["stream"].startswith("order-") for _, _, b in applied)
    live = [(p, prev) for p, prev, _ in applied if prev is not None]
    assert (6, 4) in live  # previousInCategory carries the order category's previous position
    # The heartbeat reports the category head; the checkpoint reaches it.
    deadline = time.monotonic() + 5
    while not follower.heartbeats or follower.heartbeats[-1]["head"] < last:
        assert time.monotonic() < deadline
        follower.step()
    assert follower.heartbeats[-1]["categories"] == {"order": 6, "user": 5}


def test_heartbeat_carries_head(write_node):
    last = workload(write_node)
    sub = write_node.socket(zmq.SUB)
    sub.setsockopt(zmq.SUBSCRIBE, b"h")
    sub.connect(write_node.publish)
    topic, header, body = receive(sub, RECEIVE_TIMEOUT_MS)
    assert topic == b"h" and len(header) == HEADER.size == 32
    head, previous, version, sent_at = HEADER.unpack(header)
    beat = json.loads(body)
    assert head == last == beat["head"] and (previous, version) == (0, 0) and sent_at == beat["sentAt"]
    assert beat["categories"] == {"user": 4, "order": last}
    assert abs(sent_at / 1e9 - time.time()) < 60
    start = time.monotonic()
    receive(sub, RECEIVE_TIMEOUT_MS)
    assert time.monotonic() - start < write_node.heartbeat_ms / 1000 * 5


def test_category_with_colon_is_rejected(write_node):
    """A ':' in a category would make `e:order:` match `order:eu` too (PROTOCOL.md § 3)."""
    reply = write_node.request({"append": {"stream": "order:eu-1", "events": [
        {"id": str(uuid.uuid4()), "type": "OrderCreated", "data": {}}]}})
    assert reply["ok"] is False and reply["error"]["code"] == "InvalidArgument"
    assert "':' in its category" in reply["error"]["message"]
