"""Other tools' hold on nodes, and Caretaker's Node lifecycle conditions.

- medik8s ``NodeMaintenance`` objects (cluster-scoped, nodemaintenance.medik8s.io/v1beta1):
  listed; when the API group is not installed (404) there are none.
- kured's lock: the ``weave.works/kured-node-lock`` annotation on its DaemonSet (read, never
  written); no DaemonSet (404) means no lock.
- The node's status conditions: a strategic-merge patch of ``/status`` (conditions merge by
  ``type``), adding ours and deleting ours only, never the kubelet's or another tool's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import JsonObject, KubeApiError, api_path, list_items, request_json
from caretaker.clients.kube.nodes import count_node_write

NODE_MAINTENANCES = "/apis/nodemaintenance.medik8s.io/v1beta1/nodemaintenances"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"


def node_maintenances(api: ApiClient) -> dict[str, tuple[str, ...]]:
    """node -> the names of the NodeMaintenances naming it; {} without medik8s installed."""
    found: dict[str, list[str]] = {}
    try:
        for item in list_items(api, NODE_MAINTENANCES):
            node = str((item.get("spec") or {}).get("nodeName") or "")
            if node:
                found.setdefault(node, []).append(str(item["metadata"]["name"]))
    except KubeApiError as error:
        if error.not_found:
            return {}
        raise
    return {node: tuple(sorted(names)) for node, names in found.items()}


def daemonset_annotation(api: ApiClient, namespace: str, name: str, key: str) -> str | None:
    """The annotation of a DaemonSet; None when it (or the DaemonSet) is absent."""
    path = api_path("/apis/apps/v1/namespaces/{}/daemonsets/{}", namespace, name)
    try:
        obj = request_json(api, "GET", path)
    except KubeApiError as error:
        if error.not_found:
            return None
        raise
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(key)
    return None if value is None else str(value)


def patch_node_conditions(
    api: ApiClient, node: str, put: Iterable[Mapping[str, str]], remove: Iterable[str]
) -> None:
    """Sets the conditions ``put`` (type, status, reason, message) and deletes the types
    ``remove`` on the node's status; the others stay as they are."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    items: list[JsonObject] = [
        {**dict(c), "lastHeartbeatTime": now, "lastTransitionTime": now} for c in put
    ]
    items += [{"type": t, "$patch": "delete"} for t in remove]
    if not items:
        return
    path = api_path("/api/v1/nodes/{}/status", node)
    try:
        request_json(
            api,
            "PATCH",
            path,
            body={"status": {"conditions": items}},
            content_type=STRATEGIC_MERGE_PATCH,
        )
    finally:
        count_node_write()
