"""A small shared document kept in one annotation of a coordination.k8s.io Lease, changed only
by compare-and-swap.

``update_ledger`` reads the Lease, lets the caller compute the new text from the current one,
and writes it with the resourceVersion it read: two writers deciding at the same moment cannot
both win (the loser gets 409, re-reads and decides again on what the winner wrote).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import (
    MERGE_PATCH,
    JsonObject,
    KubeApiError,
    api_path,
    request_json,
)
from caretaker.clients.kube.lease import CONFLICT_ATTEMPTS, LEASES_PATH


@dataclass(frozen=True)
class LedgerText:
    text: str | None  # None: no Lease (yet) or no annotation
    resource_version: str  # "" when there is no Lease


class LedgerContended(Exception):
    """Every compare-and-swap attempt lost to another writer; nothing was written."""


def read_ledger_text(api: ApiClient, namespace: str, name: str, key: str) -> LedgerText:
    try:
        obj = request_json(api, "GET", _path(namespace, name))
    except KubeApiError as error:
        if error.not_found:
            return LedgerText(None, "")
        raise
    meta: JsonObject = obj.get("metadata") or {}
    annotations: JsonObject = meta.get("annotations") or {}
    return LedgerText(annotations.get(key), str(meta.get("resourceVersion", "")))


Change = Callable[[str | None], str | None]


def update_ledger(api: ApiClient, namespace: str, name: str, key: str, change: Change) -> bool:
    """Applies ``change`` (current text -> new text, or None to leave it) atomically.

    True when the new text was written, False when ``change`` declined. Raises
    ``LedgerContended`` when other writers won every attempt.
    """
    for _ in range(CONFLICT_ATTEMPTS):
        current = read_ledger_text(api, namespace, name, key)
        new = change(current.text)
        if new is None:
            return False
        if new == current.text:
            return True
        if _write(api, (namespace, name), key, new, current.resource_version):
            return True
    raise LedgerContended(f"Lease {namespace}/{name} changed under every attempt")


def _write(api: ApiClient, where: tuple[str, str], key: str, text: str, version: str) -> bool:
    namespace, name = where
    try:
        if not version:
            body: JsonObject = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": name, "namespace": namespace, "annotations": {key: text}},
                "spec": {},
            }
            request_json(api, "POST", api_path(LEASES_PATH, namespace), body=body)
        else:
            patch = {"metadata": {"resourceVersion": version, "annotations": {key: text}}}
            request_json(api, "PATCH", _path(namespace, name), body=patch, content_type=MERGE_PATCH)
    except KubeApiError as error:
        if error.conflict:  # 409: changed since read, or created by someone else first
            return False
        raise
    return True


def _path(namespace: str, name: str) -> str:
    return api_path(LEASES_PATH + "/{}", namespace, name)
