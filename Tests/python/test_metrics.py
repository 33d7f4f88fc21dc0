"""`--metrics-endpoint`: a real write node and orders projector serve /metrics, read here with
prometheus-client's own parser; the counters rise under load and agree with `stats`; bad values,
a taken port and malformed HTTP get precise errors and leave the endpoint serving.
"""

import json
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest
import zmq
from prometheus_client.parser import text_string_to_metric_families

from conftest import STOP_DEADLINE_S, WriteNode, bin_dir, free_port, receive, require_binaries
from lagexp import outbox, wire  # conftest puts scripts/ on the path
from lagexp.system import cleanup_all

DEADLINE_S = 20.0
URL = re.compile(rb"http://127\.0\.0\.1:(\d+)/metrics")


def metrics_port(log_path: Path, process: subprocess.Popen) -> int:
    """The port a process bound for `--metrics-endpoint 0`, from its 'metrics served' log line."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        found = URL.search(log_path.read_bytes())
        if found:
            return int(found.group(1))
        assert process.poll() is None, f"exited: {log_path.read_text()}"
        time.sleep(0.02)
    raise AssertionError(f"no 'metrics served' line in {log_path}: {log_path.read_text()}")


def families(port: int) -> list:
    """The metric families of one scrape, as prometheus-client parses the text."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
        return list(text_string_to_metric_families(response.read().decode()))


