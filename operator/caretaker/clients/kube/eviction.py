"""Pod eviction through the Eviction API, honouring PodDisruptionBudgets.

Prefers ``policy/v1`` and falls back to ``policy/v1beta1`` on servers that do not serve v1
(Kubernetes < 1.22), as ``kubectl drain`` does. The served versions come from API discovery of
the ``policy`` group, cached per ApiClient.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import (
    JsonObject,
    KubeApiError,
    api_path,
    is_transient,
    request_json,
)

POLICY_V1 = "policy/v1"
POLICY_V1BETA1 = "policy/v1beta1"
EVICTION_VERSION_PREFERENCE = (POLICY_V1, POLICY_V1BETA1)
DISRUPTION_BUDGET_CAUSE = "DisruptionBudget"


class EvictionUnsupportedError(Exception):
    """The server serves no policy version with the Eviction subresource."""


@dataclass(frozen=True)
class Evicted:
    namespace: str
    name: str


@dataclass(frozen=True)
class BlockedByBudget:
    """HTTP 429 from a PodDisruptionBudget: try again later. ``message`` is the server's."""

    namespace: str
    name: str
    message: str


@dataclass(frozen=True)
class NotFound:
    """The pod does not exist (any more): nothing left to evict."""

    namespace: str
    name: str


EvictionResult = Evicted | BlockedByBudget | NotFound

_served_versions: weakref.WeakKeyDictionary[ApiClient, tuple[str, ...]] = (
    weakref.WeakKeyDictionary()
)
_served_versions_lock = threading.Lock()


def choose_eviction_version(served_group_versions: Iterable[str]) -> str:
    """The policy group version to post Evictions with: v1 when served, else v1beta1."""
    served = set(served_group_versions)
    for version in EVICTION_VERSION_PREFERENCE:
        if version in served:
            return version
    raise EvictionUnsupportedError(
        f"server serves none of {', '.join(EVICTION_VERSION_PREFERENCE)} "
        f"(policy versions: {', '.join(sorted(served)) or 'none'})"
    )


def served_policy_versions(api: ApiClient) -> tuple[str, ...]:
    """The group versions of the ``policy`` API group (discovery, cached per client)."""
    with _served_versions_lock:
        cached = _served_versions.get(api)
    if cached is not None:
        return cached
    try:
        group = request_json(api, "GET", "/apis/policy")
    except KubeApiError as error:
        if not error.not_found:
            raise
        group = {}
    versions = tuple(str(v.get("groupVersion", "")) for v in group.get("versions") or [])
    with _served_versions_lock:
        _served_versions[api] = versions
    return versions


def is_budget_block(error: BaseException) -> bool:
    """A 429 caused by a PodDisruptionBudget (not API throttling)."""
    return (
        isinstance(error, KubeApiError)
        and error.status == 429
        and any(cause.type == DISRUPTION_BUDGET_CAUSE for cause in error.causes)
    )


def evict_pod(
    api: ApiClient, namespace: str, name: str, grace_period_seconds: int | None = None
) -> EvictionResult:
    """Asks the server to evict the pod; the answer says whether a budget blocked it."""
    version = choose_eviction_version(served_policy_versions(api))
    path = api_path("/api/v1/namespaces/{}/pods/{}/eviction", namespace, name)
    body = eviction_body(version, namespace, name, grace_period_seconds)
    try:
        request_json(
            api,
            "POST",
            path,
            body=body,
            retry_if=lambda error: is_transient(error) and not is_budget_block(error),
        )
    except KubeApiError as error:
        if is_budget_block(error):
            return BlockedByBudget(namespace, name, budget_message(error))
        if error.not_found:
            return NotFound(namespace, name)
        raise
    return Evicted(namespace, name)


def eviction_body(
    version: str, namespace: str, name: str, grace_period_seconds: int | None
) -> JsonObject:
    body: JsonObject = {
        "apiVersion": version,
        "kind": "Eviction",
        "metadata": {"name": name, "namespace": namespace},
    }
    if grace_period_seconds is not None:
        body["deleteOptions"] = {"gracePeriodSeconds": grace_period_seconds}
    return body


def budget_message(error: KubeApiError) -> str:
    """The server's message plus the budget details (which budget, how many healthy pods)."""
    details = [c.message for c in error.causes if c.type == DISRUPTION_BUDGET_CAUSE and c.message]
    return " ".join([error.message, *details])
