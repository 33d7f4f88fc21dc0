"""`prism dashboard` (issue 12), end to end: the Procfile's write node and projectors on free ports
(scripts/lagexp's harness), the dashboard on a free port, `prism load` for traffic.

- In headless Chromium, driven over chromedriver's W3C WebDriver API: the head and every applied
  position rise while the load runs; a projector killed with -9 shows as down within 3 s and as
  live again after its restart, with both faults listed; a screenshot is saved.
- With a plain HTTP client: the server-sent events arrive several times a second and parse as
  JSON; unknown paths get 404; the dashboard keeps serving while every process is down.
- In secure mode it reads every process with the `reader` key; a key that is not there is named.
  A hung (SIGSTOPped) projector shows as down while the others' updates keep coming.
- A projection that throws shows `failed`, with its error, as a fault.
- `--listen`: loopback by default, another address served with a warning, a bad one refused.

Screenshots go to $PRISM_DASHBOARD_RESULTS (default <repo>/results/dashboard/, outside git);
docs/images/dashboard.png is a copy of one.
"""

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "scripts"))

from lagexp import keys, wire  # noqa: E402
from lagexp.loadgen import Load  # noqa: E402
from lagexp.system import System, Topology, _registry, cleanup_all, free_port, stop_popen  # noqa: E402
from conftest import bin_dir, require_binaries  # noqa: E402
from webdriver import Browser, chromium_missing  # noqa: E402

PROJECTORS = ["orders", "search", "status", "history"]
RESULTS = Path(os.environ.get("PRISM_DASHBOARD_RESULTS") or REPO / "results" / "dashboard")
DEADLINE_S = 60.0
# The load's length and rate; the kill comes halfway, the screenshot at the end (longer for the README's).
LOAD_SECONDS = float(os.environ.get("PRISM_DASHBOARD_LOAD_SECONDS") or 20)
LOAD_RATE = 300
USERS = 50
# The bound: a killed projector shows as down within 3 s.
DOWN_WITHIN_S = 3.0


