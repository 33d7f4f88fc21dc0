#!/usr/bin/env python3
"""The state-stored orders application's driver: the six commands of the orders domain as calls of
the SQL functions in schema.sql, one transaction each (psycopg 3, autocommit between commands).

    orders_app.py --url URL install [--outbox on|off] [--wait SECONDS]   # the schema (idempotent)
    orders_app.py --url URL send PlaceOrder '{"orderId": "o-1", ...}'      # prints {"outboxId": ...}

`URL` is a libpq URL (`postgres://prism:prism@127.0.0.1:5570/prism`, what scripts/start runs);
the default is $PRISM_APP_URL. Commands and their data are the write node's (README, "Commands"),
so a client of the event-sourced write node moves here by changing its transport only. A rule
violation raises `Rejected` with the domain's message (SQLSTATE PR001 on the SQL side).

Importable: the end-to-end tests and the outbox benchmark drive the application through `OrdersApp`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
REJECTED = "PR001"

# Wire command → (SQL function, its arguments in order as data fields; a default for optional ones).
COMMANDS: dict[str, tuple[str, list[tuple[str, object]]]] = {
    "RegisterUser": ("register_user", [("userId", None), ("name", None), ("state", None)]),
    "ChangeUserAddress": ("change_user_address", [("userId", None), ("state", None)]),
    "PlaceOrder": ("place_order", [("orderId", None), ("userId", None), ("amountCents", None), ("description", None)]),
    "ConfirmPayment": ("confirm_payment", [("orderId", None)]),
    "ShipOrder": ("ship_order", [("orderId", None)]),
    "CancelOrder": ("cancel_order", [("orderId", None), ("reason", "")]),
}


class Rejected(Exception):
    """A domain rule forbade the command (the write node's `Rejected`)."""


def connect(url: str) -> psycopg.Connection:
    return psycopg.connect(url, autocommit=True)


def wait_for_server(url: str, deadline_s: float) -> None:
    """Until PostgreSQL accepts a connection (it may still be starting), else the last error."""
    deadline = time.monotonic() + deadline_s
    while True:
        try:
            connect(url).close()
            return
        except psycopg.OperationalError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.1)


def install(url: str, outbox: bool) -> None:
    """Creates the tables and functions (again: harmless), and switches the outbox on or off.
    The outbox table is created either way, so a database can move between the two modes."""
    with connect(url) as conn, conn.transaction():
        # Two installers at once (the relay's line and a test) must not race on CREATE ... IF NOT EXISTS.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('orders_app.install'))")
        conn.execute((HERE / "outbox.sql").read_text())
        conn.execute((HERE / "schema.sql").read_text())
        conn.execute("SELECT orders_app_use_outbox(%s)", [outbox])


class OrdersApp:
    """One connection of the application; `execute` runs one command in its own transaction
    (or inside the caller's, within `transaction()`)."""

    def __init__(self, url: str):
        self.connection = connect(url)

    def execute(self, command: str, data: dict) -> str | None:
        """Runs `command` with `data`; returns the id of its outbox row (None with the outbox off).

        - Raises: `Rejected` when a rule forbids it; `KeyError` for an unknown command or a missing field.
        """
        function, fields = COMMANDS[command]
        arguments = [data[name] if default is None else data.get(name, default) for name, default in fields]
        placeholders = ", ".join(["%s"] * len(arguments))
        try:
            row = self.connection.execute(f"SELECT {function}({placeholders})", arguments).fetchone()
        except psycopg.Error as error:
            if error.sqlstate == REJECTED:
                raise Rejected(error.diag.message_primary) from None
            raise
        return str(row[0]) if row[0] is not None else None

    @contextmanager
    def transaction(self):
        """Several commands committed together (or none), at the end of the `with` block."""
        with self.connection.transaction():
            yield self

    def close(self) -> None:
        self.connection.close()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="orders_app.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("PRISM_APP_URL"), help="libpq URL (default $PRISM_APP_URL)")
    sub = parser.add_subparsers(dest="action", required=True)
    setup = sub.add_parser("install", help="create the schema and switch the outbox on or off")
    setup.add_argument("--outbox", choices=["on", "off"], default="on",
                       help="on: commands write outbox rows (outbox mode); off: CDC reads the tables")
    setup.add_argument("--wait", type=float, default=0, metavar="SECONDS", help="wait this long for the server first")
    send = sub.add_parser("send", help="run one command")
    send.add_argument("command", choices=sorted(COMMANDS))
    send.add_argument("data", help="the command's data, a JSON object")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url is required (or set PRISM_APP_URL)")
    if args.action == "install":
        wait_for_server(args.url, args.wait)
        install(args.url, args.outbox == "on")
        print(f"orders_app: schema installed, outbox {args.outbox}", file=sys.stderr)
        return 0
    app = OrdersApp(args.url)
    try:
        print(json.dumps({"outboxId": app.execute(args.command, json.loads(args.data))}))
    except Rejected as error:
        print(json.dumps({"error": {"code": "Rejected", "message": str(error)}}))
        return 1
    finally:
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
