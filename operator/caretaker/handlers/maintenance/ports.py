"""Everything the Maintenance executor reads and changes, as one Protocol of small calls: the
snapshot, node Leases, the disruption ledger, cordons, noout, one eviction round, the status
and the Events. ``KubeMaintenancePorts`` is the real one, built by the kopf wiring from the
Services; the unit tests drive the same executor against a fake cluster."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Set
from datetime import datetime
from typing import Any, Protocol

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.kube.custom import CustomRef, StatusWrite
from caretaker.clients.kube.events import ObjectRef
from caretaker.clients.kube.lease import acquire_lease, release_lease, renew_lease
from caretaker.clients.kube.nodes import cordon_for, uncordon_for
from caretaker.domain.common.reasons import Note
from caretaker.domain.disruption.ledger import Admission, Claim
from caretaker.domain.maintenance.world import World
from caretaker.handlers.disruption.ports import ClaimLedger, KubeClaimLedger
from caretaker.handlers.drain.round import DrainRound, PodRef, drain_round
from caretaker.handlers.maintenance.snapshot import build_world, lease_name
from caretaker.handlers.ports import KubeObjectWrites, ObjectWrites
from caretaker.handlers.services import Services


class MaintenancePorts(ClaimLedger, ObjectWrites, Protocol):
    def read_world(self, body: Mapping[str, Any], now: datetime) -> World: ...

    def acquire_lease(self, node: str, holder: str) -> None: ...

    def renew_lease(self, node: str, holder: str) -> None:
        """Raises ``KubeApiError`` when it cannot be renewed now."""
        ...

    def release_lease(self, node: str, holder: str) -> None: ...

    def cordon(self, node: str, owner: str) -> None:
        """Cordons on behalf of ``owner``; someone else's cordon is left as it is."""
        ...

    def uncordon(self, node: str, owner: str) -> None:
        """Lifts ``owner``'s cordon only."""
        ...

    def set_noout(self, osds: tuple[int, ...], bucket: str) -> None:
        """On the CRUSH bucket when one is named, else on each OSD."""
        ...

    def unset_noout(self, osds: tuple[int, ...], bucket: str) -> None: ...

    def drain_round(
        self, evict: Iterable[PodRef], finished: Iterable[PodRef], grace_period_seconds: int | None
    ) -> DrainRound: ...


class KubeMaintenancePorts:
    """The real cluster: Kubernetes through ``services.kube``, Ceph through ``services.ceph``."""

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

    def read_world(self, body: Mapping[str, Any], now: datetime) -> World:
        return build_world(self.services, body, now)

    def acquire_lease(self, node: str, holder: str) -> None:
        settings = self.services.settings
        acquire_lease(
            self.kube,
            settings.lease_namespace,
            lease_name(node),
            holder,
            duration_seconds=settings.lease_seconds,
        )

    def renew_lease(self, node: str, holder: str) -> None:
        settings = self.services.settings
        renew_lease(
            self.kube,
            settings.lease_namespace,
            lease_name(node),
            holder,
            duration_seconds=settings.lease_seconds,
        )

    def release_lease(self, node: str, holder: str) -> None:
        release_lease(self.kube, self.services.settings.lease_namespace, lease_name(node), holder)

    def cordon(self, node: str, owner: str) -> None:
        cordon_for(self.kube, node, owner)

    def uncordon(self, node: str, owner: str) -> None:
        uncordon_for(self.kube, node, owner)

    def set_noout(self, osds: tuple[int, ...], bucket: str) -> None:
        ceph = self._ceph()
        ceph.set_group_noout(bucket) if bucket else ceph.add_noout(osds)

    def unset_noout(self, osds: tuple[int, ...], bucket: str) -> None:
        ceph = self._ceph()
        ceph.unset_group_noout(bucket) if bucket else ceph.rm_noout(osds)

    def drain_round(
        self, evict: Iterable[PodRef], finished: Iterable[PodRef], grace_period_seconds: int | None
    ) -> DrainRound:
        return drain_round(self.kube, evict, finished, grace_period_seconds)

    def _ceph(self) -> CephClient:
        if self.services.ceph is None:
            raise RuntimeError(f"no Ceph connection: {self.services.ceph_error}")
        return self.services.ceph
