"""Reads Ceph into the one model both features decide on (``caretaker.domain.ceph.cluster``), and
asks ``ok-to-stop`` the one way both features ask it.

A read costs one command (``status``) while the OSD map stays the same: the OSD map itself, the
CRUSH tree, the CRUSH rules and the OSDs' metadata (about 10 MB of JSON at 3,000 OSDs) and what
is derived from them change only with a new OSD map, so they are read and parsed again only when
the epoch ``status`` reports moves (kept per Ceph cluster, by fsid, shared by every loop).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.ceph.errors import CephError
from caretaker.clients.ceph.models import OsdMap, OsdTree
from caretaker.domain.ceph.cluster import CephCluster, OkToStop
from caretaker.domain.ceph.osd_placement import NodeOsds, OsdPod, map_osds_to_nodes
from caretaker.domain.ceph.topology import Topology
from caretaker.handlers.ceph.topology import osd_evidence, topology_of


@dataclass(frozen=True)
class _MapFacts:
    """What changes only with the OSD map: read once per epoch."""

    epoch: int
    osd_map: OsdMap
    tree: OsdTree
    hostnames: Mapping[int, str]
    host_bucket: Mapping[int, str]
    topology: Topology


_by_fsid: dict[str, _MapFacts] = {}
_lock = threading.Lock()
_reading = threading.Lock()  # one loop reads a new map; the others wait and take its result


def _map_facts(client: CephClient, fsid: str, epoch: int, fallback_type: str) -> _MapFacts:
    key = f"{fsid}/{fallback_type}"
    known = _known(key, epoch)
    if known is not None:
        return known
    with _reading:
        return _known(key, epoch) or _read_map_facts(client, key, fallback_type)


def _known(key: str, epoch: int) -> _MapFacts | None:
    with _lock:
        known = _by_fsid.get(key)
    return known if epoch and known is not None and known.epoch == epoch else None


def _read_map_facts(client: CephClient, key: str, fallback_type: str) -> _MapFacts:
    osd_map = client.osd_dump()
    tree = client.osd_tree()
    facts = _MapFacts(
        epoch=osd_map.epoch,  # the map read (it may be newer than the status said)
        osd_map=osd_map,
        tree=tree,
        hostnames=client.osd_hostnames(),
        host_bucket=bucket_of(tree, "host"),
        topology=topology_of(tree, osd_map, client.crush_rules(), fallback_type),
    )
    with _lock:
        _by_fsid[key] = facts
    return facts


def bucket_of(tree: OsdTree, bucket_type: str) -> dict[int, str]:
    """OSD id -> name of the bucket of ``bucket_type`` above it (computed once per tree)."""
    return {osd: name for name, osds in tree.osds_by_bucket(bucket_type).items() for osd in osds}


def read_cluster(
    client: CephClient,
    *,
    fallback_type: str,
    hostnames: Mapping[str, str],
    osd_pods: tuple[OsdPod, ...] = (),
) -> CephCluster:
    """Ceph as it is now; raises CephError when it cannot be read.

    ``hostnames``: every node -> its kubernetes.io/hostname label (which node carries which OSD
    is told for these nodes only); ``osd_pods``: Rook's OSD pods."""
    status = client.status()
    facts = _map_facts(client, status.fsid, status.osdmap_epoch, fallback_type)
    osd_map = facts.osd_map
    return CephCluster(
        health=str(status.health.status),
        health_checks={c.name: c.summary for c in status.health.checks if not c.muted},
        osds_total=status.num_osds,
        osds_up=status.num_up_osds,
        mons=status.num_mons,
        quorum=status.quorum,
        osd_up={i: state.up for i, state in osd_map.osds.items()},
        osd_in={i: state.in_cluster for i, state in osd_map.osds.items()},
        osd_up_from={i: state.up_from for i, state in osd_map.osds.items()},
        osd_host_bucket=facts.host_bucket,
        noout_osds=osd_map.osds_with("noout"),
        noout_buckets=osd_map.buckets_with("noout"),
        cluster_flags=osd_map.flags,
        pg_states=dict(status.pgs.by_state),
        topology=facts.topology,
        node_osds=_node_osds(facts, hostnames, osd_pods),
    )


_placements: dict[tuple[tuple[tuple[str, str], ...], tuple[OsdPod, ...]], _Placement] = {}
PLACEMENTS_KEPT = 16  # distinct (nodes, OSD pods) seen within one OSD map: a few per feature


@dataclass(frozen=True)
class _Placement:
    facts: _MapFacts
    node_osds: Mapping[str, NodeOsds]


def _node_osds(
    facts: _MapFacts, hostnames: Mapping[str, str], osd_pods: tuple[OsdPod, ...]
) -> dict[str, NodeOsds]:
    """``map_osds_to_nodes`` once per OSD map, node list and set of OSD pods (every loop of a
    round asks with the same three; at 1,000 nodes and 3,000 OSDs a match costs ~25 ms)."""
    key = (tuple(sorted(hostnames.items())), osd_pods)
    with _lock:
        known = _placements.get(key)
    if known is not None and known.facts is facts:
        return dict(known.node_osds)
    evidence = osd_evidence(facts.tree, facts.osd_map, dict(facts.hostnames), osd_pods)
    node_osds = map_osds_to_nodes(hostnames, evidence)
    with _lock:
        if len(_placements) >= PLACEMENTS_KEPT:
            _placements.clear()
        _placements[key] = _Placement(facts, node_osds)
    return dict(node_osds)


def ask_ok_to_stop(client: CephClient | None, osds: Iterable[int], why_not: str = "") -> OkToStop:
    """``ceph osd ok-to-stop`` for these OSDs together (callers add every OSD the disruption
    ledger holds); an error or no client counts as "no", with the reason."""
    if client is None:
        return OkToStop(False, f"Ceph cannot be asked: {why_not or 'no Ceph connection'}")
    try:
        answer = client.ok_to_stop(tuple(sorted(set(osds))))
    except CephError as error:
        return OkToStop(False, f"ok-to-stop failed: {error}")
    return OkToStop(answer.ok_to_stop, answer.describe())
