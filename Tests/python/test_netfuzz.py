"""A short network fuzz run (scripts/netfuzz): 20,000 random and mutated messages against every
endpoint of a real system must leave every process alive, within 50 MB of its starting RSS,
answering the well-behaved client, equal to a rebuild, stopping cleanly, and its store verified.
The 1,000,000-message run is done by hand (docs/SECURITY.md, "Hostile input").

Binaries come from `$PRISM_BIN_DIR`, else `<repo>/.build/debug`.
"""

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

from conftest import bin_dir, require_binaries

REPO = Path(__file__).resolve().parents[2]


def test_twenty_thousand_fuzzed_messages_leave_the_system_whole(tmp_path):
    require_binaries()
    proc = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "netfuzz"), "--frames", "20000", "--seconds", "120",
         "--bin-dir", str(bin_dir()), "--run-dir", str(tmp_path), "--seed", "20000"],
        capture_output=True, text=True, timeout=400)
    report = json.loads(proc.stdout)
    assert proc.returncode == 0, f"{report['failures']}\n{proc.stderr[-3000:]}"
    assert report["sent"]["messages"] == 20000, report["sent"]
    assert report["passed"] and report["storeVerify"]["exitCode"] == 0


# Regressions the fuzz run found: each crashed the write node (Swift's arithmetic overflow trap).
INT64_MAX = 2**63 - 1


def test_a_stream_read_from_the_largest_version_is_empty_not_a_crash(write_node):
    stream = "fuzzed-1"
    reply = write_node.request({"append": {"stream": stream, "events": [{"id": str(uuid.uuid4()), "type": "T"}]}})
    assert reply["ok"], reply
    # The crash was in the index's walk of the stream: wait until the indexer has the event.
    deadline = time.monotonic() + 20
    while write_node.request({"query": "stats"})["result"]["indexBehind"] > 0:
        assert time.monotonic() < deadline, "the indexer did not catch up within 20 s"
        time.sleep(0.02)
    summary, events = write_node.read({"stream": stream, "fromVersion": INT64_MAX, "limit": 100})
    assert summary["ok"] and summary["count"] == 0 and events == []
    assert write_node.request({"query": "health"})["ok"]


def test_an_append_expecting_the_largest_version_is_refused_not_a_crash(write_node):
    stream = "fuzzed-2"
    first = {"append": {"stream": stream, "events": [{"id": str(uuid.uuid4()), "type": "T"}]}}
    assert write_node.request(first)["ok"]
    retry = {"append": {"stream": stream, "expectedVersion": INT64_MAX, "events": [{"id": str(uuid.uuid4()), "type": "T"}]}}
    assert write_node.request(retry)["error"]["code"] == "WrongExpectedVersion"
    assert write_node.request({"query": "health"})["ok"]
