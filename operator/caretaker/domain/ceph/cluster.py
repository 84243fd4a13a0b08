"""What Ceph said in one read, as every feature sees it: the one model of the cluster that the
Maintenance and the HealthPolicy decisions share (``caretaker.handlers.ceph.view`` reads it).

Which node carries which OSD comes from ``osd_placement`` (Ceph's names and Rook's OSD pods);
which failure domain an OSD or a node is in from ``topology`` (the pools' CRUSH rules). Both
are asked here, so no feature derives them on its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from caretaker.domain.ceph.osd_placement import NodeOsds
from caretaker.domain.ceph.topology import (
    NodeDomain,
    Topology,
    node_failure_domain,
    osd_failure_domain,
    refusal,
)


@dataclass(frozen=True)
class OkToStop:
    """``ceph osd ok-to-stop``'s answer for some OSDs (with every OSD already disrupted)."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True)
class CephCluster:
    health: str  # HEALTH_OK / HEALTH_WARN / HEALTH_ERR
    health_checks: Mapping[str, str] = field(default_factory=dict)  # check -> summary (unmuted)
    osds_total: int = 0
    osds_up: int = 0
    mons: int = 0  # monitors in the monmap
    quorum: tuple[str, ...] = ()  # monitors in quorum
    osd_up: Mapping[int, bool] = field(default_factory=dict)
    osd_in: Mapping[int, bool] = field(default_factory=dict)
    osd_up_from: Mapping[int, int] = field(default_factory=dict)  # OSD map epoch it came up in
    osd_host_bucket: Mapping[int, str] = field(default_factory=dict)  # OSD -> CRUSH host bucket
    noout_osds: frozenset[int] = frozenset()
    noout_buckets: frozenset[str] = frozenset()
    cluster_flags: frozenset[str] = frozenset()  # noout, norebalance, ...
    pg_states: Mapping[str, int] = field(default_factory=dict)  # "active+clean" -> count
    topology: Topology = field(default_factory=Topology)  # CRUSH tree and the pools' rules
    node_osds: Mapping[str, NodeOsds] = field(default_factory=dict)  # node -> its OSDs

    @property
    def quorum_ok(self) -> bool:
        return bool(self.quorum)

    @property
    def pgs_inactive(self) -> int:
        return sum(n for state, n in self.pg_states.items() if "active" not in state)

    @cached_property
    def osd_domains(self) -> Mapping[int, str]:
        """OSD -> its failure domain ("" when CRUSH does not place it)."""
        return {osd: osd_failure_domain(self.topology, osd) for osd in self.osd_up}

    def placement(self, node: str) -> NodeOsds:
        return self.node_osds.get(node, NodeOsds())

    def osds_of(self, node: str) -> tuple[int, ...]:
        return self.placement(node).osds

    def domain_of(self, node: str) -> NodeDomain:
        """The node's failure domain, or why the node must not be touched."""
        placed = self.placement(node)
        if placed.problem:
            return refusal(node, placed.problem)
        return node_failure_domain(self.topology, node, placed.osds)
