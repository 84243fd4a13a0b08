"""Which pods a drain evicts, which it skips, and which block it (kubectl drain's rules)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from caretaker.domain.labels import matches_labels
from caretaker.domain.maintenance.spec import DrainSpec
from caretaker.domain.maintenance.world import PodView


@dataclass(frozen=True)
class DrainPlan:
    evict: tuple[PodView, ...]  # evictable and not yet terminating
    terminating: tuple[PodView, ...]  # eviction accepted, pod still going away
    blocking: tuple[tuple[PodView, str], ...]  # pods the drain options forbid to evict, with why

    @property
    def done(self) -> bool:
        return not (self.evict or self.terminating or self.blocking)

    @property
    def pending(self) -> int:
        return len(self.evict) + len(self.terminating) + len(self.blocking)


def plan_drain(pods: Iterable[PodView], spec: DrainSpec) -> DrainPlan:
    """Sorts the pods on a node into evict / still terminating / blocking, by the drain options."""
    evict: list[PodView] = []
    terminating: list[PodView] = []
    blocking: list[tuple[PodView, str]] = []
    for pod in sorted(pods, key=lambda p: p.ref):
        if pod.is_mirror or not matches_labels(pod.labels, spec.pod_selector):
            continue
        if pod.controller_kind == "DaemonSet":
            if spec.ignore_daemonsets:
                continue
            blocking.append((pod, "managed by a DaemonSet (set drain.ignoreDaemonSets)"))
            continue
        if pod.terminating:
            terminating.append(pod)
        elif pod.controller_kind is None and not spec.force:
            blocking.append((pod, "has no controller and would be lost (set drain.force)"))
        elif pod.has_emptydir and not spec.delete_emptydir_data:
            blocking.append((pod, "uses emptyDir data (set drain.deleteEmptyDirData)"))
        else:
            evict.append(pod)
    return DrainPlan(tuple(evict), tuple(terminating), tuple(blocking))


def describe_drain(plan: DrainPlan, limit: int = 3) -> str:
    """A one-line account of what still keeps a drain from finishing."""
    parts: list[str] = []
    if plan.blocking:
        shown = "; ".join(f"{p.ref} {why}" for p, why in plan.blocking[:limit])
        parts.append(f"{len(plan.blocking)} pod(s) cannot be evicted: {shown}")
    if plan.evict:
        parts.append(f"{len(plan.evict)} pod(s) to evict")
    if plan.terminating:
        parts.append(f"{len(plan.terminating)} pod(s) terminating")
    return ", ".join(parts) if parts else "no pods left"
