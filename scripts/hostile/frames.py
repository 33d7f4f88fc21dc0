"""Random and mutated requests for the network fuzz run (`scripts/netfuzz`).

`FrameSource.next()` returns `(endpoint, frames)`: a multipart message for one endpoint kind
(`command`, `catchUp`, `query:<projector>`), made from a valid request of that endpoint (commands,
generic appends, queries, catch-up reads in either format) by one or more mutations: bytes flipped,
inserted, deleted, duplicated or truncated, numbers replaced by extreme ones, strings by long or
invalid UTF-8 ones, deep nesting, another request spliced in, frames added, dropped or emptied, and
now and then a frame at or just past the endpoint's ZMQ_MAXMSGSIZE; or plain random bytes.

Generic appends stay out of the domain's categories (`user`, `order`): an event of any shape is what
a writer may append there, and a projector stopping at it is by design (docs/PROJECTORS.md), not a
defect the fuzz run is after.
"""

from __future__ import annotations

import json
import random
import uuid

from .attacks import MAX_MESSAGE

PROJECTOR_QUERIES = {
    "orders": [{"query": "order", "params": {"orderId": "o-1"}, "minPosition": 1, "timeoutMs": 100},
               {"query": "ordersByStatus", "params": {"status": "paid", "userState": "Oregon", "order": "amountAsc", "limit": 5, "offset": 1}},
               {"query": "ordersByUser", "params": {"userId": "u-1", "limit": 10}},
               {"query": "countByStatus", "params": {"userState": "Oregon"}}],
    "search": [{"query": "search", "params": {"text": "red shoes", "status": "paid", "limit": 10}}],
    "status": [{"query": "orderStatus", "params": {"orderId": "o-1"}, "minPosition": 2},
               {"query": "userOrders", "params": {"userId": "u-1", "limit": 3}}],
    "history": [{"query": "monthly", "params": {"userId": "u-1", "from": "2025-01", "to": "2026-12"}}],
}
BUILT_IN_QUERIES = [{"query": "health"}, {"query": "stats", "params": {"reset": False}}, {"query": "digest", "minPosition": 0}]

EXTREME_NUMBERS = [b"-1", b"0", b"9223372036854775807", b"9223372036854775808", b"-9223372036854775808",
                   b"18446744073709551616", b"1e308", b"-1e999", b"0.5", b"-0", b"1E2", b"00", b"NaN", b"Infinity"]
BAD_STRINGS = [b'"\xff\xfe"', b'"\xc3\x28"', b'"\\ud800"', b'"\\udc00\\ud800"', b'"\xed\xa0\x80"', b'"\x00"',
               b'"' + b"a" * 70_000 + b'"', b'"\\u0000"', b'""', b'"\xf4\x90\x80\x80"']
TOKENS = [b"{", b"}", b"[", b"]", b":", b",", b'"', b"\\", b"null", b"true", b"false", b'"after"', b'"limit"',
          b'"query"', b'"command"', b'"append"', b'"params"', b'"format"', b'"binary"', b'"events"', b'"stream"',
          b'"minPosition"', b'"timeoutMs"', b'"categories"', b'"types"', b'"expectedVersion"']


def seeds(endpoint: str) -> list[bytes]:
    """Valid requests for one endpoint kind."""
    if endpoint == "command":
        bodies = [
            {"command": "RegisterUser", "data": {"userId": "u-1", "name": "Ada", "state": "Oregon"}},
            {"command": "PlaceOrder", "data": {"orderId": "o-1", "userId": "u-1", "amountCents": 4999, "description": "red shoes"}},
            {"command": "PayOrder", "data": {"orderId": "o-1"}},
            {"command": "CancelOrder", "data": {"orderId": "o-1", "reason": "changed my mind"}},
            {"append": {"stream": "fuzz-1", "expectedVersion": "any", "events": [
                {"id": str(uuid.UUID(int=1)), "type": "Fuzzed", "data": {"n": 1, "s": "x"}, "metadata": {"by": "netfuzz"}}]}},
            {"append": {"stream": "fuzz-2", "expectedVersion": 0, "events": [{"id": str(uuid.UUID(int=2)), "type": "Fuzzed"}]}},
            {"query": "health"}, {"query": "stats"},
        ]
    elif endpoint == "catchUp":
        bodies = [{"after": 0}, {"after": 0, "limit": 100, "format": "binary"},
                  {"after": 1, "limit": 10, "categories": ["order"], "types": ["OrderCreated"]},
                  {"after": 0, "format": "json", "categories": ["user", "fuzz"]},
                  {"stream": "order-o-1", "fromVersion": 0, "limit": 100}]
    else:
        bodies = PROJECTOR_QUERIES[endpoint.split(":", 1)[1]] + BUILT_IN_QUERIES
    return [json.dumps(body).encode() for body in bodies]


