"""Reads what a markOut must respect (``domain.health.brakes``), only when one is due: the OSD
map (flags on OSDs, buckets, device classes and the cluster; in/up; ``nearfull_ratio``), the
CRUSH tree, ``ceph osd df``, the CRUSH types and the monitors' ``mon_osd_min_in_ratio`` and
``mon_osd_down_out_subtree_limit``. A failed read holds every markOut, with the reason."""

from __future__ import annotations

import logging
from dataclasses import replace

from caretaker.clients.ceph import CephClient, CephError
from caretaker.domain.health.brakes import CrushBucket, OsdSpace, OutBrakes
from caretaker.domain.health.world import CephReadings
from caretaker.handlers.health.ceph import HealthCeph

logger = logging.getLogger("caretaker.health")


def with_out_brakes(ceph: HealthCeph, readings: CephReadings | None) -> CephReadings | None:
    if readings is None:
        return None
    if ceph.client is None:
        return replace(readings, brakes=OutBrakes(error=f"no Ceph connection: {ceph.error}"))
    try:
        brakes = read_out_brakes(ceph.client)
    except (CephError, ValueError) as error:
        logger.warning("reading the markOut brakes failed: %s", error)
        brakes = OutBrakes(error=str(error))
    return replace(readings, brakes=brakes)


def read_out_brakes(client: CephClient) -> OutBrakes:
    osd_map = client.osd_dump()
    tree = client.osd_tree()
    space = client.osd_df()
    types = client.crush_types()
    min_in_ratio = float(client.config_value("mon", "mon_osd_min_in_ratio"))
    subtree_limit = client.config_value("mon", "mon_osd_down_out_subtree_limit")
    buckets = {
        node.id: CrushBucket(node.name, node.type, node.type_id, tree.osds_under(node.name))
        for node in tree.buckets()
    }
    ancestors = {osd: tuple(buckets[n.id] for n in tree.ancestors(osd)) for osd in osd_map.osds}
    return OutBrakes(
        cluster_flags=osd_map.flags,
        osd_flags={i: state.state for i, state in osd_map.osds.items()},
        osd_up={i: state.up for i, state in osd_map.osds.items()},
        osd_in={i: state.in_cluster for i, state in osd_map.osds.items()},
        ancestors=ancestors,
        bucket_flags=osd_map.crush_node_flags,
        device_class={i: node.device_class for i, node in tree.nodes.items() if i >= 0},
        class_flags=osd_map.device_class_flags,
        space={i: OsdSpace(s.size, s.used) for i, s in space.items()},
        min_in_ratio=min_in_ratio,
        subtree_limit=subtree_limit,
        subtree_limit_id=types.get(subtree_limit),
        nearfull_ratio=osd_map.nearfull_ratio,
    )
