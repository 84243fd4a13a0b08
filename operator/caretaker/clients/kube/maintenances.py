"""Maintenances as a person's tool reads and changes them (`kubectl caretaker`): list, get, and
merge-patch the object (spec fields, annotations). The operator reads what these write."""

from __future__ import annotations

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import MERGE_PATCH, JsonObject, api_path, list_items, request_json
from caretaker.constants import GROUP, MAINTENANCES, VERSION

BASE = f"/apis/{GROUP}/{VERSION}"


def _one(namespace: str, name: str) -> str:
    return api_path(f"{BASE}/namespaces/{{}}/{MAINTENANCES}/{{}}", namespace, name)


def list_maintenances(api: ApiClient, namespace: str | None) -> list[JsonObject]:
    """Every Maintenance of a namespace (None: of every namespace)."""
    if namespace is None:
        return list(list_items(api, f"{BASE}/{MAINTENANCES}"))
    return list(list_items(api, api_path(f"{BASE}/namespaces/{{}}/{MAINTENANCES}", namespace)))


def read_maintenance(api: ApiClient, namespace: str, name: str) -> JsonObject:
    """The object; a missing one raises KubeApiError (404, the server's own message)."""
    return request_json(api, "GET", _one(namespace, name))


def patch_maintenance(api: ApiClient, namespace: str, name: str, patch: JsonObject) -> JsonObject:
    """A JSON merge patch of the object (with metadata.resourceVersion in it: only if the
    object has not changed since; 409 otherwise)."""
    return request_json(api, "PATCH", _one(namespace, name), body=patch, content_type=MERGE_PATCH)
