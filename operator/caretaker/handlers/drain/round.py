"""One eviction round of a drain, for every feature that drains (Maintenance, HealthPolicy):
evict what the plan says (budgets honoured), and the finished pods (deleted at once). Which
pods is decided by ``caretaker.domain.drain.rules.plan_drain``; this only carries it out."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from kubernetes.client import ApiClient

from caretaker.clients.kube.eviction import BlockedByBudget, Evicted, evict_pod
from caretaker.clients.kube.pods import PodInfo
from caretaker.domain.drain.rules import DrainPlan, PodView

PodRef = tuple[str, str]  # (namespace, name)


def pod_view(info: PodInfo) -> PodView:
    """A pod as the drain rules see it."""
    return PodView(
        namespace=info.namespace,
        name=info.name,
        controller_kind=info.controller_kind,
        is_mirror=info.is_mirror,
        has_emptydir=info.has_emptydir,
        terminating=info.terminating,
        labels=info.labels,
        finished=info.phase in ("Succeeded", "Failed"),
        deleting_since=info.deleting_since,
    )


def refs(pods: Iterable[PodView]) -> tuple[PodRef, ...]:
    return tuple((p.namespace, p.name) for p in pods)


def run_plan(kube: ApiClient, plan: DrainPlan, grace_period_seconds: int | None) -> DrainRound:
    return drain_round(kube, refs(plan.evict), refs(plan.delete), grace_period_seconds)


@dataclass(frozen=True)
class DrainRound:
    evicted: int
    deleted: int
    blocked: tuple[str, ...]  # "namespace/name: the budget's message"

    @property
    def only_blocked(self) -> bool:
        """Nothing moved: every eviction was refused. Retry after ``BLOCKED_RETRY``."""
        return bool(self.blocked) and not (self.evicted or self.deleted)


def drain_round(
    kube: ApiClient,
    evict: Iterable[PodRef],
    finished: Iterable[PodRef],
    grace_period_seconds: int | None,
) -> DrainRound:
    evicted, deleted, blocked = 0, 0, []
    for namespace, pod in finished:
        # an Eviction of a pod that ended deletes it at once (no budget counts a finished pod),
        # with the drain's own permission, as kubectl drain does
        deleted += isinstance(evict_pod(kube, namespace, pod, None), Evicted)
    for namespace, pod in evict:
        result = evict_pod(kube, namespace, pod, grace_period_seconds)
        if isinstance(result, Evicted):
            evicted += 1
        elif isinstance(result, BlockedByBudget):
            blocked.append(f"{namespace}/{pod}: {result.message}")
    return DrainRound(evicted, deleted, tuple(blocked))
