"""The preflight gates of a node: the one list the state machine waits on before a node starts
and ``caretaker plan`` shows, so the two cannot drift."""

from __future__ import annotations

from dataclasses import dataclass

from caretaker.domain.ceph import gates as ceph_gates
from caretaker.domain.maintenance.spec import MaintenanceSpec
from caretaker.domain.maintenance.world import GateResult, World
from caretaker.domain.promql.outcome import QueryFailed, QueryOutcome

NOT_ANSWERED = "ceph osd ok-to-stop not answered yet"


def promql_gate(name: str, outcome: QueryOutcome) -> GateResult:
    """A PromQL gate holds when its query returns no series (an alert that is not firing); a
    query that fails means the gate does not hold."""
    if isinstance(outcome, QueryFailed):
        return GateResult(name, False, f"cannot evaluate: {outcome.failure}: {outcome.message}")
    if outcome.samples:
        shown = ", ".join(f"{dict(s.labels)}={s.value:g}" for s in outcome.samples[:3])
        return GateResult(name, False, f"{len(outcome.samples)} series: {shown}")
    return GateResult(name, True, "no series")


@dataclass(frozen=True)
class GateCheck:
    name: str  # "ceph health", "PGs", "ok-to-stop", "PromQL <gate>"
    holds: bool
    detail: str
    waiting: str = ""  # what the node waits for while the gate does not hold


def preflight_gates(
    world: World, spec: MaintenanceSpec, node: str, osds: tuple[int, ...]
) -> tuple[GateCheck, ...]:
    """The gates of ``node`` (whose OSDs are ``osds``) as they stand, in the order they are
    waited on; with Ceph unreadable, one failing "ceph" check instead of Ceph's gates."""
    checks: list[GateCheck] = []
    ceph = world.ceph
    if ceph is None:
        why = f"Ceph unreachable: {world.ceph_error}"
        checks.append(GateCheck("ceph", False, why, why))
    elif spec.gates.ceph_health:
        health = ceph_gates.health_gate(
            ceph.health, ceph.health_checks, spec.gates.allowed_warnings
        )
        pgs = ceph_gates.pgs_healthy(ceph.pg_states, spec.ceph.healthy_pg_states)
        checks.append(GateCheck("ceph health", health.holds, health.reason, health.reason))
        checks.append(GateCheck("PGs", pgs.holds, pgs.reason, pgs.reason))
    if ceph is not None and spec.gates.ok_to_stop:
        checks.append(_ok_to_stop(world, node, osds))
    for gate in world.gates.get(node, ()):
        waiting = f"PromQL gate {gate.name}: {gate.detail}"
        checks.append(GateCheck(f"PromQL {gate.name}", gate.holds, gate.detail, waiting))
    return tuple(checks)


def _ok_to_stop(world: World, node: str, osds: tuple[int, ...]) -> GateCheck:
    if not osds:
        return GateCheck("ok-to-stop", True, "no OSDs on this node")
    answer = world.ok_to_stop.get(node)
    if answer is None:
        return GateCheck("ok-to-stop", False, NOT_ANSWERED, NOT_ANSWERED)
    return GateCheck(
        "ok-to-stop", answer.ok, answer.detail, f"ceph osd ok-to-stop: {answer.detail}"
    )