def scrape(port: int) -> dict:
    """{(sample name, ((label, value), …)): value} of one scrape."""
    return {(sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in families(port) for sample in family.samples}


def value(samples: dict, name: str, **labels) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


class Projector:
    """The orders projector following `node`, with `--metrics-endpoint 0`."""

    def __init__(self, context: zmq.Context, node: WriteNode, directory: Path):
        self.context = context
        self.query = f"tcp://127.0.0.1:{free_port()}"
        self.log_path = directory / "orders-projector.log"
        self.log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [str(bin_dir() / "orders-projector"), "--data-dir", str(directory / "orders"), "--query-endpoint", self.query,
             "--publish-endpoint", node.publish, "--catch-up-endpoint", node.catch_up, "--metrics-endpoint", "0"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.metrics = metrics_port(self.log_path, self.process)

    def socket(self) -> zmq.Socket:
        sock = self.context.socket(zmq.REQ)
        sock.linger = 0
        sock.connect(self.query)
        return sock

    def request(self, body: dict) -> dict:
        sock = self.socket()
        try:
            sock.send_json(body)
            return json.loads(receive(sock)[0])
        finally:
            sock.close()

    def stats(self) -> dict:
        return self.request({"query": "stats"})["result"]

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=STOP_DEADLINE_S)
        finally:
            self.log.close()


@pytest.fixture
def system(context, tmp_path):
    require_binaries()
    node = WriteNode(context, tmp_path / "store", tmp_path / "write-node.log", extra_args=["--metrics-endpoint", "0"])
    node.start()
    node.metrics = metrics_port(node.log_path, node.process)
    projector = Projector(context, node, tmp_path)
    try:
        yield node, projector
    finally:
        codes = (projector.stop(), node.stop())
        assert codes == (0, 0), f"exit codes {codes}: {projector.log_path.read_text()}"


def place_orders(node: WriteNode, count: int) -> int:
    """Registers a user and places `count` orders on one REQ socket; returns the last position."""
    sock = node.socket(zmq.REQ, node.command)
    user = f"u-{uuid.uuid4().hex[:8]}"
    sock.send_json({"command": "RegisterUser", "data": {"userId": user, "name": "Ada", "state": "Oregon"}})
    position = json.loads(receive(sock)[0])["position"]
    for index in range(count):
        sock.send_json({"command": "PlaceOrder", "data": {
            "orderId": f"{user}-{index}", "userId": user, "amountCents": 100 + index, "description": "blue shoes"}})
        reply = json.loads(receive(sock)[0])
        assert reply["ok"], reply
        position = reply["position"]
    return position


def wait_for(check, what: str):
    """Polls `check()` until it returns a truthy value, within a bounded deadline."""
    result = wire.wait_until(check, DEADLINE_S)
    if not result:
        raise AssertionError(f"{what} not within {DEADLINE_S} s")
    return result


def test_the_write_node_counts_what_stats_counts_and_rises_under_load(system):
    node, _ = system
    before = scrape(node.metrics)
    assert value(before, "prism_write_events_total") == 0
    head = place_orders(node, 40)
    assert node.request({"command": "ShipOrder", "data": {"orderId": "nope"}})["error"]["code"] == "Rejected"
    sock = node.socket(zmq.REQ, node.command)
    sock.send(b"{not json")
    assert json.loads(receive(sock)[0])["error"]["code"] == "Malformed"

    stats = node.request({"query": "stats"})["result"]
    after = scrape(node.metrics)
    # `stats` is answered as it is decided; the group it went out with is counted after it.
    assert value(after, "prism_write_events_total") == stats["eventsAppended"] == head
    assert value(after, "prism_write_groups_total") == stats["batches"] + 1
    assert value(after, "prism_write_head_position") == stats["head"] == head
    assert value(after, "prism_write_index_behind_events") == head - value(after, "prism_write_indexed_position")
    assert value(after, "prism_write_appends_total") == 41
    assert value(after, "prism_write_requests_total", outcome="error", code="Rejected") == 1
    assert value(after, "prism_write_requests_total", outcome="error", code="Malformed") == 1
    assert value(after, "prism_write_requests_total", outcome="error", code="WrongExpectedVersion") == 0
    # The 41 appends and the stats query (the fixture's health queries came before `before`).
    ok = ("prism_write_requests_total", (("code", "none"), ("outcome", "ok")))
    assert after[ok] - before[ok] == 42
    # A request is timed from the socket to its reply only if it appended (the Rejected one did not).
    assert value(after, "prism_write_append_seconds_count") == 41
    assert value(after, "prism_write_append_seconds_bucket", le="+Inf") == 41
    assert value(after, "prism_write_sync_seconds_count") == stats["syncUs"]["count"] + 1
    assert value(after, "prism_write_group_requests_count") == stats["batches"] + 1
    assert value(after, "prism_write_appends_refused") == 0

    # More load: every counter rises, none falls.
    place_orders(node, 10)
    later = scrape(node.metrics)
    assert value(later, "prism_write_events_total") == value(after, "prism_write_events_total") + 11
    assert value(later, "prism_write_groups_total") > value(after, "prism_write_groups_total")
    for key, count in after.items():
        if key[0].endswith(("_total", "_count", "_bucket")):
            assert later[key] >= count, key


def test_names_and_types_follow_prometheus_conventions(system):
    node, projector = system
    for port in (node.metrics, projector.metrics):
        parsed = families(port)
        assert len(parsed) >= 10, port
        for family in parsed:
            assert family.name.startswith("prism_"), family.name
            assert family.type in ("counter", "gauge", "histogram"), (family.name, family.type)
            if family.name.endswith("_seconds"):
                assert family.type == "histogram", family.name
            if family.type == "counter":
                assert all(sample.name.endswith("_total") for sample in family.samples), family.name


def test_the_projector_counts_what_stats_counts(system):
    node, projector = system
    head = place_orders(node, 30)
    wait_for(lambda: projector.stats()["applied"] >= head, "the projector applying the orders")
    reply = projector.request({"query": "ordersByStatus", "params": {"status": "payment_pending"}, "minPosition": head})
    assert reply["ok"], reply
    # A query that waits for a position applied later, one that gives up (Stale), an unknown one.
    waiter = projector.socket()
    waiter.send_json({"query": "ordersByUser", "params": {"userId": "x"}, "minPosition": head + 1, "timeoutMs": 10000})
    stale = projector.request({"query": "order", "params": {"orderId": "x"}, "minPosition": 10**9, "timeoutMs": 1})
    assert stale["error"]["code"] == "Stale"
    assert projector.request({"query": "noSuchQuery"})["error"]["code"] == "UnknownQuery"
    head = place_orders(node, 5)
    assert json.loads(receive(waiter)[0])["ok"]
    waiter.close()
    wait_for(lambda: projector.stats()["applied"] >= head, "the projector applying the second orders")

    stats = projector.stats()
    orders = {"projector": "orders"}
    # Positions follow once per pass of the projector's loop: poll, never sleep.
    samples = wait_for(
        lambda: (lambda s: s if value(s, "prism_projector_applied_position", **orders) == stats["applied"] else None)(scrape(projector.metrics)),
        "the applied position in the metrics")
    assert value(samples, "prism_projector_head_position", **orders) == stats["head"] == head
    assert value(samples, "prism_projector_behind_events", **orders) == 0
    assert value(samples, "prism_projector_events_total", **orders) == stats["eventsApplied"]
    assert value(samples, "prism_projector_transactions_total", **orders) == stats["transactions"]
    assert value(samples, "prism_projector_batch_events_count", **orders) == stats["transactions"]
    assert value(samples, "prism_projector_batch_events_sum", **orders) == stats["eventsApplied"]
    # The lag histogram holds exactly what stats' lagUs holds, in seconds.
    lag = stats["lagUs"]
    assert value(samples, "prism_projector_lag_seconds_count", **orders) == lag["count"]
    assert value(samples, "prism_projector_lag_seconds_sum", **orders) == pytest.approx(lag["mean"] * lag["count"] / 1e6, abs=1e-3)
    assert value(samples, "prism_projector_stale_answers_total", **orders) == stats["staleAnswers"] == 1
    assert value(samples, "prism_projector_position_waits_total", **orders) == 2
    assert value(samples, "prism_projector_gaps_repaired_total", **orders) == stats["gapsRepaired"]
    assert value(samples, "prism_projector_state", state="live", **orders) == 1
    assert value(samples, "prism_projector_state", state="failed", **orders) == 0
    assert value(samples, "prism_projector_rebuilding", **orders) == 0
    queries = "prism_projector_queries_total"
    assert value(samples, queries, query="ordersByStatus", outcome="ok", code="none", **orders) == 1
    assert value(samples, queries, query="ordersByUser", outcome="ok", code="none", **orders) == 1
    assert value(samples, queries, query="order", outcome="error", code="Stale", **orders) == 1
    assert value(samples, queries, query="unknown", outcome="error", code="UnknownQuery", **orders) == 1
    # The store's own figures are read at the pass after a scrape asked: the next scrape has them.
    samples = wait_for(lambda: (lambda s: s if ("prism_projector_store_connected", (("projector", "orders"),)) in s else None)(scrape(projector.metrics)),
                       "the store's figures")
    assert value(samples, "prism_projector_store_connected", **orders) == 1
    assert value(samples, "prism_projector_store_figure", store="embedded", figure="wal.maxWalBytes", **orders) > 0


def test_a_bad_metrics_endpoint_is_refused_with_what_is_wrong(tmp_path):
    require_binaries()
    for bad, problem in [("nine", 'invalid HTTP address "nine": expected host:port or a port alone'),
                         ("127.0.0.1:70000", 'invalid HTTP address "127.0.0.1:70000": the port must be a number from 0 to 65535')]:
        for binary in ("write-node", "orders-projector"):
            result = subprocess.run([str(bin_dir() / binary), "--data-dir", str(tmp_path / binary), "--metrics-endpoint", bad],
                                    capture_output=True, text=True, timeout=30)
            assert result.returncode != 0
            assert f"--metrics-endpoint: {problem}" in result.stderr, result.stderr


def test_a_taken_port_is_refused_naming_it(tmp_path):
    require_binaries()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = [free_port() for _ in range(3)]
        result = subprocess.run(
            [str(bin_dir() / "write-node"), "--data-dir", str(tmp_path / "store"), "--metrics-endpoint", str(port),
             "--command-endpoint", f"tcp://127.0.0.1:{ports[0]}", "--publish-endpoint", f"tcp://127.0.0.1:{ports[1]}",
             "--catch-up-endpoint", f"tcp://127.0.0.1:{ports[2]}"],
            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert f"--metrics-endpoint: cannot listen for HTTP on 127.0.0.1:{port}" in result.stderr, result.stderr
    assert "in use" in result.stderr, result.stderr


def raw_http(port: int, request: bytes) -> bytes:
    """Sends `request` as is and returns what comes back before the server closes (or 2 s pass)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (TimeoutError, ConnectionResetError):
            pass
        return answer


def test_malformed_http_gets_an_error_and_the_endpoint_keeps_serving(system):
    node, _ = system
    port = node.metrics
    assert raw_http(port, b"GARBAGE\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw_http(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n").startswith(b"HTTP/1.1 400")
    assert raw_http(port, b"\x00\xff" * 5000).startswith(b"HTTP/1.1 400")
    assert raw_http(port, b"GET /metr") == b""  # cut short: nothing to answer
    assert raw_http(port, b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").startswith(b"HTTP/1.1 405")
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing", timeout=5)
    assert missing.value.code == 404
    # Still serving, and so is the write node.
    assert value(scrape(port), "prism_write_appends_refused") == 0
    assert node.request({"query": "health"})["result"]["status"] == "serving"


@pytest.mark.parametrize("mode", outbox.MODES)
def test_the_outbox_relay_counts_what_stats_counts(tmp_path, mode):
    """The relay on a throwaway PostgreSQL with the example app (outbox or CDC): its metrics follow its `stats`."""
    bin_dir = require_binaries()
    deployment = outbox.Deployment(mode, bin_dir, tmp_path, ["orders"])
    deployment.relay.argv += ["--metrics-endpoint", "0"]
    try:
        deployment.start()
        port = metrics_port(deployment.relay.log_path, deployment.relay.popen)
        app = deployment.app()
        try:
            app.execute("RegisterUser", {"userId": "ada", "name": "Ada", "state": "Oregon"})
            last = app.execute("PlaceOrder", {"orderId": "o-1", "userId": "ada", "amountCents": 100, "description": "lamp"})
        finally:
            app.close()
        position = deployment.position_of(last) if mode == "outbox" else deployment.wait_head(2, DEADLINE_S)
        # positionOf answers once the write node stored the rows; they count as relayed once the
        # outbox let them go, a moment later.
        stats = wait_for(lambda: (lambda s: s if s["relayed"] == 2 else None)(
            wire.request(deployment.relay_query, {"query": "stats"})["result"]), "the rows relayed")
        samples = scrape(port)
        assert value(samples, "prism_relay_events_total") == stats["relayed"] == 2
        assert value(samples, "prism_relay_batches_total") == stats["batches"]
        assert value(samples, "prism_relay_dead_letters_total") == stats["deadLettered"] == 0
        assert value(samples, "prism_relay_position") == stats["position"] == position
        assert value(samples, "prism_relay_lag_seconds_count") == stats["lagUs"]["count"]
        if mode == "cdc":
            assert value(samples, "prism_relay_slot_retained_bytes") >= 0
            assert "retainedBytes" in stats["cdc"], stats
        else:
            assert stats["lagUs"]["count"] == 2
            assert ("prism_relay_slot_retained_bytes", ()) not in samples
        assert value(samples, "prism_relay_connected", peer="postgres") == 1
        assert value(samples, "prism_relay_connected", peer="write-node") == 1
        assert value(samples, "prism_relay_leader") == 1
        # Counted on the relay's next look at the outbox: nothing is left waiting.
        wait_for(lambda: scrape(port).get(("prism_relay_rows_waiting", ())) == 0, "rows waiting at 0")
    finally:
        deployment.stop()
        cleanup_all()
