"""coordination.k8s.io/v1 Leases: a mutual-exclusion lock with expiry.

``acquire_lease`` takes a free or expired lease and renews our own, but never takes a live lease
from another holder. Every write carries the resourceVersion it was decided on, so two
contenders cannot both win (the loser gets 409 and re-reads). Expiry compares the lease's
renewTime with this machine's clock: holders' clocks must roughly agree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import (
    MERGE_PATCH,
    JsonObject,
    KubeApiError,
    api_path,
    request_json,
)

CONFLICT_ATTEMPTS = 5
LEASES_PATH = "/apis/coordination.k8s.io/v1/namespaces/{}/leases"
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LeaseRecord:
    name: str
    namespace: str
    holder: str | None
    duration_seconds: int
    acquire_time: datetime | None
    renew_time: datetime | None
    transitions: int
    resource_version: str

    def expired(self, now: datetime) -> bool:
        if self.renew_time is None:
            return True
        return self.renew_time + timedelta(seconds=self.duration_seconds) <= now

    def available_to(self, holder: str, now: datetime) -> bool:
        """Free, expired, or already ours."""
        return not self.holder or self.holder == holder or self.expired(now)


def read_lease(api: ApiClient, namespace: str, name: str) -> LeaseRecord | None:
    try:
        obj = request_json(api, "GET", _lease_path(namespace, name))
    except KubeApiError as error:
        if error.not_found:
            return None
        raise
    return lease_record_from_json(obj)


def acquire_lease(
    api: ApiClient,
    namespace: str,
    name: str,
    holder: str,
    *,
    duration_seconds: int,
    clock: Clock = utc_now,
) -> bool:
    """True when ``holder`` holds the lease afterwards (taken, or renewed because it was ours)."""
    for _ in range(CONFLICT_ATTEMPTS):
        current = read_lease(api, namespace, name)
        now = clock()
        if current is None:
            if _create_lease(
                api, namespace, name, holder=holder, duration_seconds=duration_seconds, now=now
            ):
                return True
            continue
        if not current.available_to(holder, now):
            return False
        if _write_spec(api, current, acquired_spec(current, holder, duration_seconds, now)):
            return True
    return False


def renew_lease(
    api: ApiClient,
    namespace: str,
    name: str,
    holder: str,
    *,
    duration_seconds: int | None = None,
    clock: Clock = utc_now,
) -> bool:
    """Extends our lease; False when we do not hold it (lost, released, or never taken)."""
    for _ in range(CONFLICT_ATTEMPTS):
        current = read_lease(api, namespace, name)
        if current is None or current.holder != holder:
            return False
        spec: JsonObject = {"renewTime": format_micro_time(clock())}
        if duration_seconds is not None:
            spec["leaseDurationSeconds"] = duration_seconds
        if _write_spec(api, current, spec):
            return True
    return False


def release_lease(api: ApiClient, namespace: str, name: str, holder: str) -> bool:
    """Frees the lease if ``holder`` holds it; False when someone else (or no one) holds it."""
    for _ in range(CONFLICT_ATTEMPTS):
        current = read_lease(api, namespace, name)
        if current is None or current.holder != holder:
            return False
        if _write_spec(api, current, {"holderIdentity": None}):
            return True
    return False


def acquired_spec(
    current: LeaseRecord, holder: str, duration_seconds: int, now: datetime
) -> JsonObject:
    """The spec fields to write when ``holder`` takes (or renews) ``current``."""
    stamp = format_micro_time(now)
    spec: JsonObject = {
        "holderIdentity": holder,
        "leaseDurationSeconds": duration_seconds,
        "renewTime": stamp,
    }
    if current.holder != holder:
        spec["acquireTime"] = stamp
        spec["leaseTransitions"] = current.transitions + 1  # as client-go counts them
    return spec


def lease_record_from_json(obj: JsonObject) -> LeaseRecord:
    metadata: JsonObject = obj.get("metadata") or {}
    spec: JsonObject = obj.get("spec") or {}
    return LeaseRecord(
        name=str(metadata.get("name", "")),
        namespace=str(metadata.get("namespace", "")),
        holder=spec.get("holderIdentity") or None,
        duration_seconds=int(spec.get("leaseDurationSeconds") or 0),
        acquire_time=parse_micro_time(spec.get("acquireTime")),
        renew_time=parse_micro_time(spec.get("renewTime")),
        transitions=int(spec.get("leaseTransitions") or 0),
        resource_version=str(metadata.get("resourceVersion", "")),
    )


def format_micro_time(moment: datetime) -> str:
    """MicroTime as the API server expects it: RFC 3339 with exactly six fraction digits."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro_time(value: object) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value))


def _create_lease(
    api: ApiClient, namespace: str, name: str, *, holder: str, duration_seconds: int, now: datetime
) -> bool:
    """Creates the lease held by ``holder``; False when someone created it first."""
    stamp = format_micro_time(now)
    body: JsonObject = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": duration_seconds,
            "acquireTime": stamp,
            "renewTime": stamp,
            "leaseTransitions": 0,
        },
    }
    try:
        request_json(api, "POST", api_path(LEASES_PATH, namespace), body=body)
    except KubeApiError as error:
        if error.conflict:
            return False
        raise
    return True


def _write_spec(api: ApiClient, current: LeaseRecord, spec: JsonObject) -> bool:
    """Patches spec fields if the lease is unchanged since read; False on a 409 conflict."""
    patch = {"metadata": {"resourceVersion": current.resource_version}, "spec": spec}
    try:
        request_json(
            api,
            "PATCH",
            _lease_path(current.namespace, current.name),
            body=patch,
            content_type=MERGE_PATCH,
        )
    except KubeApiError as error:
        if error.conflict:
            return False
        raise
    return True


def _lease_path(namespace: str, name: str) -> str:
    return api_path(LEASES_PATH + "/{}", namespace, name)