class Dashboard:
    """A `prism dashboard` process on a free port; `url` once it printed where it serves."""

    def __init__(self, log_path: Path, command: str, projectors: dict[str, str], extra: list[str] = (),
                 listen: str = "127.0.0.1:0"):
        argv = [str(bin_dir() / "prism"), "dashboard", "--listen", listen, "--command-endpoint", command,
                *[arg for name, endpoint in projectors.items() for arg in ("--projector", f"{name}={endpoint}")], *extra]
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.popen = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        _registry.add(self.popen)
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            match = re.search(r"http://(\S+):(\d+)/", log_path.read_text(errors="replace"))
            if match:
                self.host, self.port = match.group(1), int(match.group(2))
                self.url = match.group(0)
                return
            if self.popen.poll() is not None:
                raise AssertionError(f"prism dashboard exited with {self.popen.returncode}: {log_path.read_text()}")
            time.sleep(0.05)
        raise AssertionError(f"prism dashboard printed no URL within {DEADLINE_S} s: {log_path.read_text()}")

    def get(self, path: str, method: str = "GET") -> tuple[int, str, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request(method, path)
            response = connection.getresponse()
            return response.status, response.getheader("Content-Type") or "", response.read()
        finally:
            connection.close()

    def events(self, count: int) -> list[tuple[str, dict]]:
        """The first `count` server-sent events of `/events` as (event name, parsed data)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", "/events")
            response = connection.getresponse()
            assert response.status == 200
            assert response.getheader("Content-Type", "").startswith("text/event-stream")
            events, name, data = [], None, []
            while len(events) < count:
                line = response.fp.readline()
                assert line, "the event stream ended"
                line = line.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    name = line[len("event:"):].strip()
                elif line.startswith("data:"):
                    data.append(line[len("data:"):].removeprefix(" "))
                elif line == "" and data:
                    events.append((name, json.loads("\n".join(data))))
                    name, data = None, []
            return events
        finally:
            connection.close()

    def stop(self) -> None:
        stop_popen(self.popen)


def poll(condition, what: str, deadline_s: float = DEADLINE_S):
    """`condition()`'s first truthy value, polled until the deadline; fails naming `what`."""
    last = wire.wait_until(condition, deadline_s, 0.1)
    if not last:
        raise AssertionError(f"{what}: not within {deadline_s:.1f} s (last: {last!r})")
    return last


# Reads the page's DOM: the head and every process's data-state and applied position.
READ_PAGE = """
const rows = {};
for (const element of document.querySelectorAll('[data-process]:not(li)')) {
  const position = element.querySelector('[data-field="position"]');
  rows[element.dataset.process] = {state: element.dataset.state,
                                   position: position && position.dataset.value ? Number(position.dataset.value) : null};
}
const faults = [...document.querySelectorAll('#faults li')].map(li => [li.dataset.process, li.dataset.state]);
const head = document.getElementById('head-position').dataset.value;
return {head: head ? Number(head) : null, processes: rows, faults: faults,
        connection: document.getElementById('connection').dataset.state};
"""


@pytest.fixture
def cleanup():
    stops = []
    yield stops.append
    for stop in reversed(stops):
        stop()
    cleanup_all()


def test_dashboard_in_a_browser(tmp_path, cleanup):
    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    require_binaries()
    system = System(REPO / "Procfile", bin_dir(), tmp_path, Topology.local(PROJECTORS), PROJECTORS)
    cleanup(system.stop)
    system.start()
    topology = system.topology
    dashboard = Dashboard(tmp_path / "logs" / "dashboard.log", topology.command, topology.query)
    cleanup(dashboard.stop)
    browser = Browser(tmp_path / "logs" / "chromedriver.log")
    cleanup(browser.close)
    browser.open(dashboard.url)
    # Every update redraws the charts: an error in the page's script would recur after this.
    browser.script("window.pageErrors = []; window.addEventListener('error', e => window.pageErrors.push(e.message));")

    page = poll(lambda: (lambda p: p if p["connection"] == "open" and all(
        p["processes"].get(n, {}).get("state") == "live" for n in PROJECTORS) else None)(browser.script(READ_PAGE)),
        "the page shows every projector live")
    assert page["processes"]["write-node"]["state"] == "serving"
    # The same hooks through WebDriver's own element API, not only a script.
    orders_row = browser.find('tr[data-process="orders"]')
    assert browser.attribute(orders_row, "data-state") == "live"

    load = Load(bin_dir(), topology.command, {}, rate=LOAD_RATE, duration=LOAD_SECONDS, arrivals="constant",
                connections=2, users=USERS, size=40, log_path=tmp_path / "logs" / "load.log")
    cleanup(load.stop)
    load.start()
    before = browser.script(READ_PAGE)
    rising = poll(lambda: (lambda p: p if p["head"] is not None and p["head"] > (before["head"] or 0) + 500 and all(
        (p["processes"][n]["position"] or 0) > (before["processes"][n]["position"] or 0) + 500 for n in PROJECTORS)
        else None)(browser.script(READ_PAGE)), "the head and every applied position rise by 500 under load")
    print(f"under load: head {before['head']} → {rising['head']}")
    # Halfway through the load (every command appends one event after the users' registrations).
    poll(lambda: (browser.script(READ_PAGE)["head"] or 0) >= USERS + LOAD_RATE * LOAD_SECONDS / 2,
         "the head reaches half the load", deadline_s=DEADLINE_S + LOAD_SECONDS)

    system.processes["orders"].kill()
    killed_at = time.monotonic()
    poll(lambda: browser.script(READ_PAGE)["processes"]["orders"]["state"] == "down",
         "the killed orders projector shows as down", deadline_s=DOWN_WITHIN_S)
    print(f"orders shown down {time.monotonic() - killed_at:.2f} s after kill -9")
    others = browser.script(READ_PAGE)["processes"]
    assert all(others[n]["state"] != "down" for n in PROJECTORS if n != "orders"), others

    system.start_process("orders")
    poll(lambda: browser.script(READ_PAGE)["processes"]["orders"]["state"] == "live",
         "the restarted orders projector shows as live")
    page = browser.script(READ_PAGE)
    assert ["orders", "down"] in page["faults"], page["faults"]
    assert any(process == "orders" and state not in ("down", "failed", "disconnected") for process, state in page["faults"])

    poll(lambda: browser.script("return document.querySelectorAll('#faults li').length >= 2"), "both faults listed")
    report = load.wait()
    assert report["exitStatus"] == 0, report
    poll(lambda: all(p["state"] == "live" for p in browser.script(READ_PAGE)["processes"].values() if p["state"] != "serving"),
         "every projector live after the load")
    assert browser.script("return window.pageErrors") == []
    # The charts are drawn: each canvas has far more coloured pixels (the grid and labels are grey)
    # than when drawn again with no points, only the fault markers (the page's globals, one script:
    # no update can come in between).
    drawn, empty = browser.script("""
        const ids = ['chart-positions', 'chart-behind', 'chart-lag'];
        const coloured = id => {
          const canvas = document.getElementById(id);
          const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let count = 0;
          for (let i = 0; i < data.length; i += 4) {
            const [r, g, b, a] = [data[i], data[i + 1], data[i + 2], data[i + 3]];
            if (a > 100 && Math.max(r, g, b) - Math.min(r, g, b) > 60) count++;
          }
          return count;
        };
        const drawn = ids.map(coloured);
        const saved = points;
        points = [];
        draw();
        const empty = ids.map(coloured);
        points = saved;
        draw();
        return [drawn, empty];""")
    print(f"coloured pixels per chart: {drawn}, without points: {empty}")
    assert all(with_points > without + 150 for with_points, without in zip(drawn, empty)), (drawn, empty)
    RESULTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(RESULTS / "dashboard.png")
    assert (RESULTS / "dashboard.png").stat().st_size > 10_000
    print(f"screenshot: {RESULTS / 'dashboard.png'}")


def test_event_stream_paths_and_everything_down(tmp_path, cleanup, write_node):
    require_binaries()
    projectors = {name: f"tcp://127.0.0.1:{free_port()}" for name in ("orders", "search")}
    dashboard = Dashboard(tmp_path / "dashboard.log", write_node.command, projectors)
    cleanup(dashboard.stop)

    events = dashboard.events(9)
    assert events[0][0] == "history"
    assert events[0][1]["names"] == ["write-node", "orders", "search"]
    updates = [data for name, data in events[1:] if name == "update"]
    assert len(updates) == 8
    # At least one update a second (the dashboard sends four), by the dashboard's own clock.
    gaps = [later["time"] - earlier["time"] for earlier, later in zip(updates, updates[1:])]
    assert max(gaps) < 1000, gaps
    states = {p["name"]: p["state"] for p in updates[-1]["processes"]}
    assert states == {"write-node": "serving", "orders": "down", "search": "down"}, states
    assert updates[-1]["head"] == 0
    assert "nothing is listening" in next(p for p in updates[-1]["processes"] if p["name"] == "orders")["error"]

    status, content_type, body = dashboard.get("/")
    assert status == 200 and content_type.startswith("text/html")
    html = body.decode()
    assert 'id="head-position"' in html
    # No external assets: nothing the browser would fetch from another host.
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:)?//""", html, re.IGNORECASE), "an external asset"
    assert "@import" not in html
    for path in ("/nope", "/events/x", "/index.html"):
        assert dashboard.get(path)[0] == 404, path
    assert dashboard.get("/", method="POST")[0] == 405

    # Every process down: the page, the state and the events are still served, saying so.
    write_node.stop()
    state = poll(lambda: (lambda s: s if all(p["state"] == "down" for p in s["latest"]["processes"]) else None)(
        json.loads(dashboard.get("/state")[2])), "every process shown down")
    assert [f["process"] for f in state["faults"] if f["state"] == "down"].count("write-node") == 1
    assert dashboard.get("/")[0] == 200
    last = dashboard.events(3)[-1]
    assert last[0] == "update" and {p["state"] for p in last[1]["processes"]} == {"down"}
    assert dashboard.popen.poll() is None


