"""Targets from series labels, which actions can act on them, and verification readings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.health.actions import (
    Action,
    Cordon,
    Drain,
    Flag,
    LadderStep,
    MarkIn,
    MarkOut,
    Notify,
    PgRepair,
    RestartOsd,
    SetFlag,
    Severity,
    Taint,
    TaintEffect,
    UnsetFlag,
    VerifyCondition,
    Webhook,
    describe,
    is_disruptive,
    target_problem,
)
from caretaker.domain.health.rule import by_target
from caretaker.domain.health.safety import Budget
from caretaker.domain.health.spec import RuleSpec
from caretaker.domain.health.targets import (
    Target,
    TargetKind,
    TargetMapping,
    series_name,
    target_from_key,
    target_of,
)
from caretaker.domain.health.verify import verification_state
from caretaker.domain.health.world import CephReadings, MaintenanceCover
from caretaker.domain.promql.outcome import Sample

OSD = TargetMapping(TargetKind.OSD, "ceph_daemon", "hostname")


@pytest.mark.parametrize(
    ("labels", "mapping", "expected"),
    [
        ({"ceph_daemon": "osd.3", "hostname": "n1"}, OSD, Target(TargetKind.OSD, "osd.3", "n1")),
        ({"ceph_daemon": "12"}, OSD, Target(TargetKind.OSD, "osd.12")),
        ({"ceph_daemon": "mgr.x"}, OSD, Target(TargetKind.SERIES, '{ceph_daemon="mgr.x"}')),
        ({"instance": "a"}, OSD, Target(TargetKind.SERIES, '{instance="a"}')),
        (
            {"name": "rbd", "pool_id": "1"},
            TargetMapping(TargetKind.POOL, "name"),
            Target(TargetKind.POOL, "rbd"),
        ),
        (
            {"hostname": "n1"},
            TargetMapping(TargetKind.HOST, "hostname"),
            Target(TargetKind.HOST, "n1"),
        ),
        ({"instance": "a"}, TargetMapping(TargetKind.CLUSTER), Target(TargetKind.CLUSTER, "ceph")),
        ({"__name__": "up", "job": "x"}, TargetMapping(), Target(TargetKind.SERIES, '{job="x"}')),
    ],
)
def test_target_of(labels: dict[str, str], mapping: TargetMapping, expected: Target) -> None:
    assert target_of(labels, mapping) == expected


label_sets = st.dictionaries(
    st.sampled_from(["ceph_daemon", "hostname", "instance", "name", "job"]),
    st.sampled_from(["osd.1", "osd.2", "2", "n1", "rbd", "", "mgr.a"]),
    max_size=4,
)
mappings = st.sampled_from(
    [
        OSD,
        TargetMapping(),
        TargetMapping(TargetKind.POOL, "name"),
        TargetMapping(TargetKind.CLUSTER),
    ]
)


@given(label_sets, mappings)
def test_target_key_round_trip(labels: dict[str, str], mapping: TargetMapping) -> None:
    target = target_of(labels, mapping)
    assert target_from_key(target.key, target.node) == target
    if target.kind is TargetKind.OSD:
        assert target.osd_id is not None
        assert target.name == f"osd.{target.osd_id}"


@given(st.lists(st.tuples(label_sets, st.floats(allow_nan=True)), max_size=20), mappings)
def test_one_sample_per_target(
    series: list[tuple[dict[str, str], float]], mapping: TargetMapping
) -> None:
    rule = RuleSpec("r", "x", timedelta(0), Severity.ROUTINE, mapping, ())
    samples = [Sample(labels, value) for labels, value in series]
    chosen = by_target(samples, rule)
    assert set(chosen) == {target_of(s.labels, mapping).key for s in samples}
    assert by_target(list(reversed(samples)), rule).keys() == chosen.keys()


def test_series_name_ignores_metric_name_and_order() -> None:
    assert series_name({"b": "2", "__name__": "x", "a": "1"}) == '{a="1",b="2"}'


def test_disruptive_actions() -> None:
    calm: list[Action] = [Notify(), Webhook("http://a")]
    rough: list[Action] = [
        RestartOsd(),
        MarkOut(),
        MarkIn(),
        SetFlag(Flag.NOOUT),
        UnsetFlag(Flag.NOOUT),
        PgRepair(),
        Cordon(),
        Drain(),
        Taint("k", TaintEffect.NO_SCHEDULE),
        Webhook("http://a", disruptive=True),
    ]
    assert [is_disruptive(a) for a in calm] == [False, False]
    assert all(is_disruptive(a) for a in rough)


def test_describe() -> None:
    assert describe(SetFlag(Flag.NODEEP_SCRUB)) == "setFlag nodeep-scrub"
    assert describe(Taint("k", TaintEffect.NO_EXECUTE, "v")) == "taint k=v:NoExecute"
    assert describe(Notify(("oncall",), Severity.CRITICAL)) == "notify oncall, route critical"
    assert describe(Notify()) == "notify"


def test_target_problems() -> None:
    series = Target(TargetKind.SERIES, "{}")
    osd_without_node = Target(TargetKind.OSD, "osd.1")
    assert "needs an OSD" in target_problem(RestartOsd(), series)
    assert target_problem(RestartOsd(), osd_without_node) == ""
    assert "needs a node" in target_problem(Cordon(), osd_without_node)
    assert target_problem(Cordon(), Target(TargetKind.OSD, "osd.1", "n1")) == ""
    assert target_problem(Drain(), Target(TargetKind.HOST, "n1")) == ""
    assert "pool or PG" in target_problem(PgRepair(), osd_without_node)
    assert target_problem(Notify(), series) == ""


def readings(**changes: Any) -> CephReadings:
    base = CephReadings(
        health="HEALTH_WARN",
        osds_total=3,
        osds_up=2,
        quorum=("a",),
        osd_up={1: True, 2: False},
        osd_in={1: True, 2: False},
    )
    return replace(base, **changes)


@pytest.mark.parametrize(
    ("condition", "osd", "present", "expected"),
    [
        (VerifyCondition.OSD_UP, 1, True, True),
        (VerifyCondition.OSD_UP, 2, True, False),
        (VerifyCondition.OSD_UP, 9, True, None),  # Ceph does not list it
        (VerifyCondition.OSD_IN, 1, True, True),
        (VerifyCondition.OSD_OUT, 2, True, True),
        (VerifyCondition.OSD_OUT, 1, True, False),
        (VerifyCondition.RESOLVED, 1, True, False),
        (VerifyCondition.RESOLVED, 1, False, True),
    ],
)
def test_verification_state(
    condition: VerifyCondition, osd: int, present: bool, expected: bool | None
) -> None:
    target = Target(TargetKind.OSD, f"osd.{osd}")
    assert verification_state(condition, target, readings(), present) is expected


def test_verification_without_readings_cannot_be_told() -> None:
    target = Target(TargetKind.OSD, "osd.1")
    assert verification_state(VerifyCondition.OSD_UP, target, None, True) is None
    pool = Target(TargetKind.POOL, "rbd")
    assert verification_state(VerifyCondition.OSD_UP, pool, readings(), True) is None


def test_maintenance_cover() -> None:
    cover = MaintenanceCover(nodes={"n1": "ceph/a"}, osds={7: "ceph/b"})
    assert cover.covering(Target(TargetKind.OSD, "osd.1", "n1")) == "ceph/a"
    assert cover.covering(Target(TargetKind.OSD, "osd.7", "n2")) == "ceph/b"
    assert cover.covering(Target(TargetKind.HOST, "n1")) == "ceph/a"
    assert cover.covering(Target(TargetKind.POOL, "rbd")) == ""


def test_budget_counts_disruptive_steps_and_osds_out() -> None:
    budget = Budget(frozenset({"a"}), osds_out=1)
    after = budget.after(LadderStep(timedelta(0), MarkOut()), "osd/osd.1", "b")
    assert (after.disruptive_in_flight, after.osds_out) == (2, 2)
    assert ("markOut", "osd/osd.1") in after.planned
    calm = budget.after(LadderStep(timedelta(0), Notify()), "osd/osd.1", "c")
    assert calm.disruptive_in_flight == 1
