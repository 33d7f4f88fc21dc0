"""`scripts/netfuzz`: random and mutated frames against every endpoint of a running system.

Starts the Procfile's write node and four projectors (free ports, data under `--run-dir`), places a
few real orders, then sends `--frames` messages from `hostile.frames` (bounded by `--seconds`) to the
command, catch-up and query endpoints over a pool of DEALER sockets, reading whatever replies come
(each must be a JSON reply with `ok`); every 1000th message it also opens a bare TCP connection to a
random endpoint (PUB included) and writes random bytes, and connects a SUB with a random
subscription. Then it checks: every process alive, no RSS more than 50 MB above where it started,
the well-behaved client's requests all succeed, every projector reaches the head and equals a
rebuild (`lagexp.checks`), every process stops with exit 0, and `prism store verify` passes on the
write node's store. Prints a JSON report; exits 1 if any check failed.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import zmq

from lagexp import checks, system as lagsystem
from . import bound
from .attacks import tcp_address
from .frames import FrameSource
from .well_behaved import WellBehavedClient

SOCKETS_PER_ENDPOINT = 2
SEND_RETRY_S = 5.0


class Fuzzer:
    def __init__(self, system: lagsystem.System, seed: int):
        self.context = zmq.Context()
        ep = bound.endpoints(system)
        self.endpoints = {"command": ep["command"], "catchUp": ep["catchUp"],
                          **{f"query:{name}": e for name, e in ep["queries"].items()}}
        self.publish = ep["publish"]
        self.source = FrameSource(sorted(self.endpoints), seed)
        self.random = random.Random(seed + 1)
        self.pool = {key: [self._dealer(e) for _ in range(SOCKETS_PER_ENDPOINT)] for key, e in self.endpoints.items()}
        self.counts = {"messages": 0, "frames": 0, "bytes": 0, "replies": 0, "badReplies": 0, "sendRetries": 0,
                       "tcpGarbage": 0, "subscribers": 0, "published": 0}
        self.bad_replies: list[str] = []

    def _dealer(self, endpoint: str) -> zmq.Socket:
        sock = self.context.socket(zmq.DEALER)
        sock.linger = 0
        sock.connect(endpoint)
        return sock

    def run(self, messages: int, seconds: float, died: Callable[[], bool]) -> None:
        """Sends until `messages` are sent, `seconds` pass, or `died()` (checked every 1000 messages) says a process has."""
        deadline = time.monotonic() + seconds
        while self.counts["messages"] < messages and time.monotonic() < deadline:
            key, frames = self.source.next()
            self.send(key, frames, deadline)
            if self.counts["messages"] % 64 == 0:
                self.drain()
            if self.counts["messages"] % 1000 == 0:
                self.tcp_garbage()
                self.subscriber()
                if died():
                    break
            if self.counts["messages"] % 100_000 == 0:
                print(f"netfuzz: {self.counts['messages']} messages sent", file=sys.stderr, flush=True)
        self.drain()

    def send(self, key: str, frames: list[bytes], deadline: float) -> None:
        give_up = min(deadline, time.monotonic() + SEND_RETRY_S)
        while True:
            sock = self.random.choice(self.pool[key])
            try:
                sock.send_multipart(frames, zmq.NOBLOCK)
                break
            except zmq.Again:
                # The server reads no more from this connection for now (its queue per connection):
                # take replies, wait a little, try again.
                self.counts["sendRetries"] += 1
                self.drain()
                if time.monotonic() >= give_up:
                    return
                time.sleep(0.001)
        self.counts["messages"] += 1
        self.counts["frames"] += len(frames)
        self.counts["bytes"] += sum(map(len, frames))

    def drain(self) -> None:
        for key, sockets in self.pool.items():
            for sock in sockets:
                while sock.poll(0, zmq.POLLIN):
                    self.check_reply(key, sock.recv_multipart())

    def check_reply(self, key: str, frames: list[bytes]) -> None:
        """A reply is (after any empty envelope frames) a JSON object with `ok`."""
        self.counts["replies"] += 1
        body = next((f for f in frames if f), None)
        try:
            reply = json.loads(body) if body is not None else None
            if isinstance(reply, dict) and isinstance(reply.get("ok"), bool):
                return
        except ValueError:
            pass
        self.counts["badReplies"] += 1
        if len(self.bad_replies) < 10:
            self.bad_replies.append(f"{key}: {[f[:200] for f in frames]}")

    def tcp_garbage(self) -> None:
        endpoint = self.random.choice([*self.endpoints.values(), self.publish])
        greeting = b"\xff" + bytes(8) + b"\x7f\x03\x00NULL" + bytes(16)  # a ZMTP 3.0 greeting, then noise
        payload = self.random.choice([b"", greeting[:self.random.randrange(1, len(greeting))], greeting]) \
            + self.random.randbytes(self.random.randrange(0, 4096))
        try:
            with socket.create_connection(tcp_address(endpoint), timeout=2) as conn:
                conn.sendall(payload)
        except OSError:
            pass  # the server may cut a garbage connection before it is all written
        self.counts["tcpGarbage"] += 1

    def subscriber(self) -> None:
        sock = self.context.socket(zmq.SUB)
        sock.linger = 0
        sock.setsockopt(zmq.SUBSCRIBE, self.random.choice([b"", b"h", b"e:", b"e:order:", self.random.randbytes(4)]))
        sock.connect(self.publish)
        if sock.poll(20, zmq.POLLIN):
            sock.recv_multipart()
            self.counts["published"] += 1
        sock.close()
        self.counts["subscribers"] += 1

    def close(self) -> None:
        self.context.destroy(linger=0)


def store_verify(bin_dir: Path, data_dir: Path) -> dict:
    proc = subprocess.run([str(bin_dir / "prism"), "store", "verify", str(data_dir)], capture_output=True, text=True,
                          timeout=600)
    return {"exitCode": proc.returncode, "output": (proc.stdout + proc.stderr)[-2000:]}


def fuzz(bin_dir: Path, run_dir: Path, messages: int, seconds: float, seed: int) -> dict:
    system = bound.start_system(bin_dir, run_dir)
    context = zmq.Context()
    report: dict = {"messages": messages, "seconds": seconds, "seed": seed, "binDir": str(bin_dir)}
    try:
        client = WellBehavedClient(context, system.topology.command, dict(system.topology.query))
        client.register()
        before_rounds = client.run(2.0)
        before = bound.rss_mb(system)
        sampler = bound.RssSampler(system)
        fuzzer = Fuzzer(system, seed)
        started = time.monotonic()
        try:
            fuzzer.run(messages, seconds, died=lambda: None in system.pids().values())
        finally:
            fuzzer.close()
        report["elapsedS"] = round(time.monotonic() - started, 1)
        report["sent"] = fuzzer.counts
        report["badReplies"] = fuzzer.bad_replies
        client.run(2.0)  # let what the fuzz run left queued drain: these are not counted
        after_rounds = client.run(2.0)
        client.close()
        peak, end = sampler.stop(), bound.rss_mb(system)
        report["alive"] = {name: pid is not None for name, pid in system.pids().items()}
        report["rss"] = bound.rss_report(before, peak, end)
        report["wellBehaved"] = {"before": before_rounds.summary(), "after": after_rounds.summary()}
        report["checks"] = checks.run(system, rebuild=True)
    finally:
        report["exitCodes"] = bound.stop_system(system)
        context.destroy(linger=0)
    report["storeVerify"] = store_verify(bin_dir, run_dir / "data" / "write-node")
    report["failures"] = failures(report)
    report["passed"] = not report["failures"]
    return report


def failures(report: dict) -> list[str]:
    out = bound.process_failures(report)
    if report["sent"]["badReplies"]:
        out.append(f"{report['sent']['badReplies']} replies were not JSON replies with ok: {report['badReplies']}")
    for phase, rounds in report["wellBehaved"].items():
        if rounds["failures"]:
            out.append(f"the well-behaved client's requests failed {phase} the fuzz run: {rounds['firstFailures']}")
    if not (report["checks"]["allApplied"] and report["checks"]["digestsEqual"]):
        out.append(f"the projectors do not all equal a rebuild at the head: {report['checks']}")
    if any(code != 0 for code in report["exitCodes"].values()):
        out.append(f"exit codes after SIGTERM: {report['exitCodes']}")
    if report["storeVerify"]["exitCode"] != 0:
        out.append(f"prism store verify failed: {report['storeVerify']['output']}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/netfuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=1_000_000, help="messages to send (default 1000000)")
    parser.add_argument("--seconds", type=float, default=1800, help="stop sending after this long (default 1800)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: random, printed)")
    parser.add_argument("--bin-dir", type=Path, default=bound.REPO / ".build" / "release",
                        help="where the executables are (default .build/release)")
    parser.add_argument("--run-dir", type=Path, default=None, help="data and logs (default: a new temporary directory)")
    args = parser.parse_args(argv)
    # SIGTERM ends the run like Ctrl-C: through the `finally` that stops every process it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    seed = args.seed if args.seed is not None else random.randrange(1 << 31)
    run_dir = args.run_dir or Path(tempfile.mkdtemp(prefix="prism-netfuzz-"))
    print(f"netfuzz: {args.frames} messages, at most {args.seconds:g} s, seed {seed}, run dir {run_dir}", file=sys.stderr)
    report = fuzz(args.bin_dir, run_dir, args.frames, args.seconds, seed)
    print(json.dumps(report, indent=1))
    print("netfuzz: " + ("passed" if report["passed"] else "FAILED:\n  " + "\n  ".join(report["failures"])), file=sys.stderr)
    return 0 if report["passed"] else 1
