"""Reads Ceph into the CephView the Maintenance decisions use."""

from __future__ import annotations

from collections.abc import Mapping

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.ceph.errors import CephError
from caretaker.clients.ceph.models import OsdTree
from caretaker.domain.maintenance.world import CephView, OkToStopView
from caretaker.handlers.services import Services


def _bucket_of(tree: OsdTree, bucket_type: str) -> dict[int, str]:
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
    services: Services, preflight: Mapping[str, tuple[int, ...]]
) -> tuple[CephView | None, str]:
    """The Ceph part of the snapshot, or (None, why) when Ceph cannot be read right now.

    ``preflight``: nodes whose gates are being checked, with their OSDs (ok-to-stop is asked
    only for those).
    """
    ceph: CephClient | None = services.ceph
    if ceph is None:
        return None, services.ceph_error or "no Ceph connection configured"
    try:
        health = ceph.health_detail()
        osd_map = ceph.osd_dump()
        hosts = ceph.osd_hostnames()
        tree = ceph.osd_tree()
        pgs = ceph.pg_stat()
        ok = {node: _ok_to_stop(ceph, osds) for node, osds in preflight.items() if osds}
    except CephError as error:
        return None, str(error)
    host_bucket = _bucket_of(tree, "host")
    return CephView(
        health=str(health.status),
        health_checks={c.name: c.summary for c in health.checks if not c.muted},
        osd_hosts=hosts,
        osd_up={i: state.up for i, state in osd_map.osds.items()},
        osd_host_bucket=host_bucket,
        osd_failure_domain=_bucket_of(tree, services.settings.failure_domain_type),
        noout_osds=osd_map.osds_with("noout"),
        noout_buckets=osd_map.buckets_with("noout"),
        pg_states=dict(pgs.by_state),
        ok_to_stop=ok,
    ), ""
