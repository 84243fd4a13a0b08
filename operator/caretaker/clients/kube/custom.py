"""Caretaker's own custom resources: read one, patch its status subresource."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import MERGE_PATCH, JsonObject, KubeApiError, api_path, request_json
from caretaker.clients.kube.informer import version_number
from caretaker.constants import GROUP, VERSION


@dataclass(frozen=True)
class CustomRef:
    plural: str
    namespace: str  # "" for a cluster-scoped resource (MaintenanceFreeze)
    name: str

    @property
    def path(self) -> str:
        if not self.namespace:
            return api_path(f"/apis/{GROUP}/{VERSION}/{{}}/{{}}", self.plural, self.name)
        return api_path(
            f"/apis/{GROUP}/{VERSION}/namespaces/{{}}/{self.plural}/{{}}", self.namespace, self.name
        )


def get_custom(api: ApiClient, ref: CustomRef, *, seen_version: str = "") -> JsonObject | None:
    """The object (from the read cache when it has it), or None when it is gone.

    ``seen_version``: a resourceVersion already seen elsewhere (kopf's watch): an older cached
    copy is not good enough, the server is asked."""
    try:
        found: JsonObject | None = request_json(api, "GET", ref.path)
    except KubeApiError as error:
        if not error.not_found:
            raise
        found = None
    if seen_version and (found is None or version_number(found) < version_number(seen_version)):
        try:
            found = request_json(api, "GET", ref.path, cached=False)
        except KubeApiError as error:
            if error.not_found:
                return None
            raise
    return found


class StatusWrite(Enum):
    WRITTEN = "written"
    GONE = "gone"  # the object was deleted
    CONFLICT = "conflict"  # the object changed since it was read: nothing was written


def patch_status(
    api: ApiClient, ref: CustomRef, status: JsonObject, *, resource_version: str
) -> StatusWrite:
    """Merge-patches the status subresource, once per reconcile, if the object is still at
    ``resource_version`` (the version the status was decided on; "" writes unconditionally)."""
    body: JsonObject = {"status": status}
    if resource_version:
        body["metadata"] = {"resourceVersion": resource_version}
    try:
        request_json(api, "PATCH", ref.path + "/status", body=body, content_type=MERGE_PATCH)
    except KubeApiError as error:
        if error.not_found:
            return StatusWrite.GONE
        if error.conflict:
            return StatusWrite.CONFLICT
        raise
    return StatusWrite.WRITTEN
