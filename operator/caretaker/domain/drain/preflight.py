"""A drain preflight, for `caretaker plan`: the pods a drain of a node would evict and the ones
that would hold it up, before anything is cordoned. Pure.

Which pods are evicted, deleted, waited for or blocked is not decided here: that is
``plan_drain`` (kubectl drain's rules), the same call a real drain makes. This adds what only
the cluster can say about the pods it would evict: whether a PodDisruptionBudget lets them go
right now, from a server-side dry-run eviction where the server answered one, else from the
budget's status (``disruptionsAllowed``, computed by Kubernetes' disruption controller).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from caretaker.domain.drain.rules import DrainPlan, PodView


@dataclass(frozen=True)
class Requirement:
    """One matchExpressions entry of a label selector."""

    key: str
    operator: str  # In, NotIn, Exists, DoesNotExist
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class BudgetView:
    """A PodDisruptionBudget as its status stands (filled in by the disruption controller)."""

    namespace: str
    name: str
    match_labels: Mapping[str, str] = field(default_factory=dict)
    match_expressions: tuple[Requirement, ...] = ()
    disruptions_allowed: int | None = None  # None: no status yet
    current_healthy: int | None = None
    desired_healthy: int | None = None
    has_selector: bool = True

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


def selects(budget: BudgetView, pod: PodView) -> bool:
    """The budget's selector matches the pod (same namespace; an absent selector selects none,
    an empty one every pod of the namespace, as policy/v1 defines it)."""
    if budget.namespace != pod.namespace or not budget.has_selector:
        return False
    labels = pod.labels
    if any(labels.get(k) != v for k, v in budget.match_labels.items()):
        return False
    return all(_holds(r, labels) for r in budget.match_expressions)


def _holds(requirement: Requirement, labels: Mapping[str, str]) -> bool:
    present = requirement.key in labels
    if requirement.operator == "Exists":
        return present
    if requirement.operator == "DoesNotExist":
        return not present
    inside = present and labels[requirement.key] in requirement.values
    if requirement.operator == "In":
        return inside
    if requirement.operator == "NotIn":
        return not inside
    return False  # an operator the server would have refused


@dataclass(frozen=True)
class DryRun:
    """The server's answer to a dry-run eviction of one pod."""

    allowed: bool
    message: str = ""


@dataclass(frozen=True)
class PodVerdict:
    pod: PodView
    reason: str
    budgets: tuple[str, ...] = ()  # the budgets (namespace/name) the reason is about


@dataclass(frozen=True)
class DrainPreflight:
    evict: tuple[PodVerdict, ...]  # would be evicted now (reason: a note, may be "")
    blocking: tuple[PodVerdict, ...]  # would hold the drain up
    terminating: tuple[PodVerdict, ...]  # already going away: waited for
    stuck: tuple[PodVerdict, ...]  # Terminating past skipWaitForDeleteTimeout: not waited for
    delete: tuple[PodVerdict, ...]  # finished: deleted, never evicted
    dry_run: bool  # the budget verdicts come from server-side dry-run evictions

    @property
    def clear(self) -> bool:
        return not (self.blocking or self.terminating)


def budget_of_pod(pod: PodView, budgets: Sequence[BudgetView]) -> tuple[BudgetView, ...]:
    return tuple(b for b in budgets if selects(b, pod))


def drain_preflight(
    plan: DrainPlan,
    now: datetime,
    budgets: Sequence[BudgetView],
    dry_runs: Mapping[str, DryRun] | None = None,
) -> DrainPreflight:
    """The preflight of one node's drain from ``plan_drain``'s plan (the drain's own rules):
    each pod it would evict is checked against its budgets, by the server's dry-run answer in
    ``dry_runs`` (keyed by ``namespace/name``) when there is one, else by their status."""
    evict: list[PodVerdict] = []
    blocked: list[PodVerdict] = [PodVerdict(p, why) for p, why in plan.blocking]
    spent: dict[str, int] = {}
    for pod in plan.evict:
        mine = budget_of_pod(pod, budgets)
        answer = None if dry_runs is None else dry_runs.get(pod.ref)
        verdict, blocks = _budget_verdict(pod, mine, answer, spent)
        (blocked if blocks else evict).append(verdict)
    waited = "waited for until it is gone"
    skipped = "past skipWaitForDeleteTimeout: not waited for"
    return DrainPreflight(
        evict=tuple(evict),
        blocking=tuple(sorted(blocked, key=lambda v: v.pod.ref)),
        terminating=tuple(_terminating(p, now, waited) for p in plan.terminating),
        stuck=tuple(_terminating(p, now, skipped) for p in plan.stuck),
        delete=tuple(PodVerdict(p, "finished: deleted, not evicted") for p in plan.delete),
        dry_run=dry_runs is not None,
    )


def _budget_verdict(
    pod: PodView, mine: Sequence[BudgetView], answer: DryRun | None, spent: dict[str, int]
) -> tuple[PodVerdict, bool]:
    """(verdict, blocks): the server's dry-run answer when there is one, else the status.
    A dry run asks about one pod alone, so pods of one budget beyond what it allows are noted:
    the drain evicts them once the ones before them are replaced."""
    names = tuple(b.ref for b in mine)
    if len(mine) > 1:
        why = f"covered by {len(mine)} budgets ({', '.join(names)}): evictions are refused"
        return PodVerdict(pod, why, names), True
    budget = mine[0] if mine else None
    if answer is not None and not answer.allowed:
        if budget is not None:
            return PodVerdict(pod, _no_disruption(budget, "dry-run eviction refused"), names), True
        return PodVerdict(pod, f"dry-run eviction refused: {answer.message}"), True
    if budget is None:
        return PodVerdict(pod, ""), False
    allowed = budget.disruptions_allowed
    if allowed is None or allowed < 1:
        if answer is None:
            return PodVerdict(pod, _no_disruption(budget, "its status"), names), True
        return PodVerdict(pod, f"budget {budget.ref}: dry-run eviction accepted", names), False
    used = spent.get(budget.ref, 0)
    spent[budget.ref] = used + 1
    if used >= allowed:
        why = (
            f"budget {budget.ref} allows {allowed} disruption(s) now: evicted once the pods "
            "before it are replaced"
        )
        return PodVerdict(pod, why, names), False
    return PodVerdict(pod, f"budget {budget.ref} allows {allowed} disruption(s) now", names), False


def _no_disruption(budget: BudgetView, source: str) -> str:
    allowed = budget.disruptions_allowed
    counts = ""
    if budget.current_healthy is not None and budget.desired_healthy is not None:
        counts = f", {budget.current_healthy} healthy, {budget.desired_healthy} needed"
    if allowed is None:
        return f"budget {budget.ref} has no status yet ({source})"
    return (
        f"budget {budget.ref} allows no disruption now "
        f"(disruptionsAllowed {allowed}{counts}; {source})"
    )


def _terminating(pod: PodView, now: datetime, what: str) -> PodVerdict:
    since = pod.deleting_since
    if since is None:
        return PodVerdict(pod, f"Terminating: {what}")
    seconds = max(0, int((now - since).total_seconds()))
    return PodVerdict(pod, f"Terminating for {seconds}s: {what}")
