"""PodDisruptionBudgets as their status stands, and server-side dry-run evictions: what a
drain preflight asks the cluster. Nothing here changes the cluster.

Budgets are read with the policy version the server serves (``policy/v1``, else
``policy/v1beta1``, as evictions are posted). A dry-run eviction (``?dryRun=All``) goes through
the same checks as a real one (the pod's budget, its status) and evicts nothing; Kubernetes
1.20, the testbed's version, answers it: 201 when the eviction would be accepted, 429 with the
budget named when not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError, api_path, list_items, request_json
from caretaker.clients.kube.eviction import (
    budget_message,
    choose_eviction_version,
    eviction_body,
    is_budget_block,
    served_policy_versions,
)


@dataclass(frozen=True)
class BudgetInfo:
    namespace: str
    name: str
    selector: Mapping[str, Any] | None  # None: the budget selects no pod
    disruptions_allowed: int | None  # None: the disruption controller has not written status
    current_healthy: int | None = None
    desired_healthy: int | None = None


def budget_from_json(obj: Mapping[str, Any]) -> BudgetInfo:
    meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
    status = obj.get("status") or {}
    selector = spec.get("selector")
    stale = int(status.get("observedGeneration") or 0) < int(meta.get("generation") or 0)
    return BudgetInfo(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        selector=selector if isinstance(selector, Mapping) else None,
        disruptions_allowed=None if stale else _int(status.get("disruptionsAllowed")),
        current_healthy=_int(status.get("currentHealthy")),
        desired_healthy=_int(status.get("desiredHealthy")),
    )


def _int(value: object) -> int | None:
    return int(value) if isinstance(value, int | str) and str(value).lstrip("-").isdigit() else None


def list_budgets(api: ApiClient, namespace: str) -> list[BudgetInfo]:
    """The budgets of a namespace, read with the policy version evictions are posted with."""
    version = choose_eviction_version(served_policy_versions(api))
    path = api_path(f"/apis/{version}/namespaces/{{}}/poddisruptionbudgets", namespace)
    return [budget_from_json(item) for item in list_items(api, path)]


@dataclass(frozen=True)
class DryRunAnswer:
    allowed: bool
    message: str = ""


class DryRunUnavailable(Exception):
    """The server did not answer a dry-run eviction (an old server, or an admission webhook
    that does not support dry runs): fall back to the budgets' status."""


def dry_run_eviction(api: ApiClient, namespace: str, name: str) -> DryRunAnswer:
    """Would the server evict the pod now? Evicts nothing (``dryRun=All``)."""
    version = choose_eviction_version(served_policy_versions(api))
    path = api_path("/api/v1/namespaces/{}/pods/{}/eviction", namespace, name)
    body = eviction_body(version, namespace, name, None)
    try:
        request_json(
            api,
            "POST",
            path,
            query={"dryRun": "All"},
            body=body,
            retry_if=lambda error: (
                isinstance(error, KubeApiError) and error.status in {0, 500, 502, 503, 504}
            ),
        )
    except KubeApiError as error:
        if is_budget_block(error):
            return DryRunAnswer(False, budget_message(error))
        if error.status in {400, 403, 405, 415, 422} or error.status >= 500:
            raise DryRunUnavailable(str(error)) from error
        if error.not_found:
            return DryRunAnswer(True, "the pod is gone")
        raise
    return DryRunAnswer(True)
