"""Typed answers of the Ceph client (parsed from Ceph's JSON in parsing.py)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property


class HealthStatus(StrEnum):
    OK = "HEALTH_OK"
    WARN = "HEALTH_WARN"
    ERR = "HEALTH_ERR"


@dataclass(frozen=True)
class HealthCheck:
    name: str  # e.g. "OSD_DOWN"
    severity: HealthStatus
    summary: str  # e.g. "1 osds down"
    count: int
    muted: bool


@dataclass(frozen=True)
class HealthReport:
    status: HealthStatus
    checks: tuple[HealthCheck, ...]


@dataclass(frozen=True)
class PgStat:
    total: int
    by_state: Mapping[str, int]  # full state string ("active+undersized+degraded") -> PG count


@dataclass(frozen=True)
class ClusterStatus:
    fsid: str
    health: HealthReport
    quorum: tuple[str, ...]  # names of the mons in quorum
    num_osds: int
    num_up_osds: int
    num_in_osds: int
    pgs: PgStat
    mgr_available: bool
    num_mons: int = 0  # in the monmap (quorum: those that answer)
    osdmap_epoch: int = 0  # the OSD map's epoch (0: not reported)


@dataclass(frozen=True)
class CrushNode:
    id: int  # >= 0: an OSD; < 0: a bucket
    name: str  # "osd.3" or the bucket name
    type: str  # "osd", "host", "rack", "root", ...
    children: tuple[int, ...]
    status: str  # "up"/"down" for OSDs, "" for buckets
    type_id: int = 0  # the CRUSH type's id: osd 0, host 1, ... root 11 in the default map
    device_class: str = ""  # OSDs only: "hdd", "ssd", ...


@dataclass(frozen=True)
class OsdTree:
    nodes: Mapping[int, CrushNode]

    def buckets(self, bucket_type: str | None = None) -> list[CrushNode]:
        return [
            node
            for node in self.nodes.values()
            if node.id < 0 and (bucket_type is None or node.type == bucket_type)
        ]

    def bucket_named(self, name: str) -> CrushNode | None:
        return self._buckets_by_name.get(name)

    @cached_property
    def _buckets_by_name(self) -> dict[str, CrushNode]:
        named: dict[str, CrushNode] = {}
        for node in self.buckets():
            named.setdefault(node.name, node)  # the first, as a scan in id order would find
        return named

    def osds_under(self, bucket_name: str) -> frozenset[int]:
        """All OSD ids below a bucket, at any depth."""
        bucket = self.bucket_named(bucket_name)
        return frozenset() if bucket is None else frozenset(self._osds_below(bucket.id))

    def osds_by_bucket(self, bucket_type: str) -> dict[str, frozenset[int]]:
        """Bucket name -> OSD ids below it, for every bucket of a type (e.g. "host")."""
        return {
            node.name: frozenset(self._osds_below(node.id)) for node in self.buckets(bucket_type)
        }

    def osds_taken(self, item_name: str) -> frozenset[int]:
        """The OSDs a CRUSH rule's ``take`` step can reach: below the bucket, and of the device
        class when the item is a class's shadow tree ("default~ssd")."""
        bucket, _, device_class = item_name.partition("~")
        osds = self.osds_under(bucket)
        if not device_class:
            return osds
        return frozenset(i for i in osds if self.nodes[i].device_class == device_class)

    def ancestry(self, osd_id: int) -> tuple[tuple[str, str], ...]:
        """(type, name) of every bucket above an OSD, from its host up to its root."""
        chain: list[tuple[str, str]] = []
        parent = self._parents.get(osd_id)
        while parent is not None and len(chain) < len(self.nodes):
            chain.append((parent.type, parent.name))
            parent = self._parents.get(parent.id)
        return tuple(chain)

    def ancestors(self, node_id: int) -> tuple[CrushNode, ...]:
        """The buckets holding a node, nearest first (its host, then rack, ..., the root)."""
        found: list[CrushNode] = []
        parent = self._parents.get(node_id)
        while parent is not None and parent not in found:
            found.append(parent)
            parent = self._parents.get(parent.id)
        return tuple(found)

    @cached_property
    def _parents(self) -> dict[int, CrushNode]:
        return {child: node for node in self.buckets() for child in node.children}

    def _osds_below(self, node_id: int) -> Iterable[int]:
        node = self.nodes.get(node_id)
        if node is None:
            return
        if node.id >= 0:
            yield node.id
        for child in node.children:
            yield from self._osds_below(child)


@dataclass(frozen=True)
class OsdState:
    id: int
    up: bool
    in_cluster: bool  # "in" (receives data) as opposed to "out"
    weight: float
    state: frozenset[str]  # Ceph's per-OSD state words: exists, up, noout, noin, destroyed, ...
    up_from: int = 0  # the OSD map epoch it last came up in: a restart raises it

    @property
    def noout(self) -> bool:
        return "noout" in self.state


@dataclass(frozen=True)
class PoolInfo:
    id: int
    name: str
    crush_rule: int  # the id of the pool's CRUSH rule
    size: int


@dataclass(frozen=True)
class CrushRule:
    id: int
    name: str
    takes: tuple[str, ...]  # item names of its take steps ("default", "default~ssd")
    failure_domain_type: str  # see parsing.parse_failure_domain; "" when it has no choose step


@dataclass(frozen=True)
class OsdMap:
    epoch: int
    flags: frozenset[str]  # cluster-wide: noout, norebalance, ... (and internal ones)
    osds: Mapping[int, OsdState]
    crush_node_flags: Mapping[str, frozenset[str]]  # CRUSH bucket -> flags (set-group)
    device_class_flags: Mapping[str, frozenset[str]]
    nearfull_ratio: float = 0.0  # the OSD map's (ceph osd set-nearfull-ratio); 0: not given
    full_ratio: float = 0.0
    pools: tuple[PoolInfo, ...] = ()

    def osds_with(self, flag: str) -> frozenset[int]:
        return frozenset(osd.id for osd in self.osds.values() if flag in osd.state)

    def buckets_with(self, flag: str) -> frozenset[str]:
        return frozenset(name for name, flags in self.crush_node_flags.items() if flag in flags)


@dataclass(frozen=True)
class OsdSpace:
    """One OSD's line of ``ceph osd df``: bytes; size 0 when the OSD reports none (down)."""

    id: int
    size: int
    used: int


@dataclass(frozen=True)
class OkToStop:
    """``ceph osd ok-to-stop``: would stopping these OSDs leave every PG active?"""

    ok_to_stop: bool
    osds: tuple[int, ...]  # the OSDs Ceph judged (more than asked when ``max`` widened the set)
    num_ok_pgs: int
    num_not_ok_pgs: int
    ok_become_degraded: tuple[str, ...]
    ok_become_more_degraded: tuple[str, ...]
    bad_become_inactive: tuple[str, ...]
    bad_already_inactive: tuple[str, ...]
    bad_no_pool_pgs: tuple[str, ...]
    message: str  # Ceph's explanation when not ok, e.g. "unsafe to stop osd(s) at this time ..."

    def describe(self) -> str:
        osds = ", ".join(f"osd.{osd_id}" for osd_id in self.osds)
        if self.ok_to_stop:
            return f"ok to stop {osds} ({len(self.ok_become_degraded)} PGs would be degraded)"
        return f"not ok to stop {osds}: {self.message or f'{self.num_not_ok_pgs} PGs not ok'}"
