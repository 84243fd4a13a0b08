"""One drain for every feature (Maintenance and the HealthPolicy ``drain`` step), by kubectl
drain's rules: which pods it evicts, deletes, waits for, skips, and which block it; its options
and how they are read; how long to wait after a round a budget blocked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from caretaker.domain.common.labels import matches_labels
from caretaker.domain.common.validation import SpecReader

# kubectl drain retries an eviction a budget refused after 5 s; so do we, at least.
BLOCKED_RETRY = timedelta(seconds=5)


@dataclass(frozen=True)
class DrainSpec:
    enabled: bool = True
    timeout: timedelta = timedelta(minutes=15)
    grace_period_seconds: int | None = None
    ignore_daemonsets: bool = True
    delete_emptydir_data: bool = False
    force: bool = False
    pod_selector: Mapping[str, str] | None = None
    # a pod still Terminating this long after its deletion (its kubelet is gone) is not waited
    # for any more, like kubectl's --skip-wait-for-delete-timeout
    skip_wait_for_delete_timeout: timedelta = timedelta(minutes=5)


@dataclass(frozen=True)
class PodView:
    namespace: str
    name: str
    controller_kind: str | None  # None: no controller (a bare pod)
    is_mirror: bool = False
    has_emptydir: bool = False
    terminating: bool = False
    labels: Mapping[str, str] = field(default_factory=dict)
    finished: bool = False  # phase Succeeded or Failed: deleted, never waited for
    deleting_since: datetime | None = None  # the pod's deletionTimestamp

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.name}"


DRAIN_KEYS = {
    "timeout",
    "gracePeriodSeconds",
    "ignoreDaemonSets",
    "deleteEmptyDirData",
    "force",
    "podSelector",
    "skipWaitForDeleteTimeout",
}


def read_drain_options(
    r: SpecReader, raw: Mapping[str, Any], path: str, *, switchable: bool = False
) -> DrainSpec:
    """The drain options at ``path`` (and ``enabled`` when ``switchable``); errors go to ``r``."""
    r.unknown_keys(raw, DRAIN_KEYS | ({"enabled"} if switchable else set()), path)
    default = DrainSpec()
    skip = r.duration(raw, "skipWaitForDeleteTimeout", path, default.skip_wait_for_delete_timeout)
    spec = DrainSpec(
        enabled=r.boolean(raw, "enabled", path, True) if switchable else True,
        timeout=r.duration(raw, "timeout", path, default.timeout) or default.timeout,
        grace_period_seconds=r.integer(raw, "gracePeriodSeconds", path, None, 0),
        ignore_daemonsets=r.boolean(raw, "ignoreDaemonSets", path, True),
        delete_emptydir_data=r.boolean(raw, "deleteEmptyDirData", path, False),
        force=r.boolean(raw, "force", path, False),
        pod_selector=r.labels(raw, "podSelector", path),
        skip_wait_for_delete_timeout=skip if skip is not None else timedelta(0),
    )
    if spec.grace_period_seconds == 0 and not spec.force:
        r.fail(
            f"{path}.gracePeriodSeconds",
            "0 kills pods without letting them stop cleanly; set force: true to mean it",
        )
    return spec


@dataclass(frozen=True)
class DrainPlan:
    evict: tuple[PodView, ...]  # evictable and not yet terminating
    terminating: tuple[PodView, ...]  # eviction accepted, pod still going away
    blocking: tuple[tuple[PodView, str], ...]  # pods the drain options forbid to evict, with why
    delete: tuple[PodView, ...] = ()  # finished pods: deleted, not evicted, never waited for
    stuck: tuple[PodView, ...] = ()  # Terminating past skipWaitForDeleteTimeout: not waited for

    @property
    def done(self) -> bool:
        return not (self.evict or self.terminating or self.blocking or self.delete)

    @property
    def pending(self) -> int:
        return len(self.evict) + len(self.terminating) + len(self.blocking)


def plan_drain(pods: Iterable[PodView], spec: DrainSpec, now: datetime) -> DrainPlan:
    """Sorts the pods on a node into evict / delete / terminating / stuck / blocking."""
    evict: list[PodView] = []
    delete: list[PodView] = []
    terminating: list[PodView] = []
    stuck: list[PodView] = []
    blocking: list[tuple[PodView, str]] = []
    skip_after = spec.skip_wait_for_delete_timeout
    for pod in sorted(pods, key=lambda p: p.ref):
        if pod.is_mirror or not matches_labels(pod.labels, spec.pod_selector):
            continue
        if pod.controller_kind == "DaemonSet":
            if spec.ignore_daemonsets:
                continue
            blocking.append((pod, "managed by a DaemonSet (set drain.ignoreDaemonSets)"))
            continue
        if pod.terminating:
            since = pod.deleting_since
            gone = skip_after and since is not None and now - since > skip_after
            (stuck if gone else terminating).append(pod)
        elif pod.finished:
            delete.append(pod)
        elif pod.controller_kind is None and not spec.force:
            blocking.append((pod, "has no controller and would be lost (set drain.force)"))
        elif pod.has_emptydir and not spec.delete_emptydir_data:
            blocking.append((pod, "uses emptyDir data (set drain.deleteEmptyDirData)"))
        else:
            evict.append(pod)
    return DrainPlan(tuple(evict), tuple(terminating), tuple(blocking), tuple(delete), tuple(stuck))


def describe_drain(plan: DrainPlan, limit: int = 3) -> str:
    """A one-line account of what still keeps a drain from finishing."""
    parts: list[str] = []
    if plan.blocking:
        shown = "; ".join(f"{p.ref} {why}" for p, why in plan.blocking[:limit])
        parts.append(f"{len(plan.blocking)} pod(s) cannot be evicted: {shown}")
    if plan.evict:
        parts.append(f"{len(plan.evict)} pod(s) to evict")
    if plan.delete:
        parts.append(f"{len(plan.delete)} finished pod(s) to delete")
    if plan.terminating:
        parts.append(f"{len(plan.terminating)} pod(s) terminating")
    if plan.stuck:
        parts.append(f"{len(plan.stuck)} pod(s) stuck terminating, not waited for")
    return ", ".join(parts) if parts else "no pods left"
