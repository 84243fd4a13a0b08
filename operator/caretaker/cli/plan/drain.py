"""The drain preflight of `caretaker plan`: for each target node, the pods its drain would evict
and the ones that would hold it up.

The pods are read and sorted exactly as a drain does it (``pods_on_node``, ``pod_view``,
``plan_drain``); each pod it would evict is then put to the server as a dry-run eviction, and
the namespace's budgets are read for their names and status. A server that does not answer
dry runs leaves the budgets' status (``disruptionsAllowed``) to decide.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from kubernetes.client import ApiClient

from caretaker.clients.kube.budgets import (
    BudgetInfo,
    DryRunUnavailable,
    dry_run_eviction,
    list_budgets,
)
from caretaker.clients.kube.pods import pods_on_node
from caretaker.domain.drain.preflight import (
    BudgetView,
    DrainPreflight,
    DryRun,
    Requirement,
    drain_preflight,
)
from caretaker.domain.drain.rules import DrainSpec, PodView, plan_drain
from caretaker.handlers.drain.round import pod_view


def budget_view(info: BudgetInfo) -> BudgetView:
    selector: Mapping[str, Any] = info.selector or {}
    expressions = tuple(
        Requirement(
            str(e.get("key", "")),
            str(e.get("operator", "")),
            tuple(str(v) for v in e.get("values") or ()),
        )
        for e in selector.get("matchExpressions") or ()
    )
    return BudgetView(
        namespace=info.namespace,
        name=info.name,
        match_labels={str(k): str(v) for k, v in (selector.get("matchLabels") or {}).items()},
        match_expressions=expressions,
        disruptions_allowed=info.disruptions_allowed,
        current_healthy=info.current_healthy,
        desired_healthy=info.desired_healthy,
        has_selector=info.selector is not None,
    )


def node_preflight(
    kube: ApiClient, node: str, spec: DrainSpec, now: datetime, dry_run: bool = True
) -> DrainPreflight:
    """One node's drain as it would go now; changes nothing."""
    pods = [pod_view(p) for p in pods_on_node(kube, node)]
    plan = plan_drain(pods, spec, now)
    budgets = [budget_view(b) for ns in _namespaces(plan.evict) for b in list_budgets(kube, ns)]
    answers = _dry_runs(kube, plan.evict) if dry_run else None
    return drain_preflight(plan, now, budgets, answers)


def _namespaces(pods: Iterable[PodView]) -> list[str]:
    return sorted({p.namespace for p in pods})


def _dry_runs(kube: ApiClient, pods: Iterable[PodView]) -> dict[str, DryRun] | None:
    """Each pod's dry-run eviction; None when the server does not answer them."""
    answers: dict[str, DryRun] = {}
    for pod in pods:
        try:
            answer = dry_run_eviction(kube, pod.namespace, pod.name)
        except DryRunUnavailable:
            return None
        answers[pod.ref] = DryRun(answer.allowed, answer.message)
    return answers


def drain_preflights(
    kube: ApiClient, nodes: Iterable[str], spec: DrainSpec, now: datetime
) -> dict[str, DrainPreflight | None]:
    """Every node's preflight (None for each when the drain is switched off)."""
    return {node: node_preflight(kube, node, spec, now) if spec.enabled else None for node in nodes}
