"""Everything the HealthPolicy executor reads and changes, as one Protocol of small calls: the
snapshot, the Remediation records, the status and Events, the notifiers, the ladder's actions
and the disruption ledger. ``KubeHealthPorts`` is the real one (one per policy loop, with the
loop's own Ceph client); the unit tests drive the same executor against a fake fleet."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from caretaker.clients.kube.custom import CustomRef, get_custom
from caretaker.clients.kube.records import create_record, delete_record, patch_record
from caretaker.domain.health.outputs import Notification, PlannedAction
from caretaker.domain.health.world import HealthWorld
from caretaker.handlers.disruption.ports import ClaimLedger
from caretaker.handlers.health.actions import ActionContext, ActionOutcome, run_action
from caretaker.handlers.health.bookkeeping import RecordDeleter
from caretaker.handlers.health.ceph import HealthCeph
from caretaker.handlers.health.node_lease import NodeLeases
from caretaker.handlers.health.notify import KubeNotifier, Notifier, SendOutcome
from caretaker.handlers.health.world import PolicyObject, build_world
from caretaker.handlers.ports import KubeExecutorPorts, ObjectWrites
from caretaker.handlers.services import Services


class HealthPorts(ClaimLedger, ObjectWrites, Notifier, RecordDeleter, Protocol):
    def read_world(self, policy: PolicyObject, now: datetime) -> HealthWorld: ...

    def read_object(self, ref: CustomRef) -> Mapping[str, Any] | None:
        """The policy as it is now (None once deleted)."""
        ...

    def create_record(self, body: Mapping[str, Any]) -> bool:
        """False when a record of that name exists already (someone else planned it)."""
        ...

    def run_action(self, world: HealthWorld, planned: PlannedAction) -> ActionOutcome:
        """Runs one ladder step; every failure is an outcome, nothing is raised."""
        ...


class KubeHealthPorts(KubeExecutorPorts):
    """The real cluster, for one policy loop (its Ceph client has a short timeout)."""

    def __init__(self, services: Services, ceph: HealthCeph) -> None:
        super().__init__(services)
        self.ceph = ceph
        self._notifier = KubeNotifier(services.kube, services.settings.pagerduty_events_url)

    def read_world(self, policy: PolicyObject, now: datetime) -> HealthWorld:
        return build_world(self.services, self.ceph, policy, now)

    def read_object(self, ref: CustomRef) -> Mapping[str, Any] | None:
        return get_custom(self.kube, ref)

    def create_record(self, body: Mapping[str, Any]) -> bool:
        return create_record(self.kube, dict(body))

    def patch_record(self, namespace: str, name: str, patch: Mapping[str, Any]) -> None:
        patch_record(self.kube, namespace, name, dict(patch))

    def delete_record(self, namespace: str, name: str) -> None:
        delete_record(self.kube, namespace, name)

    def run_action(self, world: HealthWorld, planned: PlannedAction) -> ActionOutcome:
        settings = self.services.settings
        context = ActionContext(
            kube=self.kube,
            ceph=self.ceph,
            policy=world.policy,
            rook_namespace=settings.rook_namespace,
            records=world.remediations,
            claims=world.disruptions,
            leases=NodeLeases(settings.lease_namespace, settings.lease_seconds),
        )
        return run_action(context, planned)

    def send(self, namespace: str, notification: Notification) -> SendOutcome:
        return self._notifier.send(namespace, notification)

    def clock(self) -> datetime:
        return datetime.now(UTC)
