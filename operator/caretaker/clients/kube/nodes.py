"""Nodes: read, cordon/uncordon on behalf of an identity, add taints.

Changes that depend on what was read carry the node's resourceVersion and re-read on 409.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import (
    MERGE_PATCH,
    JsonObject,
    KubeApiError,
    api_path,
    list_items,
    request_json,
)
from caretaker.constants import CORDONED_BY_ANNOTATION

CONFLICT_ATTEMPTS = 5
NO_EXECUTE = "NoExecute"
_writes = [0]  # node patches this process has sent (a node list taken before one is stale)
_writes_lock = threading.Lock()


def node_writes() -> int:
    with _writes_lock:
        return _writes[0]


def count_node_write() -> None:
    """A node (or its status) was patched: node lists taken before are stale."""
    with _writes_lock:
        _writes[0] += 1


@dataclass(frozen=True)
class Taint:
    """A node taint; identity is (key, effect). ``time_added`` is kept as the server wrote it."""

    key: str
    effect: str
    value: str | None = None
    time_added: str | None = field(default=None, compare=False)

    def same_slot(self, other: Taint) -> bool:
        return (self.key, self.effect) == (other.key, other.effect)


@dataclass(frozen=True)
class NodeInfo:
    name: str
    unschedulable: bool
    labels: Mapping[str, str]
    taints: tuple[Taint, ...]
    annotations: Mapping[str, str] = field(default_factory=dict)
    ready: bool | None = None  # the Ready condition; None when the node reports none
    boot_id: str = ""  # status.nodeInfo.bootID: changes with every boot of the machine
    # status.conditions other than the kubelet's own (type, status, reason, message)
    conditions: tuple[tuple[str, str, str, str], ...] = field(default=(), compare=False)
    resource_version: str = field(default="", compare=False)

    @property
    def cordoned_by(self) -> str | None:
        return self.annotations.get(CORDONED_BY_ANNOTATION)


def node_info_from_json(obj: JsonObject) -> NodeInfo:
    metadata: JsonObject = obj.get("metadata") or {}
    spec: JsonObject = obj.get("spec") or {}
    return NodeInfo(
        name=str(metadata.get("name", "")),
        unschedulable=bool(spec.get("unschedulable", False)),
        labels=dict(metadata.get("labels") or {}),
        taints=tuple(_taint_from_json(t) for t in spec.get("taints") or []),
        annotations=dict(metadata.get("annotations") or {}),
        ready=node_ready(obj),
        boot_id=str(((obj.get("status") or {}).get("nodeInfo") or {}).get("bootID") or ""),
        conditions=_other_conditions(obj),
        resource_version=str(metadata.get("resourceVersion", "")),
    )


def node_ready(obj: JsonObject) -> bool | None:
    """True/False from the Ready condition ("Unknown" counts as not ready); None without one."""
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return None


KUBELET_CONDITIONS = {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}


def _other_conditions(obj: JsonObject) -> tuple[tuple[str, str, str, str], ...]:
    return tuple(
        (
            str(c.get("type")),
            str(c.get("status")),
            str(c.get("reason") or ""),
            str(c.get("message") or ""),
        )
        for c in (obj.get("status") or {}).get("conditions") or []
        if c.get("type") not in KUBELET_CONDITIONS
    )


def taints_with(taints: tuple[Taint, ...], taint: Taint) -> tuple[Taint, ...]:
    """taints plus taint; a taint with the same key and effect is replaced (value updated)."""
    if taint in taints:
        return taints
    if any(t.same_slot(taint) for t in taints):
        return tuple(taint if t.same_slot(taint) else t for t in taints)
    return (*taints, taint)


TaintChange = Callable[[tuple[Taint, ...]], tuple[Taint, ...]]


def get_node(api: ApiClient, name: str) -> NodeInfo | None:
    """The node, or None when it does not exist."""
    try:
        return node_info_from_json(request_json(api, "GET", api_path("/api/v1/nodes/{}", name)))
    except KubeApiError as error:
        if error.not_found:
            return None
        raise


def list_nodes(api: ApiClient, label_selector: str | None = None) -> list[NodeInfo]:
    query = {"labelSelector": label_selector} if label_selector else None
    return [node_info_from_json(item) for item in list_items(api, "/api/v1/nodes", query)]


def cordon_for(api: ApiClient, name: str, identity: str) -> bool:
    """Cordons the node on behalf of identity (recorded in an annotation). False, and nothing
    changed, when someone else cordoned it: their cordon is not ours to take over or lift."""
    for _ in range(CONFLICT_ATTEMPTS):
        node = _existing_node(api, name)
        if node.unschedulable and node.cordoned_by == identity:
            return True
        if node.unschedulable:
            return False
        patch = {
            "metadata": {
                "resourceVersion": node.resource_version,
                "annotations": {CORDONED_BY_ANNOTATION: identity},
            },
            "spec": {"unschedulable": True},
        }
        if _patch_unless_conflict(api, name, patch):
            return True
    raise _kept_changing(name)


def uncordon_for(api: ApiClient, name: str, identity: str) -> bool:
    """Lifts identity's cordon and its annotation. True when the node is schedulable afterwards;
    False when a cordon that is not identity's remains (left alone)."""
    for _ in range(CONFLICT_ATTEMPTS):
        node = _existing_node(api, name)
        if node.cordoned_by != identity:
            return not node.unschedulable
        patch = {
            "metadata": {
                "resourceVersion": node.resource_version,
                "annotations": {CORDONED_BY_ANNOTATION: None},
            },
            "spec": {"unschedulable": None},
        }
        if _patch_unless_conflict(api, name, patch):
            return True
    raise _kept_changing(name)


