"""Ceph's side of a HealthPolicy snapshot: the circuit breaker's readings, ``ok-to-stop``
answers, which OSDs Caretaker marked out, and the targets covered by an active Maintenance.

Each policy loop has its own Ceph client with a short timeout and no retries: with the
monitors gone an evaluation must finish quickly (the circuit opens; notifications still go).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from caretaker.clients.ceph import CephClient, CephError, create_ceph_client
from caretaker.clients.kube.records import list_custom
from caretaker.domain.ceph.cluster import OkToStop
from caretaker.domain.ceph.osd_placement import OsdPod
from caretaker.domain.disruption.ledger import Claim, union_osds
from caretaker.domain.health.ledger import osds_out_by_caretaker
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.world import CephReadings, MaintenanceCover
from caretaker.domain.maintenance.status import ACTIVE_PHASES, status_from_dict
from caretaker.handlers.ceph.view import ask_ok_to_stop, read_cluster
from caretaker.handlers.services import Services

logger = logging.getLogger("caretaker.health")

HEALTH_CEPH_TIMEOUT_SECONDS = 5.0


@dataclass
class HealthCeph:
    """The Ceph client of one policy loop (None with the reason when there is none)."""

    client: CephClient | None
    error: str = ""

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def open_health_ceph(services: Services) -> HealthCeph:
    shared = services.ceph
    if shared is None:
        return HealthCeph(None, services.ceph_error or "no Ceph connection configured")
    connection = replace(shared.connection, timeout_seconds=HEALTH_CEPH_TIMEOUT_SECONDS)
    return HealthCeph(create_ceph_client(connection, retry_attempts=1))


def read_ceph(
    ceph: HealthCeph,
    records: Iterable[RemediationView],
    failure_domain_type: str,
    hostnames: Mapping[str, str] | None = None,
    osd_pods: tuple[OsdPod, ...] = (),
) -> tuple[CephReadings | None, str]:
    """Ceph as every feature reads it (``read_cluster``), plus the OSDs Caretaker marked out;
    (None, why) when Ceph cannot be read. ``hostnames``: the nodes whose OSDs must be told
    (for drain and taint claims), with their hostname labels."""
    if ceph.client is None:
        return None, ceph.error
    try:
        cluster = read_cluster(
            ceph.client,
            fallback_type=failure_domain_type,
            hostnames=hostnames or {},
            osd_pods=osd_pods,
        )
    except CephError as error:
        return None, str(error)
    return CephReadings.of(cluster, osds_out_by_caretaker(records, cluster.osd_in)), ""


def ok_to_stop_answers(
    ceph: HealthCeph, osds: Iterable[int], claims: Iterable[Claim] = ()
) -> dict[int, OkToStop]:
    """``ceph osd ok-to-stop`` for each OSD together with every OSD in the disruption ledger."""
    claims = tuple(claims)
    return {
        osd: ask_ok_to_stop(ceph.client, union_osds(claims, "", (osd,)), ceph.error)
        for osd in sorted(osds)
    }


def maintenance_cover(services: Services) -> MaintenanceCover:
    """Nodes and OSDs of every Maintenance in the watched namespaces that is working on them
    (Preflight to RollingBack): their targets are left alone."""
    settings = services.settings
    scopes: tuple[str | None, ...] = (None,) if settings.all_namespaces else settings.namespaces
    nodes: dict[str, str] = {}
    osds: dict[int, str] = {}
    for scope in scopes:
        for item in list_custom(services.kube, "maintenances", scope):
            meta = item.get("metadata") or {}
            identity = f"{meta.get('namespace')}/{meta.get('name')}"
            for record in status_from_dict(item.get("status")).nodes:
                if record.phase not in ACTIVE_PHASES:
                    continue
                nodes[record.name] = identity
                osds.update(dict.fromkeys(record.osds, identity))
    return MaintenanceCover(nodes=nodes, osds=osds)
