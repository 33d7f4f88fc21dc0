"""CQRS without event sourcing, end to end (issue 11): the state-stored orders app
(examples/orders-state-stored) on a throwaway PostgreSQL, `outbox-relay` in outbox or CDC mode, the
write node and the four projectors from `$PRISM_BIN_DIR` (else `<repo>/.build/debug`), real
processes on free ports, every wait a bounded poll.

- the app's SQL rules are the domain's: the same commands accepted and rejected, with the same
  messages, as by the event-sourced write node, and a rejected command leaves no outbox row;
- the seed scenario through the relay answers exactly as through the write node, read-your-writes
  by the relay's `positionOf` and the projectors' `minPosition` (outbox and CDC);
- a transaction that took its outbox sequence first but commits last is relayed all the same;
- 8 concurrent application writers: every committed change is in the log once, and each stream's
  events are in the order their transactions committed (a user's address changes form one chain).
"""

import random
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from lagexp import outbox, stores, wire  # noqa: E402
from lagexp.system import cleanup_all  # noqa: E402
from conftest import require_binaries, write_node  # noqa: E402,F401  (write_node: a fixture)
from seed_scenario import SEED, assert_seed_answers  # noqa: E402

PROJECTORS = ["orders", "search", "status", "history"]
driver = outbox.load_driver()
DEADLINE_S = 60.0


@pytest.fixture
def deploy(tmp_path):
    """Starts the example in `mode` (the app's database, the write node and projectors, the relay);
    everything ends at teardown."""
    started = []

    def start(mode):
        bin_dir = require_binaries()
        if not (bin_dir / outbox.RELAY).exists():
            pytest.fail(f"{bin_dir / outbox.RELAY} does not exist: build it (swift build) or set PRISM_BIN_DIR")
        deployment = outbox.Deployment(mode, bin_dir, tmp_path, PROJECTORS)
        started.append(deployment)
        return deployment.start()

    yield start
    for deployment in started:
        deployment.stop()
    cleanup_all()


@pytest.fixture
def database(tmp_path):
    """A throwaway PostgreSQL with the app's schema, the outbox on."""
    server = stores.Server("postgres", tmp_path / "postgres.log").start()
    try:
        driver.install(server.url, outbox=True)
        yield server.url
    finally:
        server.remove()


# Each rule of OrdersDomain.decide, broken once, between commands that pass.
RULES = [
    ("RegisterUser", {"userId": "ada", "name": "Ada", "state": "California"}),
    ("RegisterUser", {"userId": "ada", "name": "Ada", "state": "Texas"}),
    ("ChangeUserAddress", {"userId": "nobody", "state": "Texas"}),
    ("PlaceOrder", {"orderId": "o-1", "userId": "nobody", "amountCents": 100, "description": "lamp"}),
    ("PlaceOrder", {"orderId": "o-1", "userId": "ada", "amountCents": 100, "description": "lamp"}),
    ("PlaceOrder", {"orderId": "o-1", "userId": "ada", "amountCents": 200, "description": "lamp again"}),
    ("ShipOrder", {"orderId": "o-1"}),
    ("ConfirmPayment", {"orderId": "o-9"}),
    ("ConfirmPayment", {"orderId": "o-1"}),
    ("ConfirmPayment", {"orderId": "o-1"}),
    ("ShipOrder", {"orderId": "o-1"}),
    ("ShipOrder", {"orderId": "o-1"}),
    ("CancelOrder", {"orderId": "o-1", "reason": "late"}),
    ("PlaceOrder", {"orderId": "o-2", "userId": "ada", "amountCents": 300, "description": "socks"}),
    ("CancelOrder", {"orderId": "o-2"}),
    ("CancelOrder", {"orderId": "o-2", "reason": "again"}),
    ("ConfirmPayment", {"orderId": "o-2"}),
    ("ChangeUserAddress", {"userId": "ada", "state": "Oregon"}),
]


def test_the_apps_sql_rules_are_the_domains(write_node, database):
    app = driver.OrdersApp(database)
    outcomes = []
    for command, data in RULES:
        reply = write_node.request({"command": command, "data": data})
        try:
            outbox_id = app.execute(command, data)
            sql = ("ok", None)
        except driver.Rejected as error:
            outbox_id, sql = None, ("Rejected", str(error))
        written = reply.get("events", [{}])[0] if reply["ok"] else None
        if written:
            # The outbox row is the event the write node wrote for the same command.
            [(stream, kind, data_written)] = app.connection.execute(
                "SELECT stream, type, data FROM prism_outbox WHERE id = %s", [outbox_id]).fetchall()
            event = write_node.read({"stream": stream, "fromVersion": written["version"], "limit": 1})[1][0]
            assert (stream, kind, data_written) == (written["stream"], written["type"], event["data"]), command
        outcomes.append(((command, data), ("ok", None) if reply["ok"] else (reply["error"]["code"], reply["error"]["message"]), sql))
    assert [o for o in outcomes if o[1] != o[2]] == []
    accepted = sum(1 for _, expected, _ in outcomes if expected[0] == "ok")
    assert app.connection.execute("SELECT count(*) FROM prism_outbox").fetchone()[0] == accepted


def run_seed(deployment) -> int:
    """The seed scenario through the app; returns the log position of its last write."""
    app = deployment.app()
    try:
        last = None
        for command, data in SEED:
            last = app.execute(command, data)
    finally:
        app.close()
    if deployment.mode == "outbox":
        # Read your writes: the relay says where the last row landed in the log.
        return deployment.position_of(last)
    # CDC leaves the app no row id to ask about: wait until the log holds the whole seed.
    return deployment.wait_head(len(SEED), DEADLINE_S)


