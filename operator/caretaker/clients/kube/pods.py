"""Pods: what runs on a node, in the shape drain decisions need."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import JsonObject, api_path, list_items

MIRROR_POD_ANNOTATION = "kubernetes.io/config.mirror"


@dataclass(frozen=True)
class PodInfo:
    namespace: str
    name: str
    node: str | None
    owner_kinds: tuple[str, ...]
    is_daemonset: bool
    is_mirror: bool
    has_emptydir: bool
    phase: str
    terminating: bool = False
    uid: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    controller_kind: str | None = None  # kind of the ownerReference with controller: true
    deleting_since: datetime | None = None  # deletionTimestamp


def pod_info_from_json(obj: JsonObject) -> PodInfo:
    metadata: JsonObject = obj.get("metadata") or {}
    spec: JsonObject = obj.get("spec") or {}
    owners: list[JsonObject] = metadata.get("ownerReferences") or []
    owner_kinds = tuple(str(ref.get("kind", "")) for ref in owners)
    controllers = [str(ref.get("kind", "")) for ref in owners if ref.get("controller")]
    return PodInfo(
        namespace=str(metadata.get("namespace", "")),
        name=str(metadata.get("name", "")),
        node=spec.get("nodeName") or None,
        owner_kinds=owner_kinds,
        is_daemonset="DaemonSet" in owner_kinds,
        is_mirror=MIRROR_POD_ANNOTATION in (metadata.get("annotations") or {}),
        has_emptydir=any("emptyDir" in volume for volume in spec.get("volumes") or []),
        phase=str((obj.get("status") or {}).get("phase") or "Unknown"),
        terminating=metadata.get("deletionTimestamp") is not None,
        uid=str(metadata.get("uid", "")),
        labels=dict(metadata.get("labels") or {}),
        controller_kind=controllers[0] if controllers else None,
        deleting_since=_time(metadata.get("deletionTimestamp")),
    )


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None


def pods_on_node(api: ApiClient, node: str) -> list[PodInfo]:
    """All pods bound to node, in every namespace."""
    query = {"fieldSelector": f"spec.nodeName={node}"}
    return [pod_info_from_json(item) for item in list_items(api, "/api/v1/pods", query)]


def pods_with_labels(api: ApiClient, namespace: str, selector: str) -> list[PodInfo]:
    """The pods of a namespace that match a label selector."""
    path = api_path("/api/v1/namespaces/{}/pods", namespace)
    return [pod_info_from_json(item) for item in list_items(api, path, {"labelSelector": selector})]
