"""CURVE keys for Python clients, read from the certificate files `prism keys generate` writes.

A key directory holds `<name>.key` (secret, mode 0600), `<name>.pub` and `authorized/<name>.pub`
(docs/SECURITY.md). The files are CZMQ's zcert text (a `metadata` and a `curve` section of
`name = "value"` lines); libzmq takes the 40-character Z85 keys as they are.

Also runnable: `python3 -m lagexp.keys DIR --prism BIN` writes a whole system's keys (what
`./scripts/start --secure` and `scripts/lag-experiment --secure` use).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROJECTORS = ["orders", "search", "status", "history"]
# The name of the key a server serves with: the write node's for its command, PUB and catch-up
# endpoints, each projector's own for its query endpoint (their default `--identity`, as
# `ServerKeyName` in Sources/Security says for the Swift side).
WRITE_NODE = "write-node"


def projector_key(name: str) -> str:
    """`orders` → `orders-projector`."""
    return f"{name}-projector"


# The keys of one system: name → roles (None: a server key only, never a client, so not authorized).
SYSTEM_KEYS: dict[str, str | None] = {
    WRITE_NODE: None,
    **{projector_key(p): "projector" for p in PROJECTORS},
    "admin": "admin",
    "writer": "writer",
    # The outbox relay appends for the application (writer) and, to learn a stream's version after
    # a refused append, reads the stream on the catch-up endpoint (projector): docs/OUTBOX.md.
    "outbox-relay": "writer,projector",
    "reader": "reader",
}


def read_certificate(path: Path) -> dict[str, str]:
    """`{"name": …, "roles": …, "public-key": …, "secret-key": …}` (the keys the file has)."""
    values: dict[str, str] = {}
    for line in Path(path).read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#") or not line[0].isspace() or "=" not in stripped:
            continue
        key, value = (part.strip() for part in stripped.split("=", 1))
        values[key] = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if len(values.get("public-key", "")) != 40:
        raise ValueError(f"{path}: no 40-character curve public-key")
    return values


def fingerprint(public_key: str) -> str:
    """`SHA256:` and the unpadded base64 of the SHA-256 of the raw key, as `prism keys` and the logs print it."""
    from zmq.utils import z85
    return "SHA256:" + base64.b64encode(hashlib.sha256(z85.decode(public_key)).digest()).decode().rstrip("=")


@dataclass
class ClientKeys:
    """One client's key pair and the key directory it reads servers' public keys from."""

    directory: Path
    identity: str
    public_key: str
    secret_key: str

    @staticmethod
    def load(directory: Path, identity: str) -> "ClientKeys":
        certificate = read_certificate(Path(directory) / f"{identity}.key")
        if len(certificate.get("secret-key", "")) != 40:
            raise ValueError(f"{directory}/{identity}.key has no curve secret-key")
        return ClientKeys(Path(directory), identity, certificate["public-key"], certificate["secret-key"])

    def server_key(self, server: str) -> str:
        """A server's public key, by its key name (`WRITE_NODE`, `projector_key(name)`)."""
        return read_certificate(self.directory / f"{server}.pub")["public-key"]

    def apply(self, sock, server: str) -> None:
        """Makes a pyzmq socket a CURVE client of `server`: call before `connect`."""
        sock.curve_secretkey = self.secret_key.encode()
        sock.curve_publickey = self.public_key.encode()
        sock.curve_serverkey = self.server_key(server).encode()


def generate(prism: Path, directory: Path, name: str, roles: str | None) -> None:
    """`prism keys generate NAME` (authorized with its roles when it has any)."""
    argv = [str(prism), "keys", "generate", name, "--dir", str(directory)]
    if roles:
        argv += ["--roles", roles, "--authorize"]
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)


def generate_system(prism: Path, directory: Path) -> list[str]:
    """Writes every key of `SYSTEM_KEYS` that does not exist yet; returns the names written."""
    written = []
    for name, roles in SYSTEM_KEYS.items():
        if not (Path(directory) / f"{name}.key").exists():
            generate(prism, directory, name, roles)
            written.append(name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m lagexp.keys", description="Write a Prism system's CURVE keys.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--prism", type=Path, required=True, help="the prism executable")
    args = parser.parse_args(argv)
    written = generate_system(args.prism, args.directory)
    print(f"{args.directory}: " + (f"generated {', '.join(written)}" if written else "every key exists already"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