def test_secure_mode_and_a_hung_process(tmp_path, cleanup):
    require_binaries()
    keys_dir = tmp_path / "keys"
    keys.generate_system(bin_dir() / "prism", keys_dir)
    topology = Topology.local(["status"])
    # The harness's own health polls speak CURVE too, until the end of this test.
    wire.secure(keys.ClientKeys.load(keys_dir, "reader"), topology.server_keys())
    cleanup(lambda: wire.secure(None, {}))
    system = System(REPO / "Procfile", bin_dir(), tmp_path, topology, ["status"], keys_dir=keys_dir)
    cleanup(system.stop)
    system.start()

    dashboard = Dashboard(tmp_path / "dashboard.log", topology.command, topology.query, ["--keys", str(keys_dir)])
    cleanup(dashboard.stop)
    poll(lambda: {p["name"]: p["state"] for p in (json.loads(dashboard.get("/state")[2])["latest"] or {}).get("processes", [])}
         == {"write-node": "serving", "status": "live"}, "both processes read over CURVE with the reader key")

    # A hung projector (SIGSTOP: its port still accepts, nothing answers) is down after the
    # timeout, and the updates keep coming meanwhile: each process is polled on its own.
    system.processes["status"].signal(signal.SIGSTOP)
    cleanup(lambda: system.processes["status"].signal(signal.SIGCONT))
    updates = [data for name, data in dashboard.events(12) if name == "update"]
    gaps = [later["time"] - earlier["time"] for earlier, later in zip(updates, updates[1:])]
    assert max(gaps) < 1000, gaps
    poll(lambda: {p["name"]: p["state"] for p in json.loads(dashboard.get("/state")[2])["latest"]["processes"]}
         == {"write-node": "serving", "status": "down"}, "the hung projector shown down, the write node serving")
    system.processes["status"].signal(signal.SIGCONT)
    poll(lambda: {p["name"]: p["state"] for p in json.loads(dashboard.get("/state")[2])["latest"]["processes"]}
         == {"write-node": "serving", "status": "live"}, "the projector live again once it runs")

    missing = subprocess.run([str(bin_dir() / "prism"), "dashboard", "--listen", "127.0.0.1:0", "--keys", str(keys_dir),
                              "--identity", "nobody", "--command-endpoint", topology.command],
                             capture_output=True, text=True, timeout=DEADLINE_S)
    assert missing.returncode != 0
    assert "nobody" in missing.stderr, missing.stderr


