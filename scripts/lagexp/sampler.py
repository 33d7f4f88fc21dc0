"""Samples every projector's lag and position, and every process's CPU and RSS, every 100 ms.

Each tick sends `stats` with `reset: true` to every projector (so `intervalLagUs` covers exactly the
time since the previous answer) and `stats` to the write node (its head), over DEALER sockets
without waiting for one answer before asking the next: a SIGSTOPped or killed projector must not
stall the others' samples. A request still unanswered is not repeated (its late answer carries the
whole stalled interval); one unanswered for too long (a killed process) gets a fresh socket.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Callable

import zmq

from . import wire
from .procstat import CpuMeter, rss_kb

INTERVAL_S = 0.1
ABANDON_S = 2.0


class _Channel:
    def __init__(self, ctx: zmq.Context, endpoint: str):
        self.ctx, self.endpoint = ctx, endpoint
        self.sock: zmq.Socket | None = None
        self.sent_at: float | None = None

    def open(self) -> None:
        if self.sock is not None:
            self.sock.close(0)
        self.sock = wire.dial(zmq.DEALER, self.endpoint, self.ctx)
        self.sent_at = None

    def ask(self, body: dict, now: float) -> None:
        if self.sent_at is not None:
            if now - self.sent_at < ABANDON_S:
                return
            self.open()
        try:
            self.sock.send_multipart([b"", json.dumps(body).encode()], zmq.NOBLOCK)
            self.sent_at = now
        except zmq.Again:
            pass

    def take(self) -> dict | None:
        """A pending answer, if one arrived."""
        try:
            frames = self.sock.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return None
        self.sent_at = None
        try:
            reply = json.loads(frames[-1])
        except ValueError:
            return None
        return reply.get("result") if reply.get("ok") else None


class Sampler(threading.Thread):
    """Background thread producing `rows` (dicts, one per process per tick); `stop()` ends it."""

    def __init__(self, writer_endpoint: str, projector_endpoints: dict[str, str], pids: Callable[[], dict],
                 interval_s: float = INTERVAL_S):
        super().__init__(name="lag-sampler", daemon=True)
        self.writer_endpoint, self.projector_endpoints = writer_endpoint, projector_endpoints
        self.pids, self.interval_s = pids, interval_s
        self.rows: list[dict] = []
        self.writer_heads: list[tuple[float, int]] = []  # (monotonic time, head) for fault analysis
        self._halt = threading.Event()
        self.error: BaseException | None = None

    def stop(self, final_ticks: int = 0) -> None:
        """Stops after `final_ticks` more samples (so the state that made the caller stop is recorded)."""
        if final_ticks and self.is_alive():
            target = len(self.rows) + final_ticks * (len(self.projector_endpoints) + 1)
            deadline = time.monotonic() + final_ticks * self.interval_s * 3 + 1
            while len(self.rows) < target and time.monotonic() < deadline and self.is_alive():
                time.sleep(self.interval_s / 4)
        self._halt.set()
        self.join(5)

    def latest_head(self) -> int | None:
        return self.writer_heads[-1][1] if self.writer_heads else None

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as error:  # surfaced by the caller; the experiment must not die silently
            self.error = error

    def _loop(self) -> None:
        ctx = wire.context()
        writer = _Channel(ctx, self.writer_endpoint)
        channels = {name: _Channel(ctx, ep) for name, ep in self.projector_endpoints.items()}
        for ch in [writer, *channels.values()]:
            ch.open()
        cpu = CpuMeter()
        next_tick = time.monotonic()
        head = 0
        try:
            while not self._halt.is_set():
                now = time.monotonic()
                writer.ask({"query": "stats"}, now)
                for ch in channels.values():
                    ch.ask({"query": "stats", "params": {"reset": True}}, now)
                answers: dict[str, dict] = {}
                poller = zmq.Poller()
                for ch in [writer, *channels.values()]:
                    poller.register(ch.sock, zmq.POLLIN)
                collect_until = now + self.interval_s * 0.8
                while True:
                    wait_ms = max(0, int((collect_until - time.monotonic()) * 1000))
                    ready = dict(poller.poll(wait_ms))
                    if not ready:
                        break
                    if writer.sock in ready and (r := writer.take()) is not None:
                        answers["write-node"] = r
                    for name, ch in channels.items():
                        if ch.sock in ready and (r := ch.take()) is not None:
                            answers[name] = r
                    if len(answers) == len(channels) + 1:
                        break
                at = time.monotonic()
                pids = self.pids()
                if "write-node" in answers:
                    head = max(head, int(answers["write-node"].get("head", 0)))
                    self.writer_heads.append((at, head))
                pid = pids.get("write-node")
                self.rows.append({"t": at, "process": "write-node", "applied": None, "head": head, "behind": None,
                                  "count": None, "p50": None, "p99": None, "max": None,
                                  "cpu": cpu.percent(pid), "rss": rss_kb(pid) if pid else None,
                                  "answered": "write-node" in answers})
                for name in channels:
                    pid = pids.get(name)
                    row = {"t": at, "process": name, "applied": None, "head": None, "behind": None, "count": None,
                           "p50": None, "p99": None, "max": None, "cpu": cpu.percent(pid),
                           "rss": rss_kb(pid) if pid else None, "answered": name in answers}
                    if name in answers:
                        s = answers[name]
                        interval = s.get("intervalLagUs") or {}
                        applied = int(s.get("applied", 0))
                        phead = max(head, int(s.get("head", 0)))
                        row.update(applied=applied, head=phead, behind=max(0, phead - applied),
                                   count=interval.get("count", 0), p50=interval.get("p50"), p99=interval.get("p99"),
                                   max=interval.get("max"))
                    self.rows.append(row)
                next_tick += self.interval_s
                delay = next_tick - time.monotonic()
                if delay > 0:
                    self._halt.wait(delay)
                else:
                    next_tick = time.monotonic()  # fell behind (noisy machine): keep the cadence from now
        finally:
            for ch in [writer, *channels.values()]:
                if ch.sock is not None:
                    ch.sock.close(0)
