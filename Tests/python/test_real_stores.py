"""Read models in real PostgreSQL and Redis, end to end (issue 10): throwaway servers from
scripts/store-server on free ports, the Procfile's write node and projectors from `$PRISM_BIN_DIR`
(else `<repo>/.build/debug`), every wait a bounded poll.

- the seed scenario on `--stores postgres,redis`, read-your-writes, the same answers as embedded;
- `kill -9` of each real-store projector under load: its model equals a rebuild's (lag-experiment);
- the database itself killed and restarted under load: `disconnected` while down, then nothing lost;
- wrong credentials and a closed port: `disconnected`, a message naming the cause, still serving.

The loads are short here (a few seconds at 500 commands/s); scripts/soak runs them longer with
PRISM_REAL_STORES_SECONDS and PRISM_REAL_STORES_RATE.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from lagexp import checks, stores, wire  # noqa: E402
from lagexp.loadgen import Load  # noqa: E402
from lagexp.system import Process, System, Topology, cleanup_all, free_port  # noqa: E402
from conftest import bin_dir, require_binaries  # noqa: E402
from seed_scenario import SEED, SEED_QUERIES, assert_seed_answers, comparable, query  # noqa: E402

PROJECTORS = ["orders", "search", "status", "history"]
DEADLINE_S = 60.0
LOAD_SECONDS = float(os.environ.get("PRISM_REAL_STORES_SECONDS") or 4)
LOAD_RATE = int(os.environ.get("PRISM_REAL_STORES_RATE") or 500)
USERS = 200


@pytest.fixture
def start_system(tmp_path):
    """Starts servers for the stores, then the write node and `projectors` pointed at them;
    `extra` adds flags to every projector (a URL of the test's own). Everything ends at teardown."""
    started = []

    def start(projectors, store_list, extra=()):
        require_binaries()
        (tmp_path / "logs").mkdir(exist_ok=True)
        servers = stores.Servers(stores.assign(projectors, store_list), tmp_path / "logs")
        started.append(servers.remove)
        servers.start()
        system = System(REPO / "Procfile", bin_dir(), tmp_path, Topology.local(projectors), projectors, servers=servers)
        for name in projectors:
            system.processes[name].argv += list(extra)
        started.append(system.stop)
        system.start()
        return system

    yield start
    for stop in reversed(started):
        stop()
    cleanup_all()


def send(system, command, **data) -> int:
    reply = wire.request(system.topology.command, {"command": command, "data": data}, timeout_ms=10_000)
    assert reply and reply["ok"], (command, data, reply)
    return reply["position"]


def health(system, name) -> dict:
    return wire.result(system.topology.query[name], "health", timeout_ms=2000) or {}


def start_copy(system, name, store_prefix) -> Process:
    """Another projector `name` on the same write node, from position 0 in a fresh data directory:
    embedded (store_prefix None) or in the same server under other names. Answers on rebuild_query."""
    topo = system.topology
    argv = system.projector_argv(name, system.run_dir / "data" / f"{name}-copy", topo.rebuild_query_bind[name],
                                 store_prefix=store_prefix)
    copy = Process(f"{name}-copy", None, argv, system.run_dir / "logs" / f"{name}-copy.log", system.launch)
    copy.start()
    return copy


def test_seed_scenario_on_postgres_and_redis_answers_like_embedded(start_system):
    system = start_system(PROJECTORS, ["postgres", "redis"])
    assert {p: system.store(p) for p in PROJECTORS} == {
        "orders": "postgres", "search": "postgres", "status": "redis", "history": "postgres"}
    position = 0
    for command, data in SEED:
        position = send(system, command, **data)
    # Read your writes: asked right after the last write, each answers once it has applied it.
    q = system.topology.query
    assert_seed_answers(q, position)

    copies = [start_copy(system, name, None) for name in PROJECTORS]
    for projector, name, params in SEED_QUERIES:
        real = query(q[projector], name, params, position)
        embedded = query(system.topology.rebuild_query[projector], name, params, position)
        assert comparable(projector, real) == comparable(projector, embedded), (projector, name, params)
    for copy in copies:
        copy.stop()


def test_kill_9_of_each_real_store_projector_under_load_equals_a_rebuild(tmp_path):
    """The lag experiment on real stores: each projector SIGKILLed under load (wherever it is in
    its batch: events arrive all the time) and restarted on the same server; afterwards every model
    has the head and the digest of a copy built from position 0 in the same server under other names."""
    spacing = LOAD_SECONDS / (len(PROJECTORS) + 1)
    faults = [f"--fault=kill:{name}@{spacing * (i + 1):.2f}+0.3" for i, name in enumerate(PROJECTORS)]
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "lag-experiment"), "--bin-dir", str(bin_dir()), "--rates", str(LOAD_RATE),
         "--duration", str(LOAD_SECONDS), "--users", str(USERS), "--stores", "postgres,redis",
         "--results-dir", str(tmp_path), *faults],
        capture_output=True, text=True, timeout=300 + 2 * LOAD_SECONDS)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-6000:]}"
    summary = json.loads((Path(proc.stdout.strip().splitlines()[-1]) / "summary.json").read_text())
    [run] = summary["runs"]
    assert summary["options"]["stores"] == ["postgres", "redis"]
    assert run["checks"]["zeroEventsLost"] is True and run["checks"]["digestsEqual"] is True, run["checks"]
    for name in PROJECTORS:
        assert run["projectors"][name]["starts"] == 2, (name, run["projectors"][name])
        assert run["projectors"][name]["store"] == ("redis" if name == "status" else "postgres")
    assert all(fault["error"] is None and fault["projectors"][fault["spec"][5:].split("@")[0]]["caughtUp"]
               for fault in run["faults"]), run["faults"]


