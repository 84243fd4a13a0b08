"""Failure domains from Ceph's own CRUSH map: the one place that says which failure domain an OSD
or a node is in. Pure; ``caretaker.handlers.ceph.topology`` reads the inputs from Ceph.

A pool's CRUSH rule separates the replicas of each PG by a bucket type (its failure-domain type:
host, rack, ...) and can place PGs only on the OSDs below what it takes. An OSD's failure domain
is its bucket of that type, for the coarsest type among the pools that can place PGs on it (a
rack rather than a host when one pool spreads over racks: two hosts of one rack may hold two
replicas of that pool). Nodes of one failure domain may be away together (up to maxUnavailable;
ok-to-stop, asked for every OSD disrupted, still guards the finer pools). A node whose OSDs are
in several failure domains would disrupt them all at once: it is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

REFUSED = "not touching node "  # how every refusal begins (NodeDomain.problem)

Ancestry = tuple[tuple[str, str], ...]  # (bucket type, bucket name) from the host up to the root


@dataclass(frozen=True)
class PoolPlacement:
    pool: str
    domain_type: str  # the bucket type its rule separates replicas by ("host", "rack", ...)
    osds: frozenset[int]  # the OSDs its rule can place PGs on


@dataclass(frozen=True)
class Topology:
    ancestry: Mapping[int, Ancestry] = field(default_factory=dict)  # OSD id -> its buckets
    pools: tuple[PoolPlacement, ...] = ()
    # the bucket type of an OSD that no pool can place PGs on (--failure-domain-type)
    fallback_type: str = "host"


@dataclass(frozen=True)
class NodeDomain:
    domain: str  # the failure domain's bucket name; "node/<name>" for a node without OSDs
    problem: str = ""  # non-empty: the node must not be touched, and this says why

    @property
    def refused(self) -> bool:
        return bool(self.problem)


def refusal(node: str, why: str) -> NodeDomain:
    return NodeDomain("", f"{REFUSED}{node}: {why}; it waits until Ceph and Kubernetes agree")


def osd_failure_domain(topology: Topology, osd: int) -> str:
    """The failure domain (a CRUSH bucket name) of one OSD; "" when the CRUSH map does not place
    it (an OSD outside CRUSH holds no PGs)."""
    chain = topology.ancestry.get(osd, ())
    if not chain:
        return ""
    types = {p.domain_type for p in topology.pools if osd in p.osds} or {topology.fallback_type}
    levels = [level for level, (kind, _) in enumerate(chain) if kind in types]
    if not levels:
        return chain[0][1]  # no bucket of that type above it: its own host is the least to assume
    return chain[max(levels)][1]


def node_failure_domain(topology: Topology, node: str, osds: Iterable[int]) -> NodeDomain:
    """The failure domain a node counts in: that of its OSDs, or ``node/<name>`` without OSDs."""
    ids = sorted(set(osds))
    if not ids:
        return NodeDomain(f"node/{node}")
    by_domain: dict[str, list[int]] = {}
    for osd in ids:
        by_domain.setdefault(osd_failure_domain(topology, osd) or f"node/{node}", []).append(osd)
    if len(by_domain) == 1:
        return NodeDomain(next(iter(by_domain)))
    parts = "; ".join(
        f"{domain}: {', '.join(f'osd.{i}' for i in members)}"
        for domain, members in sorted(by_domain.items())
    )
    return refusal(
        node,
        f"its OSDs are in {len(by_domain)} failure domains ({parts}), "
        f"which maintaining it would disrupt all at once",
    )