def test_a_failed_projector(tmp_path, cleanup, write_node):
    """A projection that throws shows `failed` with its error, as a fault; the write node stays serving."""
    require_binaries()
    query = f"tcp://127.0.0.1:{free_port()}"
    with open(tmp_path / "faulty.log", "wb") as log:
        faulty = subprocess.Popen([str(bin_dir() / "faulty-projector"), "--data-dir", str(tmp_path / "faulty"),
                                   "--query-endpoint", query, "--publish-endpoint", write_node.publish,
                                   "--catch-up-endpoint", write_node.catch_up],
                                  stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    _registry.add(faulty)
    cleanup(lambda: stop_popen(faulty))
    dashboard = Dashboard(tmp_path / "dashboard.log", write_node.command, {"faulty": query})
    cleanup(dashboard.stop)

    def states():
        latest = json.loads(dashboard.get("/state")[2])["latest"] or {}
        return {p["name"]: p for p in latest.get("processes", [])}

    poll(lambda: states().get("faulty", {}).get("state") == "live", "the faulty projector live")
    for index, kind in enumerate(["NoteAdded", "Poison"]):
        reply = write_node.request({"append": {"stream": "note-1", "expectedVersion": "any", "events": [
            {"id": f"00000000-0000-4000-8000-00000000000{index}", "type": kind, "data": {}}]}})
        assert reply["ok"], reply
    failed = poll(lambda: (lambda p: p if p.get("state") == "failed" else None)(states().get("faulty", {})),
                  "the projector shown failed")
    assert "deliberate fault" in failed["error"], failed
    assert failed["position"] == 1 and failed["behind"] == 1, failed
    assert states()["write-node"]["state"] == "serving"
    faults = json.loads(dashboard.get("/state")[2])["faults"]
    # (Before it: down → live, if the dashboard polled before the projector had bound its port.)
    assert (faults[-1]["process"], faults[-1]["previous"], faults[-1]["state"]) == ("faulty", "live", "failed"), faults


def test_listen_addresses(tmp_path, cleanup):
    """Loopback by default; another address is served with a warning naming the risk; a bad one is refused."""
    require_binaries()
    # Nothing at these endpoints (and not the default ones, which a running system may be using).
    nowhere, projectors = f"tcp://127.0.0.1:{free_port()}", {"orders": f"tcp://127.0.0.1:{free_port()}"}
    loopback = Dashboard(tmp_path / "loopback.log", nowhere, projectors, listen=str(free_port()))
    cleanup(loopback.stop)
    assert loopback.host == "127.0.0.1"
    assert "not loopback" not in loopback.log_path.read_text()

    everywhere = Dashboard(tmp_path / "everywhere.log", nowhere, projectors, listen="0.0.0.0:0")
    cleanup(everywhere.stop)
    assert everywhere.host == "0.0.0.0"
    poll(lambda: "not loopback" in everywhere.log_path.read_text(), "the warning on stderr")
    assert "no authentication" in everywhere.log_path.read_text()
    assert everywhere.get("/")[0] == 200

    refused = subprocess.run([str(bin_dir() / "prism"), "dashboard", "--listen", "nowhere:port"],
                             capture_output=True, text=True, timeout=DEADLINE_S)
    assert refused.returncode != 0 and "--listen" in refused.stderr, refused.stderr