@pytest.mark.parametrize("kind,projector", [("postgres", "orders"), ("redis", "status")])
def test_database_killed_and_restarted_under_load_loses_nothing(start_system, tmp_path, kind, projector):
    system = start_system([projector], [kind])
    server = system.servers.servers[kind]
    endpoint = system.topology.query[projector]
    load = Load(bin_dir(), system.topology.command, {}, rate=LOAD_RATE, duration=LOAD_SECONDS, arrivals="constant",
                connections=2, users=USERS, size=60, log_path=tmp_path / "load.log")
    load.start()
    try:
        # Killed once the projector is applying the timed load's events.
        moving = wire.wait_until(lambda: health(system, projector).get("applied", 0) > USERS + LOAD_RATE // 4, DEADLINE_S)
        assert moving, health(system, projector)
        server.kill()
        down = wire.wait_until(lambda: (h := health(system, projector)).get("status") == "disconnected" and h, DEADLINE_S)
        assert down, f"not disconnected while {kind} was down: {health(system, projector)}"
        assert f"127.0.0.1:{server.port}" in down["storeError"], down
        stats = wire.result(endpoint, "stats", timeout_ms=2000)
        assert stats and stats["storeFailures"] > 0, stats
        server.start()
        report = load.wait()
    finally:
        load.stop()
    check = checks.run(system)
    assert check["allApplied"] and check["digestsEqual"], check
    acknowledged = checks.acknowledged(report, check["head"], check["projectors"])
    assert acknowledged["allReached"], (acknowledged, report.get("errors"))
    assert health(system, projector)["status"] == "live"


# (projector, whether a server runs, its URL with a wrong password or at a closed port, what the message names)
BAD_STORES = [
    pytest.param("orders", True, lambda port: stores.url("postgres", port, "wrong"), "password authentication failed",
                 id="postgres-wrong-password"),
    pytest.param("status", True, lambda port: stores.url("redis", port, "wrong"), "WRONGPASS", id="redis-wrong-password"),
    pytest.param("orders", False, lambda port: stores.url("postgres", port), "127.0.0.1:{port}", id="postgres-closed-port"),
    pytest.param("status", False, lambda port: stores.url("redis", port), "127.0.0.1:{port}", id="redis-closed-port"),
]


@pytest.mark.parametrize("projector,serving,bad_url,cause", BAD_STORES)
def test_unusable_store_is_reported_disconnected_and_the_projector_keeps_serving(tmp_path, projector, serving,
                                                                                 bad_url, cause):
    """A server with other credentials (Redis with requirepass), or nothing listening: the projector
    starts anyway, `health` says `disconnected` and names the cause, `stats` answers, and model
    queries are `Unavailable` rather than stale answers."""
    kind = stores.SUPPORTED[projector][0]
    server = stores.Server(kind, tmp_path / f"{kind}.log", password="prism").start() if serving else None
    port = server.port if server else free_port()  # nothing listens there
    cause = cause.format(port=port)
    system = System(REPO / "Procfile", bin_dir(), tmp_path, Topology.local([projector]), [projector])
    system.processes[projector].argv += ["--store", kind, f"--{kind}-url", bad_url(port)]
    try:
        system.start()
        send(system, "RegisterUser", userId="ada", name="Ada", state="California")
        send(system, "PlaceOrder", orderId="o-1", userId="ada", amountCents=100, description="x")
        reported = wire.wait_until(lambda: (h := health(system, projector)).get("status") == "disconnected"
                                   and cause in json.dumps(h) and h, DEADLINE_S)
        assert reported, f"health does not say disconnected naming {cause!r}: {health(system, projector)}"
        assert wire.result(system.topology.query[projector], "stats", timeout_ms=2000) is not None
        name, params = ("order", {"orderId": "o-1"}) if projector == "orders" else ("orderStatus", {"orderId": "o-1"})
        reply = wire.request(system.topology.query[projector], {"query": name, "params": params}, timeout_ms=5000)
        assert reply and reply["ok"] is False and reply["error"]["code"] == "Unavailable", reply
        assert not system.processes[projector].exited()
    finally:
        system.stop()
        if server:
            server.remove()
        cleanup_all()
