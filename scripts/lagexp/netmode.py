"""The distributed layout of `--mode netns`: one network namespace per process (lagexp.netns).

The write node binds 0.0.0.0 in "wn"; each projector runs in its own host and dials the write
node's PUB and catch-up endpoints through two local relays that add the link's one-way delay and
jitter (directly when there is none); loss and a rate limit go on each projector host's link;
`prism load` runs in "client". The experiment itself (sampler, checks) stays in the root namespace
and reaches every process at its namespace address.
"""

from __future__ import annotations

from . import endpoints
from .endpoints import CATCH_UP, COMMAND, PUBLISH
from .system import Topology

# Each projector has a host of its own, so all of them can take the orders projector's port.
QUERY = endpoints.QUERY["orders"]
REBUILD_QUERY = QUERY + 10
RELAY_PUBLISH, RELAY_CATCH_UP = 15551, 15552


def hosts_for(projectors: list[str]) -> list[str]:
    return ["wn", *projectors, "client"]


def layout(net, projectors: list[str], delay_ms: float, jitter_ms: float, loss_percent: float,
           rate_kbit: int | None) -> Topology:
    """Starts the relays and shapes the links; returns the endpoints every process binds and dials."""
    wn = net.address("wn")
    topo = Topology(command_bind=f"tcp://0.0.0.0:{COMMAND}", publish_bind=f"tcp://0.0.0.0:{PUBLISH}",
                    catch_up_bind=f"tcp://0.0.0.0:{CATCH_UP}", command=f"tcp://{wn}:{COMMAND}",
                    hosts={"write-node": "wn", "load": "client"})
    for p in projectors:
        address = net.address(p)
        topo.hosts[p] = p
        if delay_ms > 0 or jitter_ms > 0:
            net.start_relay(p, RELAY_PUBLISH, "wn", PUBLISH, delay_ms, jitter_ms)
            net.start_relay(p, RELAY_CATCH_UP, "wn", CATCH_UP, delay_ms, jitter_ms)
            topo.projector_publish[p] = f"tcp://127.0.0.1:{RELAY_PUBLISH}"
            topo.projector_catch_up[p] = f"tcp://127.0.0.1:{RELAY_CATCH_UP}"
        else:
            topo.projector_publish[p] = f"tcp://{wn}:{PUBLISH}"
            topo.projector_catch_up[p] = f"tcp://{wn}:{CATCH_UP}"
        topo.query_bind[p] = f"tcp://0.0.0.0:{QUERY}"
        topo.query[p] = f"tcp://{address}:{QUERY}"
        topo.rebuild_query_bind[p] = f"tcp://0.0.0.0:{REBUILD_QUERY}"
        topo.rebuild_query[p] = f"tcp://{address}:{REBUILD_QUERY}"
        if loss_percent:
            net.set_loss(p, loss_percent)
        if rate_kbit:
            net.set_rate(p, rate_kbit)
    return topo
