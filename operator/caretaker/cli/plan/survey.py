"""`caretaker plan`: reads the cluster as the operator would and plans, changing nothing.

Every read goes through the operator's own code: ``build_world`` (nodes, selector, Ceph),
``read_cluster`` and ``ask_ok_to_stop`` for every target node, ``evaluate_gates`` for the PromQL
gates, the node Leases; the decisions come from the domain (``plan_maintenance``). The drain
preflight sorts each node's pods with the drain's own ``plan_drain`` (``cli/plan/drain.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from caretaker.cli.plan.drain import drain_preflights
from caretaker.clients.kube.custom import CustomRef, get_custom
from caretaker.domain.drain.preflight import DrainPreflight
from caretaker.domain.maintenance.machine import targets
from caretaker.domain.maintenance.plan import MaintenancePlan, plan_maintenance
from caretaker.domain.maintenance.world import World
from caretaker.handlers.maintenance.snapshot import build_world, lease_view
from caretaker.handlers.services import Services


@dataclass(frozen=True)
class Existing:
    """The Maintenance of the same name in the cluster, if any (its progress is not planned)."""

    phase: str
    progress: str


@dataclass(frozen=True)
class PlanResult:
    plan: MaintenancePlan | None
    errors: tuple[str, ...] = ()  # the spec as the operator reads it is invalid
    existing: Existing | None = None
    drains: dict[str, DrainPreflight | None] = field(default_factory=dict)  # None: drain off


def fresh_body(manifest: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    """The manifest as a new object: in ``namespace`` unless it names one, without status."""
    meta = dict(manifest.get("metadata") or {})
    meta["namespace"] = meta.get("namespace") or namespace
    body = {key: value for key, value in manifest.items() if key != "status"}
    return {**body, "metadata": meta}


def snapshot(services: Services, body: Mapping[str, Any], now: datetime) -> World:
    """The world of a Maintenance that has not started, with every target node's gates."""
    world = build_world(services, body, now, gate_all_targets=True)
    if world.spec is None:
        return world
    names = targets(world, world.spec)
    return replace(world, leases={n: lease_view(services, n, now) for n in names})


def plan_manifest(services: Services, manifest: Mapping[str, Any], now: datetime) -> PlanResult:
    namespace = services.settings.namespaces[0] if services.settings.namespaces else "default"
    body = fresh_body(manifest, namespace)
    world = snapshot(services, body, now)
    if world.spec is None:
        return PlanResult(None, tuple(str(e) for e in world.spec_errors))
    meta = body["metadata"]
    names = [n for n in targets(world, world.spec) if n in world.nodes]
    return PlanResult(
        plan_maintenance(world, world.spec),
        existing=_existing(services, meta["namespace"], str(meta.get("name") or "")),
        drains=drain_preflights(services.kube, names, world.spec.drain, now),
    )


def _existing(services: Services, namespace: str, name: str) -> Existing | None:
    found = get_custom(services.kube, CustomRef("maintenances", namespace, name)) if name else None
    if found is None:
        return None
    status = found.get("status") or {}
    return Existing(str(status.get("phase") or "Pending"), str(status.get("progress") or "-"))
