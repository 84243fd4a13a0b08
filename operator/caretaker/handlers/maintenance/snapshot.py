"""Reads the world a Maintenance decision needs: the object, nodes, pods, leases, Ceph, gates."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from caretaker.clients.ceph.errors import CephError
from caretaker.clients.kube.lease import read_lease
from caretaker.clients.kube.nodes import NodeInfo
from caretaker.clients.kube.pods import pods_on_node
from caretaker.constants import (
    APPROVED_ANNOTATION,
    CORDONED_BY_ANNOTATION,
    NODE_LEASE_PREFIX,
    RELEASE_ANNOTATION,
)
from caretaker.domain.ceph.cluster import CephCluster, OkToStop
from caretaker.domain.common.labels import matches_labels
from caretaker.domain.disruption.ledger import maintenance_claimant, union_osds
from caretaker.domain.maintenance.spec import MaintenanceSpec, read_maintenance_spec
from caretaker.domain.maintenance.status import ACTIVE_PHASES, NodePhase, status_from_dict
from caretaker.domain.maintenance.world import (
    GateResult,
    LeaseView,
    NodeView,
    World,
)
from caretaker.handlers.ceph.topology import node_hostnames, rook_osd_pods
from caretaker.handlers.ceph.view import ask_ok_to_stop, read_cluster
from caretaker.handlers.disruption.ledger import try_read_claims
from caretaker.handlers.disruption.node_holders import foreign_holders, node_conditions
from caretaker.handlers.drain.round import pod_view
from caretaker.handlers.freeze.read import freeze_for
from caretaker.handlers.maintenance.gates import evaluate_gates
from caretaker.handlers.maintenance.hook_jobs import read_hook_jobs
from caretaker.handlers.services import Services


def lease_name(node: str) -> str:
    """The coordination Lease that makes maintenance of a node exclusive."""
    return f"{NODE_LEASE_PREFIX}{node}"


def identity_of(body: Mapping[str, Any]) -> str:
    meta = body["metadata"]
    return f"{meta['namespace']}/{meta['name']}"


def node_view(info: NodeInfo) -> NodeView:
    return NodeView(
        info.name,
        info.unschedulable,
        info.annotations.get(CORDONED_BY_ANNOTATION),
        info.ready,
        info.boot_id,
        node_conditions(info),
    )


def build_world(
    services: Services, body: Mapping[str, Any], now: datetime, *, gate_all_targets: bool = False
) -> World:
    """One consistent-enough snapshot: Kubernetes first, then Ceph, then the gates.

    Gates (ok-to-stop, PromQL) are read for nodes in Preflight, or with ``gate_all_targets``
    for every target node (``caretaker plan``).
    """
    meta = body["metadata"]
    spec, errors = read_maintenance_spec(body.get("spec") or {})
    status = status_from_dict(body.get("status"))
    kube = services.kube
    infos = services.nodes.get()
    nodes = {n.name: node_view(n) for n in infos}
    selected: tuple[str, ...] = ()
    if spec is not None and spec.node_selector:
        selected = tuple(
            sorted(n.name for n in infos if matches_labels(n.labels, spec.node_selector))
        )
    active = [r for r in status.nodes if r.phase in ACTIVE_PHASES]
    gated = [r.name for r in active if r.phase == NodePhase.PREFLIGHT]
    if gate_all_targets and spec is not None:
        gated = list(spec.nodes or selected)
    identity = identity_of(body)
    claims, ledger_error = try_read_claims(services) if active else ((), "")
    ceph, ceph_error = _read_ceph(services, node_hostnames(infos))
    ok_to_stop: dict[str, OkToStop] = {}
    if ceph is not None:
        for node in gated:
            osds = ceph.osds_of(node)
            if osds:
                together = union_osds(claims, maintenance_claimant(identity, node), osds)
                ok_to_stop[node] = ask_ok_to_stop(services.ceph, together)
    hook_jobs, hook_jobs_error = read_hook_jobs(kube, meta["namespace"], meta["name"], status)
    pods = {
        r.name: tuple(pod_view(p) for p in pods_on_node(kube, r.name))
        for r in active
        if r.phase == NodePhase.DRAINING
    }
    return World(
        now=now,
        identity=identity,
        generation=int(meta.get("generation") or 0),
        spec=spec,
        spec_errors=tuple(errors),
        status=status,
        raw_spec=body.get("spec") or {},
        release_annotation=(meta.get("annotations") or {}).get(RELEASE_ANNOTATION, ""),
        approved_annotation=(meta.get("annotations") or {}).get(APPROVED_ANNOTATION, ""),
        deleting=bool(meta.get("deletionTimestamp")),
        nodes=nodes,
        selected=selected,
        ceph=ceph,
        ceph_error=ceph_error,
        ok_to_stop=ok_to_stop,
        pods=pods,
        leases={r.name: lease_view(services, r.name, now) for r in active},
        gates=_gates(services, spec, gated),
        disruptions=claims,
        ledger_error=ledger_error,
        holders=foreign_holders(kube, gated, {n.name: n for n in infos}, identity),
        freeze=freeze_for(services, str(meta["namespace"]), now),
        uid=str(meta.get("uid") or ""),
        hook_jobs=hook_jobs,
        hook_jobs_error=hook_jobs_error,
    )


def _read_ceph(services: Services, hostnames: Mapping[str, str]) -> tuple[CephCluster | None, str]:
    """Ceph, with which node carries which OSD; (None, why) when it cannot be read now."""
    if services.ceph is None:
        return None, services.ceph_error or "no Ceph connection configured"
    try:
        cluster = read_cluster(
            services.ceph,
            fallback_type=services.settings.failure_domain_type,
            hostnames=hostnames,
            osd_pods=rook_osd_pods(services.kube, services.settings.rook_namespace),
        )
    except CephError as error:
        return None, str(error)
    return cluster, ""


def lease_view(services: Services, node: str, now: datetime) -> LeaseView:
    """Who holds the node's maintenance Lease, and whether it has expired."""
    lease = read_lease(services.kube, services.settings.lease_namespace, lease_name(node))
    if lease is None:
        return LeaseView(holder=None, expired=True)
    return LeaseView(holder=lease.holder, expired=lease.expired(now))


def _gates(
    services: Services, spec: MaintenanceSpec | None, nodes: list[str]
) -> dict[str, tuple[GateResult, ...]]:
    if spec is None or not spec.gates.promql or not nodes:
        return {}
    results = evaluate_gates(services, spec.gates.promql)
    return dict.fromkeys(nodes, results)
