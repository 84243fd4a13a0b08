"""Everything the Maintenance executor reads and changes, as one Protocol of small calls: the
snapshot, node Leases, the disruption ledger, cordons, noout, one eviction round, the status
and the Events. ``KubeMaintenancePorts`` is the real one, built by the kopf wiring from the
Services; the unit tests drive the same executor against a fake cluster."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.hooks.http import HookAnswer, call_hook
from caretaker.clients.kube.jobs import create_job
from caretaker.clients.kube.lease import acquire_lease, release_lease, renew_lease
from caretaker.clients.kube.node_holders import patch_node_conditions
from caretaker.clients.kube.nodes import cordon_for, uncordon_for
from caretaker.clients.kube.secrets import read_secret_value
from caretaker.clients.notify.alertmanager import AlertmanagerClient
from caretaker.clients.notify.silences import Matcher, Silence
from caretaker.clients.notify.wire import RetryPolicy
from caretaker.domain.common.node_holders import NodeCondition
from caretaker.domain.common.receivers import Receiver
from caretaker.domain.maintenance.actions import RunHttpHook
from caretaker.domain.maintenance.notify_record import Dispatch
from caretaker.domain.maintenance.silence_spec import AlertmanagerRef
from caretaker.domain.maintenance.world import World
from caretaker.handlers.disruption.ports import ClaimLedger
from caretaker.handlers.drain.round import DrainRound, PodRef, drain_round
from caretaker.handlers.maintenance.notify_send import SentHere, policy_receivers, send_to
from caretaker.handlers.maintenance.snapshot import build_world, lease_name
from caretaker.handlers.ports import KubeExecutorPorts, ObjectWrites
from caretaker.handlers.services import Services


@dataclass(frozen=True)
class SilenceDraft:
    """A silence to create or update in Alertmanager."""

    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str


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

    def live_silences(self, am: AlertmanagerRef) -> tuple[Silence, ...]:
        """The silences of that Alertmanager that are active or pending."""
        ...

    def put_silence(self, am: AlertmanagerRef, silence_id: str | None, draft: SilenceDraft) -> str:
        """Creates a silence, or updates ``silence_id``; returns the ID Alertmanager answers."""
        ...

    def expire_silence(self, am: AlertmanagerRef, silence_id: str) -> None: ...

    def patch_node_conditions(
        self, node: str, put: tuple[NodeCondition, ...], remove: tuple[str, ...]
    ) -> None:
        """Sets ``put`` and deletes the condition types ``remove`` in the node's status."""
        ...

    def call_http_hook(self, namespace: str, hook: RunHttpHook) -> HookAnswer:
        """Sends the hook's request (retried); ``DeliveryFailed`` when it did not succeed."""
        ...

    def create_hook_job(self, namespace: str, manifest: Mapping[str, Any]) -> bool:
        """Creates a hook's Job; False when it exists already."""

    def policy_receivers(self, namespace: str, health_policy: str) -> tuple[Receiver, ...]:
        """A HealthPolicy's receivers; ``LookupError`` saying why when it has none."""
        ...

    def send_notification(self, receiver: Receiver, dispatch: Dispatch) -> None:
        """Raises ``DeliveryFailed``, ``SecretUnavailable`` or ``ValueError`` when not sent."""
        ...

    @property
    def sent_here(self) -> SentHere:
        """What this process delivered (kept as long as the ports object)."""
        ...


# A reconcile must not wait long for Alertmanager: one retry, a few seconds in all.
SILENCE_RETRY = RetryPolicy(max_attempts=2, max_total_seconds=4.0, initial_backoff=0.3)
SILENCE_TIMEOUT = 4.0


class KubeMaintenancePorts(KubeExecutorPorts):
    """The real cluster: Kubernetes through ``services.kube``, Ceph through ``services.ceph``."""

    def __init__(self, services: Services) -> None:
        super().__init__(services)
        self._sent_here = SentHere()  # one ports object per Maintenance loop

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

    def live_silences(self, am: AlertmanagerRef) -> tuple[Silence, ...]:
        return tuple(s for s in self._alertmanager(am).list_silences() if s.state != "expired")

    def put_silence(self, am: AlertmanagerRef, silence_id: str | None, draft: SilenceDraft) -> str:
        return self._alertmanager(am).create_silence(
            draft.matchers,
            draft.starts_at,
            draft.ends_at,
            draft.created_by,
            draft.comment,
            silence_id=silence_id,
        )

    def expire_silence(self, am: AlertmanagerRef, silence_id: str) -> None:
        self._alertmanager(am).expire_silence(silence_id)

    def patch_node_conditions(
        self, node: str, put: tuple[NodeCondition, ...], remove: tuple[str, ...]
    ) -> None:
        docs = [
            {"type": c.type, "status": c.status, "reason": c.reason, "message": c.message}
            for c in put
        ]
        patch_node_conditions(self.kube, node, docs, remove)

    def call_http_hook(self, namespace: str, hook: RunHttpHook) -> HookAnswer:
        url = hook.url
        if hook.url_secret is not None:  # read each time: a rotated URL is used at once
            secret, key = hook.url_secret
            url = read_secret_value(self.kube, namespace, secret, key).reveal()
        return call_hook(
            url,
            name=hook.record.name,
            method=hook.method,
            headers=dict(hook.headers),
            body=hook.body,
            idempotency_key=hook.idempotency_key,
            timeout=hook.timeout_seconds,
            retries=hook.retries,
        )

    def create_hook_job(self, namespace: str, manifest: Mapping[str, Any]) -> bool:
        return create_job(self.kube, namespace, manifest)

    def policy_receivers(self, namespace: str, health_policy: str) -> tuple[Receiver, ...]:
        return policy_receivers(self.kube, namespace, health_policy)

    def send_notification(self, receiver: Receiver, dispatch: Dispatch) -> None:
        send_to(self.kube, self.services.settings.pagerduty_events_url, receiver, dispatch)

    @property
    def sent_here(self) -> SentHere:
        return self._sent_here

    def _alertmanager(self, am: AlertmanagerRef) -> AlertmanagerClient:
        """A client for one round's calls; the token is read from its Secret each time (get
        only: a rotated token is used at once)."""
        token = None
        if am.token_secret:
            token = read_secret_value(self.kube, am.namespace, am.token_secret, am.token_key)
        return AlertmanagerClient(
            am.url, bearer_token=token, timeout=SILENCE_TIMEOUT, retry=SILENCE_RETRY
        )

    def _ceph(self) -> CephClient:
        if self.services.ceph is None:
            raise RuntimeError(f"no Ceph connection: {self.services.ceph_error}")
        return self.services.ceph
