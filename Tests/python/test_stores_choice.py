"""`--stores` means the same everywhere: each projector uses the first listed server it has a
backend for, the rest stay embedded; `scripts/start --stores` runs the Procfile this writes."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from lagexp import procfile, stores  # noqa: E402

PROJECTORS = ["orders", "search", "status", "history"]
PORTS = {"postgres": 5570, "redis": 5571}
DIRS = {"postgres": "/var/tmp/prism-0/postgres", "redis": "/repo/data/redis"}


def generated(store_list, external=frozenset()):
    text = stores.procfile_text(REPO / "Procfile", store_list, PORTS, DIRS, set(external))
    return {entry.name: entry.argv for entry in map(procfile.parse_line, text.splitlines()) if entry}, text


@pytest.mark.parametrize("store_list,expected", [
    (["postgres", "redis"], {"orders": "postgres", "search": "postgres", "status": "redis", "history": "postgres"}),
    (["redis", "postgres"], {"orders": "postgres", "search": "postgres", "status": "redis", "history": "postgres"}),
    (["postgres"], {"orders": "postgres", "search": "postgres", "status": "embedded", "history": "postgres"}),
    (["redis"], {"orders": "embedded", "search": "embedded", "status": "redis", "history": "embedded"}),
    ([], {name: "embedded" for name in PROJECTORS}),
])
def test_each_projector_uses_the_first_listed_store_it_supports(store_list, expected):
    assert stores.assign(PROJECTORS, store_list) == expected


def test_parse_refuses_unknown_stores():
    assert stores.parse("redis, postgres,redis") == ["redis", "postgres"]
    for bad in ["", "mysql", "postgres,embedded"]:
        with pytest.raises(ValueError, match="postgres, redis"):
            stores.parse(bad)


def test_the_generated_procfile_starts_the_servers_first_and_points_each_projector_at_its_own():
    entries, _ = generated(["postgres", "redis"])
    assert list(entries)[:2] == ["postgres", "redis"]
    assert entries["postgres"] == ["scripts/store-server", "postgres", "--dir", DIRS["postgres"], "--port", "5570"]
    assert entries["redis"] == ["scripts/store-server", "redis", "--dir", DIRS["redis"], "--port", "5571"]
    original = {entry.name: entry.argv for entry in procfile.parse(REPO / "Procfile")}
    assert entries["write-node"] == original["write-node"]
    assert entries["orders"] == original["orders"] + [
        "--store", "postgres", "--postgres-url", "postgres://prism:prism@127.0.0.1:5570/prism", "--store-prefix", "prism"]
    assert entries["status"] == original["status"] + [
        "--store", "redis", "--redis-url", "redis://127.0.0.1:5571", "--store-prefix", "prism"]


def test_only_the_servers_used_are_started():
    entries, _ = generated(["redis"])
    assert "postgres" not in entries and "redis" in entries
    assert "--store" not in entries["orders"] and "--store" in entries["status"]


def test_a_server_named_by_the_environment_is_not_started_and_its_url_not_written():
    entries, text = generated(["postgres", "redis"], external={"postgres"})
    assert "postgres" not in entries and "redis" in entries
    assert entries["orders"][-4:] == ["--store", "postgres", "--store-prefix", "prism"]
    assert "postgres://" not in text


def test_the_command_line_prints_the_procfile_and_refuses_a_bad_store():
    args = [sys.executable, "-m", "lagexp.stores", "procfile", str(REPO / "Procfile"),
            "--postgres-port", "5570", "--postgres-dir", "/d", "--redis-port", "5571", "--redis-dir", "/r"]
    ok = subprocess.run([*args, "--stores", "postgres"], cwd=REPO / "scripts", capture_output=True, text=True)
    assert ok.returncode == 0 and "postgres: exec scripts/store-server postgres --dir /d --port 5570" in ok.stdout
    bad = subprocess.run([*args, "--stores", "mongo"], cwd=REPO / "scripts", capture_output=True, text=True)
    assert bad.returncode == 2 and "--stores takes" in bad.stderr


@pytest.mark.parametrize("mode,wal_level", [("outbox", "replica"), ("cdc", "logical")])
@pytest.mark.parametrize("with_stores", [False, True])
def test_start_mode_adds_the_apps_database_and_the_relay(tmp_path, mode, wal_level, with_stores):
    """`scripts/start --mode`: one PostgreSQL (the stores' own when `--stores postgres` started one),
    at the wal_level the mode needs, and a relay line that installs the app's schema first."""
    from lagexp import outbox
    source = REPO / "Procfile"
    if with_stores:
        source = tmp_path / "Procfile.stores"
        source.write_text(generated(["postgres"])[1])
    text = outbox.procfile_text(source, mode, 5570, "/var/tmp/prism-0/postgres")
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    names = [line.split(":", 1)[0] for line in lines]
    assert names == ["postgres", "write-node", "orders", "search", "status", "history", "relay"]
    assert lines[0].endswith(f"--port 5570 --wal-level {wal_level}")
    install, relay = lines[-1].split(": ", 1)[1].split(" && exec ")
    assert install.startswith("python3 examples/orders-state-stored/orders_app.py --url postgres://prism:prism@127.0.0.1:5570/prism install")
    assert f"--outbox {'on' if mode == 'outbox' else 'off'}" in install
    assert relay.startswith(f".build/release/outbox-relay --mode {mode} --postgres-url postgres://prism:prism@127.0.0.1:5570/prism")
    assert ("--tables public.users,public.orders --mapping orders" in relay) == (mode == "cdc")
