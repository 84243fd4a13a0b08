"""Safety for disruptive steps: the circuit breaker and the limits of ``spec.safety``.

Notifications are never held by any of this. A disruptive step runs only when the circuit is
closed (Ceph readable, monitor quorum held, not HEALTH_ERR), the share of OSDs up is at least
``minOsdUpRatio``, fewer than ``maxConcurrentDisruptive`` disruptive steps are in flight, and
for markOut: fewer than ``maxOsdsOut`` OSDs are out by Caretaker, ``ok-to-stop`` says yes and
no deliberate brake holds it (``brakes.py``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from caretaker.domain.ceph.cluster import OkToStop
from caretaker.domain.disruption.ledger import Claim, ClaimKind, policy_claimant
from caretaker.domain.health.actions import LadderStep, MarkOut, needs_ok_to_stop
from caretaker.domain.health.brakes import out_brake
from caretaker.domain.health.claims import claim_for, domain_busy
from caretaker.domain.health.context import EvalContext
from caretaker.domain.health.keys import PolicyRef
from caretaker.domain.health.reasons import HoldReason
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.status import IN_FLIGHT, StepRun
from caretaker.domain.health.targets import Target
from caretaker.domain.health.world import HEALTH_ERR, CephReadings

IN_FLIGHT_HORIZON = timedelta(hours=1)  # an in-flight record older than this no longer counts


@dataclass(frozen=True)
class Budget:
    """Disruptive steps in flight (by key), OSDs out by Caretaker, and the (action, target)
    pairs planned in this evaluation (a second rule must see them for its cooldown)."""

    in_flight: frozenset[str]
    osds_out: int
    planned: frozenset[tuple[str, str]] = frozenset()

    @property
    def disruptive_in_flight(self) -> int:
        return len(self.in_flight)

    def after(self, step: LadderStep, target_key: str, key: str) -> Budget:
        """The budget once this step has been planned for this target."""
        planned = self.planned | {(step.kind, target_key)}
        if not step.disruptive:
            return replace(self, planned=planned)
        out = self.osds_out + (1 if isinstance(step.action, MarkOut) else 0)
        return Budget(self.in_flight | {key}, out, planned)

    def across_the_cluster(self, claims: Iterable[Claim], policy: PolicyRef) -> Budget:
        """Counts what every other policy is doing to the same Ceph cluster (the ledger): its
        restarts and node drains in flight, and every OSD marked out by Caretaker."""
        mine = policy_claimant(policy.namespace, policy.name, "")
        others = [c for c in claims if not c.claimant.startswith(mine)]
        busy = {c.claimant for c in others if c.kind in (ClaimKind.RESTART, ClaimKind.NODE)}
        out = {i for c in claims if c.kind == ClaimKind.MARK_OUT for i in c.osds}
        return replace(self, in_flight=self.in_flight | busy, osds_out=max(self.osds_out, len(out)))

    def settled(self, runs: Iterable[StepRun]) -> Budget:
        """The budget once these steps are known to be finished (decided in this evaluation)."""
        done = {run.key for run in runs if run.result not in IN_FLIGHT}
        return replace(self, in_flight=self.in_flight - done) if done & self.in_flight else self


@dataclass(frozen=True)
class Held:
    reason: str
    message: str


def circuit_reason(ceph: CephReadings | None, ceph_error: str) -> str:
    """Why disruptive steps are frozen ("" when they are not)."""
    if ceph is None:
        return f"Ceph cannot be read: {ceph_error or 'no readings'}"
    if not ceph.quorum_ok:
        return "monitor quorum is lost"
    if ceph.mons and len(ceph.quorum) < ceph.mons and len(ceph.quorum) <= ceph.mons // 2 + 1:
        return (
            f"{ceph.mons - len(ceph.quorum)} of {ceph.mons} monitors down: one more loss and "
            f"quorum is gone (in quorum: {', '.join(ceph.quorum)})"
        )
    if ceph.pgs_inactive:
        return f"{ceph.pgs_inactive} PGs are inactive"
    if ceph.health == HEALTH_ERR:
        return "Ceph reports HEALTH_ERR"
    return ""


def initial_budget(
    ceph: CephReadings | None,
    records: Iterable[RemediationView],
    runs: Iterable[StepRun],
    now: datetime,
) -> Budget:
    """Counts in-flight disruptive steps from the records, and from our status for steps whose
    record is not readable (yet); each key once."""
    keys = {
        r.key
        for r in records
        if r.disruptive and r.result in IN_FLIGHT and now - r.started_at < IN_FLIGHT_HORIZON
    }
    keys |= {
        run.key
        for run in runs
        if run.disruptive and run.result in IN_FLIGHT and now - run.started_at < IN_FLIGHT_HORIZON
    }
    out = len(ceph.osds_out_by_caretaker) if ceph else 0
    return Budget(in_flight=frozenset(keys), osds_out=out)


def disruptive_hold(
    step: LadderStep, target: Target, gate: EvalContext, budget: Budget
) -> Held | None:
    """Why this disruptive step may not run now, or None when it may."""
    safety, circuit, ceph = gate.spec.safety, gate.circuit, gate.ceph
    if gate.freeze:
        return Held(HoldReason.FROZEN, f"frozen: {gate.freeze}; notifications still go")
    if circuit:
        return Held(HoldReason.CIRCUIT_OPEN, f"circuit open: {circuit}")
    if ceph is None:  # the circuit is open then; kept for the type checker
        return Held(HoldReason.CIRCUIT_OPEN, "Ceph cannot be read")
    if ceph.up_ratio < safety.min_osd_up_ratio:
        return Held(
            HoldReason.LOW_UP_RATIO,
            f"{ceph.osds_up}/{ceph.osds_total} OSDs up, below minOsdUpRatio "
            f"{safety.min_osd_up_ratio:g}: only notifications run",
        )
    if budget.disruptive_in_flight >= safety.max_concurrent_disruptive:
        return Held(
            HoldReason.MAX_CONCURRENT,
            f"{budget.disruptive_in_flight} disruptive action(s) in flight "
            f"(maxConcurrentDisruptive {safety.max_concurrent_disruptive})",
        )
    if isinstance(step.action, MarkOut) and budget.osds_out >= safety.max_osds_out:
        return Held(
            HoldReason.MAX_OSDS_OUT,
            f"{budget.osds_out} OSD(s) out by Caretaker (maxOsdsOut {safety.max_osds_out})",
        )
    claim = claim_for(step.action, target, ceph, gate.policy)
    if isinstance(claim, str):
        return Held(HoldReason.DOMAIN_UNKNOWN, f"{claim}: not acting blind")
    if claim is not None:
        if gate.ledger_error:
            return Held(
                HoldReason.DOMAIN_BUSY, f"the disruption ledger cannot be read: {gate.ledger_error}"
            )
        busy = domain_busy(claim, gate.disruptions, ceph)
        if busy:
            return Held(HoldReason.DOMAIN_BUSY, busy)
        if needs_ok_to_stop(step.action):
            held = _ok_to_stop_hold(target, gate.ok_to_stop)
            if held is not None:
                return held
    if isinstance(step.action, MarkOut):
        return _brake_hold(target, ceph, budget)
    return None


def _brake_hold(target: Target, ceph: CephReadings, budget: Budget) -> Held | None:
    """noout, paused data movement, Ceph's own down-out limits, nearfull: see brakes.py."""
    outs = sum(1 for kind, _ in budget.planned if kind == "markOut")
    brake = out_brake(target.osd_id, ceph.brakes, outs) if target.osd_id is not None else None
    return Held(brake.reason, brake.message) if brake else None


def ceph_says_up(target: Target, ceph: CephReadings | None) -> Held | None:
    """For a rule about an OSD being down: Ceph (fresher than a scrape) says it is up again."""
    osd = target.osd_id
    if ceph is None or osd is None or not ceph.osd_up.get(osd, False):
        return None
    return Held(
        HoldReason.CEPH_SAYS_UP,
        f"Ceph reports {target.name} up again (Prometheus lags): not acting on stale data",
    )


def _ok_to_stop_hold(target: Target, ok_to_stop: Mapping[int, OkToStop]) -> Held | None:
    osd = target.osd_id
    answer = ok_to_stop.get(osd) if osd is not None else None
    if answer is None:
        return Held(HoldReason.OK_TO_STOP_UNKNOWN, f"waiting for ceph osd ok-to-stop {target.name}")
    if not answer.ok:
        detail = f": {answer.detail}" if answer.detail else ""
        return Held(HoldReason.NOT_OK_TO_STOP, f"ceph osd ok-to-stop {target.name} says no{detail}")
    return None
