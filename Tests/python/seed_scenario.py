"""The seed scenario (README: users in two states, orders placed, paid, shipped, cancelled, a user
moving) and what the four read models must answer after it, shared by every end-to-end test that
feeds the projectors: the event-sourced write node (test_real_stores) and the state-stored app
through the outbox relay or CDC (test_outbox)."""

import time

from lagexp import wire

SEED = [
    ("RegisterUser", {"userId": "ada", "name": "Ada", "state": "California"}),
    ("RegisterUser", {"userId": "bob", "name": "Bob", "state": "Texas"}),
    ("RegisterUser", {"userId": "cy", "name": "Cy", "state": "California"}),
    ("PlaceOrder", {"orderId": "o-1", "userId": "ada", "amountCents": 4999, "description": "red running shoes"}),
    ("PlaceOrder", {"orderId": "o-2", "userId": "cy", "amountCents": 1500, "description": "blue wool socks"}),
    ("PlaceOrder", {"orderId": "o-3", "userId": "bob", "amountCents": 999, "description": "trail running shoes"}),
    ("PlaceOrder", {"orderId": "o-4", "userId": "ada", "amountCents": 2500, "description": "rain jacket"}),
    ("PlaceOrder", {"orderId": "o-5", "userId": "cy", "amountCents": 7000, "description": "green lamp"}),
    ("ConfirmPayment", {"orderId": "o-4"}),
    ("ShipOrder", {"orderId": "o-4"}),
    ("ConfirmPayment", {"orderId": "o-1"}),
    ("PlaceOrder", {"orderId": "o-6", "userId": "ada", "amountCents": 3200, "description": "running hat"}),
    ("CancelOrder", {"orderId": "o-5", "reason": "changed mind"}),
    ("ChangeUserAddress", {"userId": "bob", "state": "California"}),
]
MONTH = time.strftime("%Y-%m", time.gmtime())
SEED_QUERIES = [
    ("orders", "ordersByStatus", {"status": "payment_pending", "userState": "California", "order": "amountAsc"}),
    ("orders", "ordersByStatus", {"status": "payment_pending"}),
    ("orders", "ordersByUser", {"userId": "ada"}),
    ("orders", "order", {"orderId": "o-4"}),
    ("orders", "countByStatus", {}),
    ("search", "search", {"text": "running shoes"}),
    ("search", "search", {"text": "running", "status": "payment_pending"}),
    ("status", "orderStatus", {"orderId": "o-4"}),
    ("status", "userOrders", {"userId": "ada"}),
    ("history", "monthly", {"userId": "cy", "from": MONTH, "to": MONTH}),
]


def query(endpoint, name, params, min_position=0) -> dict:
    """A query that must succeed, answered once the projector has applied `min_position`."""
    reply = wire.request(endpoint, {"query": name, "params": params, "minPosition": min_position, "timeoutMs": 10_000},
                         timeout_ms=15_000)
    assert reply and reply["ok"], (name, params, reply)
    assert reply["position"] >= min_position, reply
    return reply["result"]


def assert_seed_answers(endpoints: dict[str, str], position: int) -> None:
    """Read your writes: asked with the seed's last position, each projector answers the scenario's
    outcome (`endpoints`: projector name → query endpoint)."""
    pending = query(endpoints["orders"], *SEED_QUERIES[0][1:], min_position=position)
    # bob moved to California last: his order o-3 now counts there.
    assert [(o["orderId"], o["amountCents"]) for o in pending["orders"]] == [("o-3", 999), ("o-2", 1500), ("o-6", 3200)], pending
    assert query(endpoints["status"], "orderStatus", {"orderId": "o-4"}, position) == {
        "orderId": "o-4", "status": "shipped", "userId": "ada"}
    hits = query(endpoints["search"], "search", {"text": "running shoes"}, position)["hits"]
    assert {hit["orderId"] for hit in hits} == {"o-1", "o-3"}, hits
    [month] = query(endpoints["history"], "monthly", {"userId": "cy", "from": MONTH, "to": MONTH}, position)["months"]
    assert (month["count"], month["totalCents"], month["cancelledCount"], month["cancelledCents"]) == (2, 8500, 1, 7000)


def comparable(projector, result):
    """What must match across stores: everything, except search's scores and snippets (and so
    the order of its hits)."""
    if projector == "search":
        return sorted((hit["orderId"], hit["userId"], hit["status"], hit["amountCents"]) for hit in result["hits"])
    return result