def add_taint(api: ApiClient, node: str, taint: Taint) -> bool:
    """Adds (or updates the value of) a taint; False when it was already there as given."""
    return _update_taints(api, node, lambda taints: taints_with(taints, taint))


def _update_taints(api: ApiClient, node: str, change: TaintChange) -> bool:
    """Applies change(taints) -> taints with the node's resourceVersion; re-reads on conflict."""
    for _ in range(CONFLICT_ATTEMPTS):
        current = _existing_node(api, node)
        wanted: tuple[Taint, ...] = change(current.taints)
        if wanted == current.taints:
            return False
        patch = {
            "metadata": {"resourceVersion": current.resource_version},
            "spec": {"taints": [_taint_to_json(t) for t in wanted] or None},
        }
        if _patch_unless_conflict(api, node, patch):
            return True
    raise _kept_changing(node)


def _existing_node(api: ApiClient, name: str) -> NodeInfo:
    node = get_node(api, name)
    if node is None:
        raise KubeApiError(404, "NotFound", f'nodes "{name}" not found')
    return node


def _patch_unless_conflict(api: ApiClient, name: str, patch: JsonObject) -> bool:
    """Applies a patch that carries a resourceVersion; False when the node changed meanwhile."""
    try:
        _patch_node(api, name, patch)
    except KubeApiError as error:
        if error.conflict:
            return False
        raise
    return True


def _kept_changing(name: str) -> KubeApiError:
    return KubeApiError(409, "Conflict", f"node {name} kept changing; gave up after retries")


def _patch_node(api: ApiClient, name: str, patch: JsonObject) -> NodeInfo:
    path = api_path("/api/v1/nodes/{}", name)
    try:
        answer = request_json(api, "PATCH", path, body=patch, content_type=MERGE_PATCH)
    finally:
        with _writes_lock:
            _writes[0] += 1
    return node_info_from_json(answer)


def _taint_from_json(obj: JsonObject) -> Taint:
    value = obj.get("value")
    added = obj.get("timeAdded")
    return Taint(
        key=str(obj.get("key", "")),
        effect=str(obj.get("effect", "")),
        value=str(value) if value else None,
        time_added=str(added) if added else None,
    )


def _taint_to_json(taint: Taint) -> JsonObject:
    obj: JsonObject = {"key": taint.key, "effect": taint.effect}
    if taint.value:
        obj["value"] = taint.value
    if taint.time_added:
        obj["timeAdded"] = taint.time_added
    elif taint.effect == NO_EXECUTE:  # tolerationSeconds count from here (as kubectl taint does)
        obj["timeAdded"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return obj
