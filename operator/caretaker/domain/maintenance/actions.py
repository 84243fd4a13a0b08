"""The one thing the executor should do in this reconcile. Pure data; the executor does the I/O."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caretaker.domain.maintenance.hook_record import HookRecord


@dataclass(frozen=True)
class AcquireLease:
    node: str


@dataclass(frozen=True)
class ReleaseLease:
    node: str


@dataclass(frozen=True)
class ClaimDomain:
    """Enter the node in the cluster-wide disruption ledger (compare-and-swap, admitted only
    while no other failure domain is claimed)."""

    node: str
    domain: str
    osds: tuple[int, ...]


@dataclass(frozen=True)
class ReleaseClaim:
    node: str


@dataclass(frozen=True)
class SetNoout:
    node: str
    osds: tuple[int, ...] = ()
    bucket: str = ""


@dataclass(frozen=True)
class UnsetNoout:
    node: str
    osds: tuple[int, ...] = ()
    bucket: str = ""


@dataclass(frozen=True)
class Cordon:
    node: str


@dataclass(frozen=True)
class Uncordon:
    node: str


@dataclass(frozen=True)
class EvictPods:
    node: str
    pods: tuple[tuple[str, str], ...]  # (namespace, name)
    grace_period_seconds: int | None
    finished: tuple[tuple[str, str], ...] = ()  # pods that ended: deleted, not evicted


@dataclass(frozen=True)
class RunHttpHook:
    """Send one hook's HTTP request (retried by the client) and record the answer in ``record``.
    ``node`` is "" for the Maintenance stages."""

    node: str
    record: HookRecord  # to settle with the answer (Running, this attempt counted)
    url: str
    url_secret: tuple[str, str] | None  # (Secret name, key) holding the URL, or None
    method: str
    headers: tuple[tuple[str, str], ...]
    body: Mapping[str, Any]
    idempotency_key: str
    timeout_seconds: float
    retries: int
    ticket_field: str


@dataclass(frozen=True)
class CreateHookJob:
    """Create the hook's Job (an existing one of that name is fine: it is ours)."""

    node: str
    record: HookRecord  # Running, with the Job's name
    manifest: Mapping[str, Any]  # the Job, without its ownerReference (the executor adds it)


Action = (
    AcquireLease
    | ReleaseLease
    | ClaimDomain
    | ReleaseClaim
    | SetNoout
    | UnsetNoout
    | Cordon
    | Uncordon
    | EvictPods
    | RunHttpHook
    | CreateHookJob
)
