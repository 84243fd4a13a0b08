"""Drain planning: kubectl drain's rules for which pods are evicted, skipped or blocking."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import pytest

from caretaker.domain.common.validation import SpecReader
from caretaker.domain.drain.rules import (
    DrainPlan,
    DrainSpec,
    PodView,
    describe_drain,
    plan_drain,
    read_drain_options,
)

NOW = datetime(2026, 12, 1, 22, 0, tzinfo=UTC)


def plan_at(pods: Iterable[PodView], spec: DrainSpec, now: datetime = NOW) -> DrainPlan:
    return plan_drain(pods, spec, now)


def pod(name: str, kind: str | None = "ReplicaSet", **extra: object) -> PodView:
    return PodView("ns", name, kind, **extra)  # type: ignore[arg-type]


def refs(pods: tuple[PodView, ...]) -> list[str]:
    return [p.ref for p in pods]


def blocking(plan: DrainPlan) -> dict[str, str]:
    return {p.ref: why for p, why in plan.blocking}


def test_controlled_pods_are_evicted_in_a_stable_order() -> None:
    plan = plan_at([pod("web-2"), pod("web-1"), pod("db-0", "StatefulSet")], DrainSpec())
    assert refs(plan.evict) == ["ns/db-0", "ns/web-1", "ns/web-2"]
    assert plan.terminating == ()
    assert plan.blocking == ()
    assert plan.pending == 3
    assert not plan.done


def test_mirror_pods_are_skipped_even_without_controller() -> None:
    plan = plan_at([pod("kube-apiserver-a", None, is_mirror=True)], DrainSpec())
    assert plan.done
    assert plan.pending == 0


@pytest.mark.parametrize("terminating", [False, True])
def test_daemonset_pods_are_skipped_when_ignored(terminating: bool) -> None:
    plan = plan_at([pod("ceph-osd-x", "DaemonSet", terminating=terminating)], DrainSpec())
    assert plan.done


def test_daemonset_pods_block_when_not_ignored() -> None:
    plan = plan_at([pod("node-exporter", "DaemonSet")], DrainSpec(ignore_daemonsets=False))
    assert refs(plan.evict) == []
    reasons = blocking(plan)
    assert list(reasons) == ["ns/node-exporter"]
    assert "ignoreDaemonSets" in reasons["ns/node-exporter"]


def test_bare_pods_block_unless_force() -> None:
    bare = pod("debug", None)
    plan = plan_at([bare], DrainSpec())
    assert "drain.force" in blocking(plan)["ns/debug"]
    assert plan.evict == ()
    forced = plan_at([bare], DrainSpec(force=True))
    assert refs(forced.evict) == ["ns/debug"]
    assert forced.blocking == ()


def test_emptydir_blocks_unless_delete_emptydir_data() -> None:
    cache = pod("cache", has_emptydir=True)
    plan = plan_at([cache], DrainSpec())
    assert "deleteEmptyDirData" in blocking(plan)["ns/cache"]
    allowed = plan_at([cache], DrainSpec(delete_emptydir_data=True))
    assert refs(allowed.evict) == ["ns/cache"]


def test_bare_pod_with_emptydir_needs_both_options() -> None:
    scratch = pod("scratch", None, has_emptydir=True)
    assert blocking(plan_at([scratch], DrainSpec(force=True)))
    assert blocking(plan_at([scratch], DrainSpec(delete_emptydir_data=True)))
    both = plan_at([scratch], DrainSpec(force=True, delete_emptydir_data=True))
    assert refs(both.evict) == ["ns/scratch"]


def test_terminating_pods_are_counted_not_evicted_again() -> None:
    plan = plan_at(
        [pod("web-1", terminating=True), pod("bare", None, terminating=True), pod("web-2")],
        DrainSpec(),
    )
    assert refs(plan.terminating) == ["ns/bare", "ns/web-1"]
    assert refs(plan.evict) == ["ns/web-2"]
    assert plan.blocking == ()
    assert plan.pending == 3


def test_only_terminating_pods_left_is_not_done() -> None:
    plan = plan_at([pod("web-1", terminating=True)], DrainSpec())
    assert not plan.done
    assert plan.pending == 1


def test_pod_selector_filters_every_kind_of_pod() -> None:
    spec = DrainSpec(pod_selector={"tier": "db"}, ignore_daemonsets=False)
    pods = [
        pod("db-0", "StatefulSet", labels={"tier": "db", "x": "y"}),
        pod("web-1", labels={"tier": "web"}),
        pod("bare", None),  # no labels: not selected, so not blocking either
        pod("ds", "DaemonSet", labels={"tier": "web"}),
    ]
    plan = plan_at(pods, spec)
    assert refs(plan.evict) == ["ns/db-0"]
    assert plan.blocking == ()
    assert plan.pending == 1


def test_pod_selector_needs_every_label() -> None:
    spec = DrainSpec(pod_selector={"tier": "db", "env": "prod"})
    plan = plan_at([pod("a", labels={"tier": "db"}), pod("b", labels=spec.pod_selector)], spec)
    assert refs(plan.evict) == ["ns/b"]


def test_empty_node_is_done() -> None:
    plan = plan_at([], DrainSpec())
    assert plan.done
    assert describe_drain(plan) == "no pods left"


def test_describe_names_blockers_first_and_counts_the_rest() -> None:
    pods = [pod(f"bare-{i}", None) for i in range(5)] + [
        pod("web", "ReplicaSet"),
        pod("old", terminating=True),
    ]
    text = describe_drain(plan_at(pods, DrainSpec()), limit=2)
    assert text.startswith("5 pod(s) cannot be evicted: ns/bare-0 ")
    assert "ns/bare-1" in text
    assert "ns/bare-2" not in text
    assert "1 pod(s) to evict" in text
    assert "1 pod(s) terminating" in text


def test_finished_pods_are_deleted_not_waited_for() -> None:
    done = pod("job-1", "Job", finished=True)
    plan = plan_at([done, pod("web-1")], DrainSpec())
    assert refs(plan.delete) == ["ns/job-1"]
    assert refs(plan.evict) == ["ns/web-1"]
    bare_done = pod("oneshot", None, finished=True)  # a finished bare pod loses nothing
    assert refs(plan_at([bare_done], DrainSpec()).delete) == ["ns/oneshot"]
    assert "1 finished pod(s) to delete" in describe_drain(plan)


def test_a_pod_stuck_terminating_is_not_waited_for_after_the_timeout() -> None:
    spec = DrainSpec(skip_wait_for_delete_timeout=timedelta(minutes=5))
    young = pod("web-1", terminating=True, deleting_since=NOW - timedelta(minutes=4))
    old = pod("web-2", terminating=True, deleting_since=NOW - timedelta(minutes=6))
    plan = plan_at([young, old], spec)
    assert (refs(plan.terminating), refs(plan.stuck)) == (["ns/web-1"], ["ns/web-2"])
    assert not plan_at([old], spec).pending
    assert plan_at([old], spec).done
    never = DrainSpec(skip_wait_for_delete_timeout=timedelta(0))
    assert refs(plan_at([old], never).terminating) == ["ns/web-2"]


def test_a_zero_grace_period_needs_force() -> None:
    r = SpecReader()
    read_drain_options(r, {"gracePeriodSeconds": 0}, "spec.drain")
    assert [e.path for e in r.errors] == ["spec.drain.gracePeriodSeconds"]
    assert "set force: true" in r.errors[0].message
    r = SpecReader()
    options = read_drain_options(r, {"gracePeriodSeconds": 0, "force": True}, "spec.drain")
    assert (r.errors, options.grace_period_seconds) == ([], 0)
