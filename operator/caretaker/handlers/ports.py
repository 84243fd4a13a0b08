"""What every feature's executor writes back to Kubernetes about its own object: the status
(once per round, conditional on the version read) and the Events. A Protocol, so that unit
tests drive the shipped executors against a fake; ``KubeObjectWrites`` is the real one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kubernetes.client import ApiClient

from caretaker.clients.kube.custom import CustomRef, StatusWrite, patch_status
from caretaker.clients.kube.events import ObjectRef, post_event
from caretaker.domain.common.reasons import Note


class ObjectWrites(Protocol):
    def write_status(
        self, ref: CustomRef, status: Mapping[str, Any], resource_version: str
    ) -> StatusWrite:
        """Merge-patches the status if the object is still at ``resource_version``."""
        ...

    def post_event(self, regarding: ObjectRef, note: Note) -> None:
        """Raises ``KubeApiError`` when the Event cannot be posted."""
        ...


@dataclass(frozen=True)
class KubeObjectWrites:
    kube: ApiClient

    def write_status(
        self, ref: CustomRef, status: Mapping[str, Any], resource_version: str
    ) -> StatusWrite:
        return patch_status(self.kube, ref, dict(status), resource_version=resource_version)

    def post_event(self, regarding: ObjectRef, note: Note) -> None:
        post_event(self.kube, regarding, note.reason, note.message, note.type)  # type: ignore[arg-type]
