#!/usr/bin/env python3
"""A TCP relay that adds a delay (and jitter) to both directions, preserving order.

For every accepted connection the relay opens one connection to the target. Every
chunk read in either direction is released to the other side at

    max(previous release in the same direction, arrival + delay + uniform(-jitter, +jitter))

so bytes are never reordered within a direction (jitter is therefore one-sided in
effect: a chunk can be held back by its predecessor, never overtake it). One reader
and one writer coroutine per direction; the writer batches every chunk that is due
into a single write. TCP_NODELAY on both sockets.

Command line:

    python3 relay.py --listen 127.0.0.1:15551 [--listen 10.77.0.3:15551] \\
        --target 10.77.0.2:5551 --delay-ms 5 --jitter-ms 1 [--control-stdin]

Prints `relay ready <listen,...> -> <target> pid <pid>` to stdout once listening.
Exits cleanly on SIGTERM / SIGINT. With `--control-stdin` it reads commands from
stdin, one a line, and exits when stdin reaches end of file (so it dies with its
parent):

    delay <delay_ms> [<jitter_ms>]   ->  "ok delay <delay_ms> <jitter_ms>"
    stats                            ->  "stats {json}"
    quit                             ->  exits

As a module: `Relay(listens, target, delay_ms, jitter_ms)`, `await relay.start()`,
`relay.set_delay(ms, jitter)`, `await relay.close()`; or `run(...)`.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import random
import signal
import socket
import sys

READ_SIZE = 256 * 1024
# asyncio sleeps through epoll, which rounds timeouts up to whole milliseconds: a writer that
# slept until the release time would wake 0-1 ms late (0.5 ms on average). It wakes half a
# millisecond early instead and releases what is due within EARLY_S, so the error is
# centred on zero (within about +-0.5 ms, plus the relay's own processing time).
EARLY_S = 0.0005
HIGH_WATER = 8 * 1024 * 1024   # queued bytes per direction before the reader pauses
LOW_WATER = 2 * 1024 * 1024


def parse_endpoint(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), int(port)


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Direction:
    """Moves bytes from `reader` to `writer`, each chunk held until its release time."""

    def __init__(self, relay: "Relay", reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.relay = relay
        self.reader = reader
        self.writer = writer
        self.queue: collections.deque[tuple[float, bytes | None]] = collections.deque()
        self.queued_bytes = 0
        self.last_release = 0.0
        self.wakeup = asyncio.Event()
        self.drained = asyncio.Event()
        self.drained.set()

    async def read_loop(self) -> None:
        loop = asyncio.get_running_loop()
        relay = self.relay
        try:
            while True:
                data = await self.reader.read(READ_SIZE)
                now = loop.time()
                release = now + relay.delay_s
                if relay.jitter_s > 0:
                    release += random.uniform(-relay.jitter_s, relay.jitter_s)
                if release < self.last_release:
                    release = self.last_release
                self.last_release = release
                self.queue.append((release, data or None))
                self.wakeup.set()
                if not data:
                    return
                relay.bytes_relayed += len(data)
                relay.chunks_relayed += 1
                self.queued_bytes += len(data)
                if self.queued_bytes > HIGH_WATER:
                    self.drained.clear()
                    await self.drained.wait()
        except (ConnectionError, OSError):
            self.queue.append((0.0, None))
            self.wakeup.set()
            raise

    async def write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        queue = self.queue
        relay = self.relay
        while True:
            if not queue:
                self.wakeup.clear()
                await self.wakeup.wait()
                continue
            release = queue[0][0]
            wait = release - loop.time() - EARLY_S
            if wait > 0:
                await asyncio.sleep(wait)
            now = loop.time()
            due = now + EARLY_S
            late = now - release
            relay.writes += 1
            relay.late_sum_s += late
            if late > relay.late_max_s:
                relay.late_max_s = late
            batch = []
            eof = False
            while queue and queue[0][0] <= due:
                _, data = queue.popleft()
                if data is None:
                    eof = True
                    break
                batch.append(data)
            if batch:
                size = sum(map(len, batch))
                self.writer.write(b"".join(batch) if len(batch) > 1 else batch[0])
                await self.writer.drain()
                self.queued_bytes -= size
                if self.queued_bytes <= LOW_WATER:
                    self.drained.set()
            if eof:
                if self.writer.can_write_eof():
                    try:
                        self.writer.write_eof()
                    except OSError:
                        pass
                return


class Relay:
    def __init__(self, listens: list[tuple[str, int]], target: tuple[str, int],
                 delay_ms: float = 0.0, jitter_ms: float = 0.0):
        self.listens = listens
        self.target = target
        self.set_delay(delay_ms, jitter_ms)
        self.servers: list[asyncio.base_events.Server] = []
        self.connections: set[asyncio.Task] = set()
        self.accepted = 0
        self.failed_connects = 0
        self.bytes_relayed = 0
        self.chunks_relayed = 0
        self.writes = 0          # batched writes, and how late they were against their first chunk's release time
        self.late_sum_s = 0.0
        self.late_max_s = 0.0

    def set_delay(self, delay_ms: float, jitter_ms: float = 0.0) -> None:
        if delay_ms < 0 or jitter_ms < 0:
            raise ValueError("delay and jitter must be >= 0")
        self.delay_ms = float(delay_ms)
        self.jitter_ms = float(min(jitter_ms, delay_ms))  # never release before arrival
        self.delay_s = self.delay_ms / 1000.0
        self.jitter_s = self.jitter_ms / 1000.0

    def stats(self) -> dict:
        return {"delay_ms": self.delay_ms, "jitter_ms": self.jitter_ms, "accepted": self.accepted,
                "open": len(self.connections), "failed_connects": self.failed_connects,
                "bytes": self.bytes_relayed, "chunks": self.chunks_relayed, "writes": self.writes,
                "late_mean_ms": round(self.late_sum_s / self.writes * 1000, 3) if self.writes else None,
                "late_max_ms": round(self.late_max_s * 1000, 3)}

    async def start(self) -> None:
        for host, port in self.listens:
            server = await asyncio.start_server(self._accept, host, port, reuse_address=True,
                                                limit=READ_SIZE)
            self.servers.append(server)

    def bound(self) -> list[str]:
        out = []
        for server in self.servers:
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                out.append(f"{host}:{port}")
        return out

    async def close(self) -> None:
        for server in self.servers:
            server.close()
        for task in list(self.connections):
            task.cancel()
        if self.connections:
            await asyncio.gather(*self.connections, return_exceptions=True)
        for server in self.servers:
            await server.wait_closed()

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.connections.add(task)
        self.accepted += 1
        target_writer = None
        try:
            _nodelay(client_writer)
            try:
                target_reader, target_writer = await asyncio.open_connection(
                    *self.target, limit=READ_SIZE)
            except OSError:
                self.failed_connects += 1
                return
            _nodelay(target_writer)
            up = _Direction(self, client_reader, target_writer)
            down = _Direction(self, target_reader, client_writer)
            tasks = [asyncio.ensure_future(c) for c in
                     (up.read_loop(), up.write_loop(), down.read_loop(), down.write_loop())]
            try:
                # Both write loops end after forwarding an EOF (or on an error); a reset kills everything.
                pending = set(tasks)
                writers = {tasks[1], tasks[3]}
                while writers & pending:
                    done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                    if any(t.exception() for t in done if not t.cancelled()):
                        break
            finally:
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        except asyncio.CancelledError:
            pass
        finally:
            for w in (client_writer, target_writer):
                if w is not None:
                    w.close()
            self.connections.discard(task)


async def _control_stdin(relay: Relay, stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        words = line.decode().split()
        if not words:
            continue
        try:
            if words[0] == "delay":
                relay.set_delay(float(words[1]), float(words[2]) if len(words) > 2 else 0.0)
                print(f"ok delay {relay.delay_ms:g} {relay.jitter_ms:g}", flush=True)
            elif words[0] == "stats":
                print("stats " + json.dumps(relay.stats()), flush=True)
            elif words[0] == "quit":
                break
            else:
                print(f"error unknown command {words[0]}", flush=True)
        except (ValueError, IndexError) as error:
            print(f"error {error}", flush=True)
    stop.set()


async def run(listens: list[tuple[str, int]], target: tuple[str, int], delay_ms: float,
              jitter_ms: float = 0.0, control_stdin: bool = False) -> None:
    relay = Relay(listens, target, delay_ms, jitter_ms)
    await relay.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    control = asyncio.ensure_future(_control_stdin(relay, stop)) if control_stdin else None
    print(f"relay ready {','.join(relay.bound())} -> {target[0]}:{target[1]} pid {os.getpid()} "
          f"delay {relay.delay_ms:g} jitter {relay.jitter_ms:g}", flush=True)
    await stop.wait()
    if control:
        control.cancel()
    await relay.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", action="append", required=True, help="HOST:PORT, repeatable")
    parser.add_argument("--target", required=True, help="HOST:PORT")
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--jitter-ms", type=float, default=0.0)
    parser.add_argument("--control-stdin", action="store_true",
                        help="read commands from stdin; exit at end of file")
    args = parser.parse_args(argv)
    try:
        listens = [parse_endpoint(x) for x in args.listen]
        target = parse_endpoint(args.target)
    except ValueError as error:
        parser.error(str(error))
    try:
        asyncio.run(run(listens, target, args.delay_ms, args.jitter_ms, args.control_stdin))
    except OSError as error:
        print(f"relay error {error}", file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
