"""The default ports, read from the one place they are written down: Sources/WireProtocol/DefaultEndpoints.swift."""

from __future__ import annotations

import re
from pathlib import Path

SWIFT_FILE = Path(__file__).resolve().parents[2] / "Sources" / "WireProtocol" / "DefaultEndpoints.swift"


def ports(path: Path = SWIFT_FILE) -> dict[str, int]:
    """`{"command": 5550, "publish": 5551, "catchUp": 5552, "ordersQuery": 5560, ...}`."""
    found = {m[1]: int(m[2]) for m in re.finditer(r"static let (\w+)Port = (\d+)", path.read_text())}
    if not found:
        raise RuntimeError(f"no default ports found in {path}")
    return found


_PORTS = ports()
COMMAND, PUBLISH, CATCH_UP = _PORTS["command"], _PORTS["publish"], _PORTS["catchUp"]
QUERY = {name: _PORTS[f"{name}Query"] for name in ("orders", "search", "status", "history")}
