"""Ceph's side of a HealthPolicy snapshot: the circuit breaker's readings, ``ok-to-stop``
answers, which OSDs Caretaker marked out, and the targets covered by an active Maintenance.

Each policy loop has its own Ceph client with a short timeout and no retries: with the
monitors gone an evaluation must finish quickly (the circuit opens; notifications still go).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace

from caretaker.clients.ceph import CephClient, CephError, create_ceph_client
from caretaker.clients.kube.records import list_custom
from caretaker.domain.ceph.topology import osd_failure_domain
from caretaker.domain.disruption.ledger import Claim, union_osds
from caretaker.domain.health.ledger import osds_out_by_caretaker
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.world import CephReadings, MaintenanceCover, OkToStop
from caretaker.domain.maintenance.status import ACTIVE_PHASES, status_from_dict
from caretaker.handlers.ceph.topology import topology_of
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
    ceph: HealthCeph, records: Iterable[RemediationView], failure_domain_type: str
) -> tuple[CephReadings | None, str]:
    """Counts, quorum, health, PGs, per-OSD up/in and where each OSD sits (its failure domain as
    the pools' CRUSH rules make it, the same function the Maintenance uses); (None, why) when
    Ceph cannot be read."""
    if ceph.client is None:
        return None, ceph.error
    try:
        status = ceph.client.status()
        osd_map = ceph.client.osd_dump()
        tree = ceph.client.osd_tree()
        hosts = ceph.client.osd_hostnames()
        topology = topology_of(tree, osd_map, ceph.client.crush_rules(), failure_domain_type)
    except CephError as error:
        return None, str(error)
    osd_in = {i: state.in_cluster for i, state in osd_map.osds.items()}
    return CephReadings(
        osds_total=status.num_osds,
        osds_up=status.num_up_osds,
        quorum_ok=bool(status.quorum),
        health=str(status.health.status),
        osds_out_by_caretaker=osds_out_by_caretaker(records, osd_in),
        osd_up={i: state.up for i, state in osd_map.osds.items()},
        osd_in=osd_in,
        osd_up_from={i: state.up_from for i, state in osd_map.osds.items()},
        osd_domain={i: osd_failure_domain(topology, i) for i in osd_map.osds},
        osd_node=hosts,
        pgs_inactive=sum(n for state, n in status.pgs.by_state.items() if "active" not in state),
        mons=status.num_mons,
        quorum=status.quorum,
        cluster_flags=osd_map.flags,
    ), ""


def ok_to_stop_answers(
    ceph: HealthCeph, osds: Iterable[int], claims: Iterable[Claim] = ()
) -> dict[int, OkToStop]:
    """``ceph osd ok-to-stop`` for each OSD together with every OSD in the disruption ledger;
    an error counts as "no", with the error."""
    answers: dict[int, OkToStop] = {}
    claims = tuple(claims)
    for osd in sorted(osds):
        if ceph.client is None:
            answers[osd] = OkToStop(False, f"Ceph cannot be asked: {ceph.error}")
            continue
        try:
            answer = ceph.client.ok_to_stop(union_osds(claims, "", (osd,)))
        except CephError as error:
            answers[osd] = OkToStop(False, f"ok-to-stop failed: {error}")
            continue
        answers[osd] = OkToStop(answer.ok_to_stop, answer.describe())
    return answers


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
