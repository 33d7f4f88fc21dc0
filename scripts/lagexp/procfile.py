"""Reads the repository's Procfile so the experiment runs exactly the commands users run.

Only the things that must differ per run are rewritten: the binary directory (release vs debug),
`--data-dir` (under the results folder) and the endpoints (free ports, or namespace addresses).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

ENDPOINT_FLAGS = ("--command-endpoint", "--publish-endpoint", "--catch-up-endpoint", "--query-endpoint")


@dataclass
class Entry:
    name: str
    argv: list[str]

    @property
    def binary(self) -> str:
        return Path(self.argv[0]).name


def parse(path: Path) -> list[Entry]:
    """`name: command` lines; blank lines and `#` comments are skipped."""
    return [entry for entry in map(parse_line, path.read_text().splitlines()) if entry]


def parse_line(raw: str) -> Entry | None:
    """One `name: command` line, or None for a blank line or a `#` comment."""
    line = raw.strip()
    if not line or line.startswith("#") or ":" not in line:
        return None
    name, command = line.split(":", 1)
    argv = shlex.split(command)
    # `exec` is for the shell a Procfile runner starts (so the signal reaches the process
    # itself); the experiment starts the process directly.
    if argv and argv[0] == "exec":
        argv = argv[1:]
    return Entry(name.strip(), argv)


def find(entries: list[Entry], name: str) -> Entry:
    """The entry for `write-node` or a projector name (`orders` matches key `orders` or binary `orders-projector`)."""
    for entry in entries:
        if entry.name == name or entry.binary == name or entry.binary == f"{name}-projector":
            return entry
    raise KeyError(f"no Procfile entry for {name!r} (entries: {', '.join(e.name for e in entries)})")


def command(entry: Entry, bin_dir: Path, data_dir: Path, endpoints: dict[str, str], extra: list[str] = ()) -> list[str]:
    """The entry's argv with the binary taken from `bin_dir`, `--data-dir` and the endpoint flags replaced."""
    argv = [str(bin_dir / entry.binary)]
    args = entry.argv[1:]
    i = 0
    while i < len(args):
        arg = args[i]
        flag = arg.split("=", 1)[0]
        if flag == "--data-dir" or flag in ENDPOINT_FLAGS:
            i += 1 if "=" in arg else 2
            continue
        argv.append(arg)
        i += 1
    argv += ["--data-dir", str(data_dir)]
    for flag, endpoint in endpoints.items():
        argv += [flag, endpoint]
    argv += list(extra)
    return argv