class FrameSource:
    def __init__(self, endpoints: list[str], seed: int, large_every: int = 10_000):
        self.random = random.Random(seed)
        self.endpoints = endpoints
        self.seeds = {endpoint: seeds(endpoint) for endpoint in endpoints}
        self.large_every = large_every
        self.produced = 0

    def next(self) -> tuple[str, list[bytes]]:
        self.produced += 1
        endpoint = self.random.choice(self.endpoints)
        r = self.random
        if self.produced % self.large_every == 0:
            limit = MAX_MESSAGE[endpoint.split(":")[0]]
            size = limit + r.choice([0, 0, 1, -1])
            return endpoint, [r.choice([b"{", b"[", b" "]) * size]
        if r.random() < 0.05:
            return endpoint, [r.randbytes(r.randint(0, 256))]
        body = r.choice(self.seeds[endpoint])
        for _ in range(r.choice([1, 1, 1, 2, 3, 5])):
            body = self.mutate(body, endpoint)
        if b"append" in body and (b'"order-' in body or b'"user-' in body):
            body = self.seeds[endpoint][0]  # see the module's note on the domain's categories
        return endpoint, self.frame(body)

    def frame(self, body: bytes) -> list[bytes]:
        """The body as a DEALER sends it, now and then with the envelope or the frames wrong."""
        r = self.random.random()
        if r < 0.80:
            return [body]
        if r < 0.88:
            return [b"", body]
        if r < 0.92:
            return [b""]
        if r < 0.96:
            return [body] * self.random.randint(2, 5)
        return [b"", b"", body, self.random.randbytes(8)]

    def mutate(self, body: bytes, endpoint: str) -> bytes:
        r = self.random
        n = len(body)
        kind = r.randrange(12)
        at = r.randrange(n + 1)
        if kind == 0 and n:
            i = r.randrange(n)
            return body[:i] + bytes([body[i] ^ (1 << r.randrange(8))]) + body[i + 1:]
        if kind == 1:
            return body[:at] + r.randbytes(r.randint(1, 8)) + body[at:]
        if kind == 2 and n:
            end = min(n, at + r.randint(1, 16))
            return body[:at] + body[end:]
        if kind == 3 and n:
            end = min(n, at + r.randint(1, 32))
            return body[:end] + body[at:end] * r.randint(1, 50) + body[end:]
        if kind == 4:
            return body[:at]
        if kind == 5:
            return replace_token(r, body, b"0123456789-", EXTREME_NUMBERS)
        if kind == 6:
            return replace_string(r, body)
        if kind == 7:
            depth = r.choice([63, 64, 65, 200, 10_000, 100_000])
            opener, closer = r.choice([(b"[", b"]"), (b'{"a":', b"}")])
            return body[:at] + opener * depth + b"1" + closer * r.choice([depth, 0, depth // 2]) + body[at:]
        if kind == 8:
            other = r.choice(self.seeds[endpoint])
            return body[:at] + other[r.randrange(len(other) + 1):]
        if kind == 9:
            return body[:at] + r.choice(TOKENS) + body[at:]
        if kind == 10:
            return body[:at] + b"\xff\xfe\xc0\x80\xed\xa0\x80"[r.randrange(7):] + body[at:]
        return json.dumps({"after": r.choice([0, -1, 2**63 - 1, 2**64]), "limit": r.choice([1, 10_000, 10_001, 0]),
                           "query": r.choice(["health", "x" * 1000, ""]), r.choice(["command", "format"]): r.choice([None, 1, [], {}])}).encode()


def replace_token(r: random.Random, body: bytes, alphabet: bytes, choices: list[bytes]) -> bytes:
    """Replaces one run of `alphabet` characters with one of `choices` (or inserts one if there is none)."""
    starts = [i for i, c in enumerate(body) if c in alphabet and (i == 0 or body[i - 1] not in alphabet)]
    if not starts:
        return body + r.choice(choices)
    start = r.choice(starts)
    end = start
    while end < len(body) and body[end] in alphabet:
        end += 1
    return body[:start] + r.choice(choices) + body[end:]


def replace_string(r: random.Random, body: bytes) -> bytes:
    """Replaces one JSON string (quotes included) with a long or invalid one."""
    quotes = [i for i, c in enumerate(body) if c == ord('"')]
    if len(quotes) < 2:
        return body + r.choice(BAD_STRINGS)
    i = r.randrange(len(quotes) // 2) * 2
    start, end = quotes[i], quotes[i + 1] + 1
    return body[:start] + r.choice(BAD_STRINGS) + body[end:]
