"""CPU and memory of a process from /proc, so each sample says what every process cost.

% CPU is the utime+stime delta over the wall-clock delta (100 % = one core); RSS comes from
/proc/<pid>/status (VmRSS, kB). A vanished process yields None instead of an error.
"""

from __future__ import annotations

import os
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may contain spaces: split after the last ')'.
    fields = data[data.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def rss_kb(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


class CpuMeter:
    """Remembers the last (ticks, time) per pid and turns the next reading into % CPU."""

    def __init__(self):
        self._last: dict[int, tuple[int, float]] = {}

    def percent(self, pid: int | None) -> float | None:
        if pid is None:
            return None
        ticks, now = cpu_ticks(pid), time.monotonic()
        if ticks is None:
            self._last.pop(pid, None)
            return None
        last = self._last.get(pid)
        self._last[pid] = (ticks, now)
        if last is None or now <= last[1]:
            return None
        return round(100.0 * (ticks - last[0]) / CLK_TCK / (now - last[1]), 1)
