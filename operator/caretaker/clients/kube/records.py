"""Remediation records (``caretaker.dev/v1alpha1``, plural ``remediations``): create, list,
merge-patch, delete; and listing any of Caretaker's custom resources in one or all namespaces.

A record is created once, named after its idempotency key: a second create answers 409, which
is how a restarted operator's repeated plan is deduplicated (``create_record`` returns False).
"""

from __future__ import annotations

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import (
    MERGE_PATCH,
    JsonObject,
    KubeApiError,
    api_path,
    list_items,
    request_json,
)
from caretaker.constants import GROUP, VERSION

RECORDS = "remediations"


def custom_collection(plural: str, namespace: str | None) -> str:
    """The list path of a Caretaker resource in one namespace, or in all (``None``)."""
    if namespace is None:
        return api_path(f"/apis/{GROUP}/{VERSION}/{{}}", plural)
    return api_path(f"/apis/{GROUP}/{VERSION}/namespaces/{{}}/{{}}", namespace, plural)


def list_custom(
    api: ApiClient, plural: str, namespace: str | None, label_selector: str | None = None
) -> list[JsonObject]:
    """Every object of a Caretaker resource in a namespace (or all namespaces: ``None``)."""
    query = {"labelSelector": label_selector} if label_selector else None
    return list(list_items(api, custom_collection(plural, namespace), query))


def create_record(api: ApiClient, body: JsonObject) -> bool:
    """Creates a Remediation (spec and status in one write); False when the name exists."""
    namespace = str(body["metadata"]["namespace"])
    try:
        request_json(api, "POST", custom_collection(RECORDS, namespace), body=body)
    except KubeApiError as error:
        if error.conflict:
            return False
        raise
    return True


def list_records(
    api: ApiClient, namespace: str, label_selector: str | None = None
) -> list[JsonObject]:
    """The Remediations of a namespace (optionally those matching a label selector)."""
    return list_custom(api, RECORDS, namespace, label_selector)


def patch_record(api: ApiClient, namespace: str, name: str, patch: JsonObject) -> bool:
    """Merge-patches a Remediation (its status is a plain field: no subresource); False if gone."""
    path = custom_collection(RECORDS, namespace) + api_path("/{}", name)
    try:
        request_json(api, "PATCH", path, body=patch, content_type=MERGE_PATCH)
    except KubeApiError as error:
        if error.not_found:
            return False
        raise
    return True


def delete_record(api: ApiClient, namespace: str, name: str) -> bool:
    """Deletes a Remediation; False when it was already gone."""
    path = custom_collection(RECORDS, namespace) + api_path("/{}", name)
    try:
        request_json(api, "DELETE", path)
    except KubeApiError as error:
        if error.not_found:
            return False
        raise
    return True
