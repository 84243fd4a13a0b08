"""Reads the world one HealthPolicy evaluation is made from (see ``domain.health.world``).

Order: the records (cooldown, dedup, resume), Prometheus (one query per rule and the
exporter's freshness), Ceph (the circuit breaker's readings), the Maintenances, then
``ok-to-stop`` for the OSDs the ladder wants to mark out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from caretaker.clients.kube.records import list_records
from caretaker.domain.ceph.osd_placement import OsdPod
from caretaker.domain.common.validation import FieldError
from caretaker.domain.health.claims import evicts_from_nodes
from caretaker.domain.health.evaluation import osds_needing_ok_to_stop
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.records import RemediationView, view_from_object
from caretaker.domain.health.spec import HealthPolicySpec, read_health_policy_spec
from caretaker.domain.health.status import HealthPolicyStatus, status_from_dict
from caretaker.domain.health.world import HealthWorld, MaintenanceCover, anything_firing
from caretaker.handlers.ceph.topology import node_hostnames, rook_osd_pods
from caretaker.handlers.disruption.ledger import try_read_claims
from caretaker.handlers.freeze.read import freeze_for
from caretaker.handlers.health.brakes import with_out_brakes
from caretaker.handlers.health.ceph import (
    HealthCeph,
    maintenance_cover,
    ok_to_stop_answers,
    read_ceph,
)
from caretaker.handlers.health.prometheus import run_queries
from caretaker.handlers.services import Services


@dataclass(frozen=True)
class PolicyObject:
    """The HealthPolicy as read from the API, with its spec and status parsed."""

    ref: PolicyRef
    generation: int
    spec: HealthPolicySpec | None
    errors: tuple[FieldError, ...]
    status: HealthPolicyStatus
    raw_status: Mapping[str, Any]
    resource_version: str = ""  # the version read: the status write is conditional on it

    @property
    def observed_generation(self) -> int | None:
        value = self.raw_status.get("observedGeneration")
        return int(value) if isinstance(value, int) else None


def read_policy(body: Mapping[str, Any]) -> PolicyObject:
    meta = body["metadata"]
    spec, errors = read_health_policy_spec(body.get("spec") or {})
    raw_status = body.get("status") or {}
    return PolicyObject(
        ref=PolicyRef(str(meta["namespace"]), str(meta["name"]), str(meta.get("uid") or "")),
        generation=int(meta.get("generation") or 0),
        spec=spec,
        errors=tuple(errors),
        status=status_from_dict(raw_status),
        raw_status=raw_status,
        resource_version=str(meta.get("resourceVersion") or ""),
    )


def read_remediations(services: Services, namespace: str) -> tuple[RemediationView, ...]:
    """Every Remediation in the namespace (all policies: cooldown and budgets span them)."""
    views = (view_from_object(item) for item in list_records(services.kube, namespace))
    return tuple(view for view in views if view is not None)


def build_world(
    services: Services, ceph: HealthCeph, policy: PolicyObject, now: datetime
) -> HealthWorld:
    """The snapshot; with ``ok-to-stop`` answers for the OSDs that need them."""
    if policy.spec is None:
        return HealthWorld(
            now=now,
            policy=policy.ref,
            spec=None,
            status=policy.status,
            spec_errors=policy.errors,
        )
    records = read_remediations(services, policy.ref.namespace)
    queries = run_queries(services, policy.ref.namespace, policy.spec)
    settings = services.settings
    hostnames: dict[str, str] | None = None
    osd_pods: tuple[OsdPod, ...] = ()
    if evicts_from_nodes(policy.spec):  # its claims need each node's OSDs, as a Maintenance's
        hostnames = node_hostnames(services.nodes.get())
        osd_pods = rook_osd_pods(services.kube, settings.rook_namespace)
    readings, ceph_error = read_ceph(
        ceph, records, settings.failure_domain_type, hostnames, osd_pods
    )
    # the Maintenances are listed only when a target is or was firing: nothing else asks
    cover_needed = anything_firing(queries.outcomes, policy.status)
    # the ledger is named after Ceph's fsid, read through the shared client: only once this
    # loop's own short-timeout client has just reached Ceph (never block a round on it)
    claims, ledger_error = try_read_claims(services) if readings else ((), ceph_error)
    world = HealthWorld(
        now=now,
        policy=policy.ref,
        spec=policy.spec,
        status=policy.status,
        outcomes=queries.outcomes,
        ceph=readings,
        ceph_error=ceph_error,
        maintenance=maintenance_cover(services) if cover_needed else MaintenanceCover(),
        remediations=records,
        exporter_age=queries.exporter_age,
        disruptions=claims,
        ledger_error=ledger_error,
        freeze=freeze_for(services, policy.ref.namespace, now, policy.ref.name),
    )
    needed = osds_needing_ok_to_stop(world)
    if not needed:
        return world
    answers = ok_to_stop_answers(ceph, needed, claims)
    return replace(world, ok_to_stop=answers, ceph=with_out_brakes(ceph, world.ceph))
