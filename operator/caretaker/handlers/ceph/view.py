"""Reads Ceph into the CephView the Maintenance decisions use."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.ceph.errors import CephError
from caretaker.clients.ceph.models import OsdTree
from caretaker.domain.ceph.osd_placement import OsdPod, map_osds_to_nodes
from caretaker.domain.maintenance.world import CephView, OkToStopView
from caretaker.handlers.ceph.topology import osd_evidence, topology_of
from caretaker.handlers.services import Services


def bucket_of(tree: OsdTree, bucket_type: str) -> dict[int, str]:
    """OSD id -> name of the bucket of ``bucket_type`` above it (computed once per tree)."""
    return {osd: name for name, osds in tree.osds_by_bucket(bucket_type).items() for osd in osds}


def _ok_to_stop(ceph: CephClient, osds: tuple[int, ...]) -> OkToStopView:
    answer = ceph.ok_to_stop(osds)
    if answer.ok_to_stop:
        return OkToStopView(True, f"{answer.num_ok_pgs} PGs stay active")
    inactive = len(answer.bad_become_inactive)
    detail = answer.message or f"{inactive} PGs would become inactive"
    return OkToStopView(False, detail)


def read_ceph_view(
    services: Services,
    gated_nodes: Collection[str],
    together_with: Callable[[str, tuple[int, ...]], tuple[int, ...]] = lambda _, osds: osds,
    *,
    hostnames: Mapping[str, str],
    osd_pods: tuple[OsdPod, ...] = (),
) -> tuple[CephView | None, str]:
    """The Ceph part of the snapshot, or (None, why) when Ceph cannot be read right now.

    ``hostnames``: every node -> its kubernetes.io/hostname label; ``osd_pods``: Rook's OSD pods.
    ``gated_nodes``: nodes whose gates are being checked; ok-to-stop is asked for their OSDs
    (as this read places them), ``together_with`` the OSDs other actors are disrupting (the
    disruption ledger), and for no others.
    """
    ceph: CephClient | None = services.ceph
    if ceph is None:
        return None, services.ceph_error or "no Ceph connection configured"
    try:
        health = ceph.health_detail()
        osd_map = ceph.osd_dump()
        tree = ceph.osd_tree()
        evidence = osd_evidence(tree, osd_map, ceph.osd_hostnames(), osd_pods)
        fallback = services.settings.failure_domain_type
        view = CephView(
            health=str(health.status),
            health_checks={c.name: c.summary for c in health.checks if not c.muted},
            osd_up={i: state.up for i, state in osd_map.osds.items()},
            osd_host_bucket=bucket_of(tree, "host"),
            topology=topology_of(tree, osd_map, ceph.crush_rules(), fallback),
            node_osds=map_osds_to_nodes(hostnames, evidence),
            noout_osds=osd_map.osds_with("noout"),
            noout_buckets=osd_map.buckets_with("noout"),
            pg_states=dict(ceph.pg_stat().by_state),
        )
        osds = {node: view.osds_of(node) for node in gated_nodes}
        ok = {n: _ok_to_stop(ceph, together_with(n, ids)) for n, ids in osds.items() if ids}
    except CephError as error:
        return None, str(error)
    return replace(view, ok_to_stop=ok), ""
