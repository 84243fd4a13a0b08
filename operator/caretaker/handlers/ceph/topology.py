"""Reads what the topology decisions need from Ceph and Rook: the CRUSH tree, the pools' rules,
the OSDs' hostnames and Rook's OSD pods. The decisions are ``caretaker.domain.ceph.topology``
(failure domains) and ``caretaker.domain.ceph.osd_placement`` (which node carries which OSD)."""

from __future__ import annotations

from collections.abc import Iterable

from kubernetes.client import ApiClient

from caretaker.clients.ceph.models import CrushRule, OsdMap, OsdTree
from caretaker.clients.kube.nodes import NodeInfo
from caretaker.clients.kube.pods import PodInfo, pods_with_labels
from caretaker.domain.ceph.osd_placement import OsdEvidence, OsdPod
from caretaker.domain.ceph.topology import PoolPlacement, Topology

HOSTNAME_LABEL = "kubernetes.io/hostname"
ROOK_OSD_SELECTOR = "app=rook-ceph-osd"
ROOK_OSD_ID_LABEL = "ceph-osd-id"


def topology_of(
    tree: OsdTree, osd_map: OsdMap, rules: tuple[CrushRule, ...], fallback_type: str
) -> Topology:
    """The CRUSH tree and, per pool, its rule's failure-domain type and reachable OSDs."""
    by_id = {rule.id: rule for rule in rules}
    pools = []
    for pool in osd_map.pools:
        rule = by_id.get(pool.crush_rule)
        if rule is None or not rule.failure_domain_type:
            continue
        reachable = frozenset().union(*(tree.osds_taken(item) for item in rule.takes))
        pools.append(PoolPlacement(pool.name, rule.failure_domain_type, reachable))
    osds = [node.id for node in tree.nodes.values() if node.id >= 0]
    return Topology(
        ancestry={osd: tree.ancestry(osd) for osd in osds},
        pools=tuple(pools),
        fallback_type=fallback_type,
    )


def osd_evidence(
    tree: OsdTree, osd_map: OsdMap, metadata_hosts: dict[int, str], pods: tuple[OsdPod, ...]
) -> OsdEvidence:
    hosts = {osd: name for name, osds in tree.osds_by_bucket("host").items() for osd in osds}
    return OsdEvidence(
        known=frozenset(osd_map.osds),
        metadata_host=metadata_hosts,
        crush_host=hosts,
        pods=pods,
    )


def node_hostnames(nodes: Iterable[NodeInfo]) -> dict[str, str]:
    """Every node -> its kubernetes.io/hostname label ("" without one): the names Ceph may
    know it by (see ``caretaker.domain.ceph.osd_placement``)."""
    return {node.name: node.labels.get(HOSTNAME_LABEL, "") for node in nodes}


def _osd_pod(pod: PodInfo) -> OsdPod | None:
    if pod.node is None or pod.terminating or pod.phase in ("Succeeded", "Failed"):
        return None
    label = pod.labels.get(ROOK_OSD_ID_LABEL, "")
    return OsdPod(f"{pod.namespace}/{pod.name}", pod.node, int(label) if label.isdigit() else None)


def rook_osd_pods(kube: ApiClient, namespace: str | None) -> tuple[OsdPod, ...]:
    """Rook's OSD pods bound to a node, in the Rook namespace (none without one: the OSD ids of
    another Ceph cluster's pods would be taken for this one's)."""
    if not namespace:
        return ()
    pods = (_osd_pod(pod) for pod in pods_with_labels(kube, namespace, ROOK_OSD_SELECTOR))
    return tuple(pod for pod in pods if pod is not None)
