"""The one thing the executor should do in this reconcile. Pure data; the executor does the I/O."""

from __future__ import annotations

from dataclasses import dataclass


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
)
