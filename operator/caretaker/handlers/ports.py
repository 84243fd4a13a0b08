"""What every feature's executor writes back to Kubernetes about its own object: the status
(once per round, conditional on the version read) and the Events. A Protocol, so that unit
tests drive the shipped executors against a fake; ``KubeObjectWrites`` is the real one, and
``KubeExecutorPorts`` the real ledger and writes every feature's real ports start from."""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass
from typing import Any, Protocol

from kubernetes.client import ApiClient

from caretaker.clients.kube.custom import CustomRef, StatusWrite, patch_status
from caretaker.clients.kube.events import ObjectRef, post_event
from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Admission, Claim
from caretaker.handlers.disruption.ports import KubeClaimLedger
from caretaker.handlers.services import Services


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


class KubeExecutorPorts:
    """The disruption ledger, the status and the Events, on the real cluster."""

    def __init__(self, services: Services) -> None:
        self.services, self.kube = services, services.kube
        self._ledger, self._writes = KubeClaimLedger(services), KubeObjectWrites(services.kube)

    def enter_claim(self, claim: Claim) -> Admission:
        return self._ledger.enter_claim(claim)

    def remove_claims(self, claimants: Set[str]) -> None:
        self._ledger.remove_claims(claimants)

    def write_status(
        self, ref: CustomRef, status: Mapping[str, Any], resource_version: str
    ) -> StatusWrite:
        return self._writes.write_status(ref, status, resource_version)

    def post_event(self, regarding: ObjectRef, note: Note) -> None:
        self._writes.post_event(regarding, note)