@pytest.mark.parametrize("mode", outbox.MODES)
def test_seed_scenario_through_the_relay_answers_as_through_the_write_node(deploy, mode):
    deployment = deploy(mode)
    position = run_seed(deployment)
    assert position == len(SEED)  # one event per command, nothing else in the log
    assert_seed_answers(deployment.queries, position)
    log = wire.read_log(deployment.system.topology.catch_up_bind)
    assert [(e["stream"], e["type"]) for e in log] == [
        (f"user-{d['userId']}" if c in ("RegisterUser", "ChangeUserAddress") else f"order-{d['orderId']}", t)
        for (c, d), t in zip(SEED, SEED_TYPES)]


SEED_TYPES = ["UserRegistered"] * 3 + ["OrderCreated"] * 5 + [
    "PaymentConfirmed", "OrderShipped", "PaymentConfirmed", "OrderCreated", "OrderCancelled", "UserAddressChanged"]


def test_a_row_that_commits_late_is_relayed(deploy):
    """Transaction A writes its outbox row first (the lower sequence) and commits after B's rows
    were relayed: A must not be skipped."""
    deployment = deploy("outbox")
    early, late = deployment.app(), deployment.app()
    late.execute("RegisterUser", {"userId": "ada", "name": "Ada", "state": "California"})
    with early.transaction():
        first = early.execute("PlaceOrder", {"orderId": "o-1", "userId": "ada", "amountCents": 100, "description": "lamp"})
        seconds = [late.execute("PlaceOrder", {"orderId": f"o-{n}", "userId": "ada", "amountCents": 100 + n,
                                               "description": "socks"}) for n in range(2, 5)]
        relayed = [deployment.position_of(outbox_id) for outbox_id in seconds]
    assert deployment.position_of(first) > max(relayed)
    events = wire.read_log(deployment.system.topology.catch_up_bind)
    assert sorted(e["stream"] for e in events if e["type"] == "OrderCreated") == [f"order-o-{n}" for n in range(1, 5)]


WRITERS = 8
COMMANDS_PER_WRITER = 40
SHARED_USERS = 3


def writer(url: str, index: int, committed: list, errors: list) -> None:
    """One application writer: its own orders through their life cycle, and address changes of the
    users every writer shares (so their transactions contend for the same rows)."""
    app, rng = driver.OrdersApp(url), random.Random(index)
    mine = []  # (orderId, status)
    try:
        for n in range(COMMANDS_PER_WRITER):
            choice = rng.random()
            if choice < 0.3:
                # A state no one else writes: CDC maps only a real change to UserAddressChanged.
                command, data = "ChangeUserAddress", {"userId": f"shared-{rng.randrange(SHARED_USERS)}",
                                                       "state": f"State {index}.{n}"}
            elif choice < 0.6 or not mine:
                order_id = f"w{index}-{n}"
                command, data = "PlaceOrder", {"orderId": order_id, "userId": f"shared-{rng.randrange(SHARED_USERS)}",
                                               "amountCents": 100 + n, "description": "concurrent socks"}
                mine.append(order_id)
            else:
                order_id = rng.choice(mine)
                command = rng.choice(["ConfirmPayment", "ShipOrder", "CancelOrder"])
                data = {"orderId": order_id}
            try:
                committed.append((index, command, data, app.execute(command, data)))
            except driver.Rejected:
                pass  # a step the order's state does not allow: nothing committed, nothing relayed
    except Exception as error:  # reported by the test, not lost in the thread
        errors.append(error)
    finally:
        app.close()


@pytest.mark.parametrize("mode", outbox.MODES)
def test_eight_concurrent_writers_keep_each_streams_commit_order(deploy, mode):
    deployment = deploy(mode)
    setup = deployment.app()
    registered = [setup.execute("RegisterUser", {"userId": f"shared-{n}", "name": f"Shared {n}", "state": "California"})
                  for n in range(SHARED_USERS)]
    committed, errors = [], []
    threads = [threading.Thread(target=writer, args=(deployment.url, i, committed, errors)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    total = SHARED_USERS + len(committed)
    # Everything committed reaches the log, and nothing more.
    assert deployment.wait_head(total, DEADLINE_S) == total
    events = wire.read_log(deployment.system.topology.catch_up_bind)
    assert len(events) == total
    if mode == "outbox":
        # The relay appends each outbox row with the row's id: each once.
        assert sorted(e["id"] for e in events) == sorted([*registered, *(c[3] for c in committed)])
    streams: dict[str, list[dict]] = {}
    for event in events:
        streams.setdefault(event["stream"], []).append(event)
    # Each writer's commands on its own orders, in the order it committed them, are that order's stream.
    for index in range(WRITERS):
        orders = {}
        for _, command, data, _ in (c for c in committed if c[0] == index and "orderId" in c[2]):
            orders.setdefault(data["orderId"], []).append(command)
        for order_id, commands in orders.items():
            assert [e["type"] for e in streams[f"order-{order_id}"]] == [EVENT_OF[c] for c in commands], order_id
    # Address changes of a shared user, from 8 writers at once: one unbroken chain, ending where the table ends.
    final = dict(setup.connection.execute("SELECT user_id, state FROM users").fetchall())
    for n in range(SHARED_USERS):
        chain = streams[f"user-shared-{n}"]
        state = chain[0]["data"]["state"]
        for event in chain[1:]:
            assert event["data"]["previousState"] == state, chain
            state = event["data"]["state"]
        assert state == final[f"shared-{n}"]
    setup.close()


EVENT_OF = {"PlaceOrder": "OrderCreated", "ConfirmPayment": "PaymentConfirmed", "ShipOrder": "OrderShipped",
            "CancelOrder": "OrderCancelled", "ChangeUserAddress": "UserAddressChanged", "RegisterUser": "UserRegistered"}
