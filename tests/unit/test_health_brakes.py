"""Deliberate brakes: markOut is held by noout (OSD, CRUSH bucket, device class, cluster), paused
data movement, Ceph's own down-out limits and an estimated nearfull; setFlag and unsetFlag touch
only Caretaker's own flags (the records say which)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from health_fleet import T0, Fleet, policy
from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.health.brakes import (
    CrushBucket,
    OsdSpace,
    OutBrakes,
    fill_after_out,
    out_brake,
)
from caretaker.domain.health.ledger import flag_set_by_caretaker
from caretaker.domain.health.reasons import HoldReason
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.status import Result
from caretaker.domain.promql.outcome import QueryOk, Sample

GIB = 1 << 30
ROOT = CrushBucket("default", "root", 11, frozenset(range(6)))
RACKS = [CrushBucket(f"rack{r}", "rack", 3, frozenset({2 * r, 2 * r + 1})) for r in range(3)]
HOSTS = [CrushBucket(f"host{i}", "host", 1, frozenset({i})) for i in range(6)]


def brakes(**changes: object) -> OutBrakes:
    """Six OSDs, one per host, two hosts per rack; all up and in, 10 of 100 GiB used."""
    base = OutBrakes(
        osd_flags={i: frozenset({"exists", "up"}) for i in range(6)},
        osd_up=dict.fromkeys(range(6), True),
        osd_in=dict.fromkeys(range(6), True),
        ancestors={i: (HOSTS[i], RACKS[i // 2], ROOT) for i in range(6)},
        device_class=dict.fromkeys(range(6), "hdd"),
        space={i: OsdSpace(100 * GIB, 10 * GIB) for i in range(6)},
        min_in_ratio=0.75,
        subtree_limit="rack",
        subtree_limit_id=3,
        nearfull_ratio=0.85,
    )
    return replace(base, **changes)


def test_nothing_holds_a_healthy_cluster() -> None:
    assert out_brake(0, brakes()) is None


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"osd_flags": {0: frozenset({"exists", "up", "noout"})}}, "on osd.0 (ceph osd add-noout)"),
        ({"bucket_flags": {"host0": frozenset({"noout"})}}, "on its CRUSH host host0"),
        ({"bucket_flags": {"rack0": frozenset({"noout"})}}, "on its CRUSH rack rack0"),
        ({"bucket_flags": {"default": frozenset({"noout"})}}, "on its CRUSH root default"),
        ({"class_flags": {"hdd": frozenset({"noout"})}}, "on its device class hdd"),
        ({"cluster_flags": frozenset({"noout"})}, "on the cluster (ceph osd set noout)"),
    ],
)
def test_noout_anywhere_above_the_osd_holds_mark_out(
    changes: dict[str, object], where: str
) -> None:
    brake = out_brake(0, brakes(**changes))
    assert brake is not None
    assert brake.reason == HoldReason.NOOUT
    assert brake.message.startswith(f"noout is set {where}")
    assert "Caretaker does not mark it out until the flag is lifted" in brake.message


def test_noout_on_another_bucket_or_class_does_not_hold() -> None:
    other = brakes(
        bucket_flags={"host1": frozenset({"noout"}), "rack1": frozenset({"noout"})},
        class_flags={"ssd": frozenset({"noout"})},
        osd_flags={1: frozenset({"noout"})},
    )
    assert out_brake(0, other) is None


def test_paused_data_movement_holds_mark_out() -> None:
    brake = out_brake(0, brakes(cluster_flags=frozenset({"nobackfill", "norecover", "noscrub"})))
    assert brake is not None
    assert brake.reason == HoldReason.DATA_MOVEMENT_PAUSED
    assert brake.message.startswith("nobackfill, norecover set on the cluster")


def test_min_in_ratio_is_cephs_own_rule_counting_planned_outs() -> None:
    # Ceph marks out while the in ratio *before* the change is at least the minimum
    two_out = brakes(osd_in={**dict.fromkeys(range(6), True), 4: False, 5: False})
    brake = out_brake(0, two_out)  # 4/6 = 0.67 < 0.75
    assert brake is not None
    assert brake.reason == HoldReason.MIN_IN_RATIO
    assert brake.message.startswith("4/6 OSDs in (0.67), below mon_osd_min_in_ratio 0.75")
    one_out = brakes(osd_in={**dict.fromkeys(range(6), True), 5: False})
    assert out_brake(0, one_out) is None  # 5/6
    held = out_brake(0, one_out, planned_out=1)  # another markOut planned in this evaluation
    assert held is not None
    assert held.reason == HoldReason.MIN_IN_RATIO


def test_a_whole_rack_down_is_not_marked_out() -> None:
    rack_down = brakes(osd_up={**dict.fromkeys(range(6), True), 0: False, 1: False})
    brake = out_brake(0, rack_down)
    assert brake is not None
    assert brake.reason == HoldReason.DOWN_OUT_SUBTREE_LIMIT
    assert brake.message.startswith("every OSD of rack rack0 is down")
    one_down = brakes(osd_up={**dict.fromkeys(range(6), True), 0: False})
    assert out_brake(0, one_down) is None
    host_limit = replace(one_down, subtree_limit="host", subtree_limit_id=1)
    held = out_brake(0, host_limit)
    assert held is not None
    assert "every OSD of host host0 is down" in held.message
    no_such_type = replace(rack_down, subtree_limit="pod", subtree_limit_id=None)
    assert out_brake(0, no_such_type) is None


def test_nearfull_estimate_and_hold() -> None:
    estimate = fill_after_out(0, brakes())
    assert estimate is not None
    # 10 GiB onto five OSDs of 100 GiB: each gets 2 GiB, 10% -> 12%
    assert (estimate.moved, estimate.receivers, estimate.guessed) == (10 * GIB, 5, False)
    assert estimate.before == pytest.approx(0.10)
    assert estimate.after == pytest.approx(0.12)
    full = {
        **{i: OsdSpace(100 * GIB, 70 * GIB) for i in range(6)},
        3: OsdSpace(100 * GIB, 84 * GIB),
    }
    brake = out_brake(0, brakes(space=full))
    assert brake is not None
    assert brake.reason == HoldReason.WOULD_BE_NEARFULL
    assert brake.message == (
        "marking osd.0 out would move about 70.0 GiB (its data) onto 5 OSD(s): the fullest, "
        "osd.3, would go from 84% to about 98%, at or above nearfull_ratio 85%"
    )


def test_an_osd_without_a_size_is_estimated_from_the_others() -> None:
    space = {**{i: OsdSpace(100 * GIB, 20 * GIB) for i in range(6)}, 0: OsdSpace(0, 0)}
    estimate = fill_after_out(0, brakes(space=space))
    assert estimate is not None
    assert (estimate.moved, estimate.guessed) == (20 * GIB, True)
    nobody = brakes(space={0: OsdSpace(100 * GIB, 10 * GIB)})
    brake = out_brake(0, nobody)
    assert brake is not None
    assert brake.reason == HoldReason.WOULD_BE_NEARFULL
    assert "cannot be estimated" in brake.message


@given(
    st.lists(
        st.tuples(st.integers(1, 10**6), st.integers(0, 10**6)).map(
            lambda t: OsdSpace(t[0], min(t[0], t[1]))
        ),
        min_size=2,
        max_size=12,
    )
)
def test_the_fullest_estimate_covers_the_whole_cluster(spaces: list[OsdSpace]) -> None:
    """The fullest receiver's estimate is never below the cluster's fill after the move
    (all used bytes over the receivers' capacity), nor below its fill now."""
    ids = range(len(spaces))
    state = OutBrakes(
        osd_up=dict.fromkeys(ids, True),
        osd_in=dict.fromkeys(ids, True),
        space=dict(enumerate(spaces)),
    )
    estimate = fill_after_out(0, state)
    assert estimate is not None
    receivers = spaces[1:]
    cluster_after = (sum(s.used for s in spaces)) / sum(s.size for s in receivers)
    assert estimate.after >= cluster_after - 1e-9
    assert estimate.after >= estimate.before


@pytest.mark.parametrize(
    ("state", "message"),
    [
        (None, "waiting for Ceph's noout flags, in ratio and fullness for osd.0"),
        (OutBrakes(error="timed out"), "cannot read Ceph's noout flags, in ratio and fullness"),
        (brakes(osd_in={1: True}), "osd.0 is not in the OSD map"),
    ],
)
def test_unknown_brakes_hold(state: OutBrakes | None, message: str) -> None:
    brake = out_brake(0, state)
    assert brake is not None
    assert brake.reason == HoldReason.OUT_BRAKES_UNKNOWN
    assert message in brake.message


def test_an_osd_already_out_is_not_held() -> None:
    out = brakes(osd_in={**dict.fromkeys(range(6), True), 0: False}, cluster_flags={"noout"})
    assert out_brake(0, out) is None


# -- in the ladder ------------------------------------------------------------------------------


def test_noout_holds_mark_out_until_it_is_lifted() -> None:
    fleet = Fleet(restart_heals=False, noout={3})
    fleet.osd_up[3] = False
    fleet.run_for(T0 + timedelta(minutes=18) - fleet.now)
    assert fleet.action_kinds() == ["restartOsd"]
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert item.hold is not None
    assert item.hold.reason == HoldReason.NOOUT
    assert fleet.osd_in[3]
    fleet.noout.clear()
    fleet.tick()
    assert fleet.action_kinds() == ["restartOsd", "markOut"]
    assert not fleet.osd_in[3]


# -- flags: only Caretaker's own ----------------------------------------------------------------

FLAG_RULE = {
    "name": "pause",
    "expr": "up",
    "severity": "routine",
    "target": {"kind": "cluster"},
    "actions": [
        {"after": "0s", "setFlag": {"flag": "norebalance"}},
        {"after": "0s", "unsetFlag": {"flag": "norebalance"}},
    ],
}


def flag_fleet() -> Fleet:
    fleet = Fleet(spec_raw=policy(rules=[FLAG_RULE]))
    fleet.outcomes["pause"] = QueryOk((Sample({}, 1.0),))
    return fleet


def test_a_persons_flag_is_neither_taken_over_nor_lifted() -> None:
    fleet = flag_fleet()
    fleet.cluster_flags.add("norebalance")
    fleet.run_for(timedelta(minutes=2))
    assert fleet.actions == []
    assert "norebalance" in fleet.cluster_flags
    messages = {b["spec"]["action"]: b["status"] for b in fleet.records.values()}
    assert messages["setFlag"]["result"] == "Skipped"
    assert (
        messages["setFlag"]["message"]
        == "norebalance is already set by someone else: left as it is"
    )
    assert messages["unsetFlag"]["result"] == "Skipped"
    assert messages["unsetFlag"]["message"].startswith(
        "norebalance left alone: set by someone else"
    )


def test_caretaker_lifts_the_flag_it_set() -> None:
    fleet = flag_fleet()
    fleet.run_for(timedelta(minutes=2))
    assert fleet.action_kinds() == ["setFlag", "unsetFlag"]
    assert "norebalance" not in fleet.cluster_flags
    assert fleet.record_results() == {"setFlag#0": "Succeeded", "unsetFlag#1": "Succeeded"}


def view(action: str, flag: str, result: Result, minute: int) -> RemediationView:
    return RemediationView(
        name=f"r{minute}",
        key=f"k{minute}",
        episode="e",
        policy="p",
        rule="r",
        target="cluster/ceph",
        action=action,
        disruptive=True,
        result=result,
        started_at=T0 + timedelta(minutes=minute),
        parameters={"flag": flag},
    )


@pytest.mark.parametrize(
    ("records", "ours"),
    [
        ([], False),
        ([view("setFlag", "noout", Result.SUCCEEDED, 1)], True),
        ([view("setFlag", "noout", Result.PENDING, 1)], False),  # may not have run
        ([view("setFlag", "noout", Result.SKIPPED, 1)], False),  # was set already
        ([view("setFlag", "noout", Result.FAILED, 1)], False),
        ([view("setFlag", "norebalance", Result.SUCCEEDED, 1)], False),  # another flag
        (
            [
                view("setFlag", "noout", Result.SUCCEEDED, 1),
                view("unsetFlag", "noout", Result.SUCCEEDED, 2),
            ],
            False,  # lifted since: a later noout is someone else's
        ),
        (
            [
                view("setFlag", "noout", Result.SUCCEEDED, 3),
                view("unsetFlag", "noout", Result.SUCCEEDED, 2),
            ],
            True,
        ),
        (
            [
                view("setFlag", "noout", Result.SUCCEEDED, 1),
                view("unsetFlag", "noout", Result.SKIPPED, 2),
            ],
            True,
        ),
    ],
)
def test_which_flag_is_caretakers(records: list[RemediationView], ours: bool) -> None:
    assert (flag_set_by_caretaker(records, "noout") is not None) is ours


def test_no_shipped_example_lifts_a_flag_it_did_not_set() -> None:
    """Every unsetFlag in examples/ follows a setFlag of the same flag in the same rule: a
    ladder that lifts a person's flag would only ever be Skipped, and teaches the wrong thing."""
    examples = sorted((Path(__file__).parents[2] / "examples").glob("*.yaml"))
    assert examples
    checked = 0
    for path in examples:
        for document in yaml.safe_load_all(path.read_text()):
            if not document or document.get("kind") != "HealthPolicy":
                continue
            for rule in document["spec"].get("rules", []):
                set_before: set[str] = set()
                for step in rule.get("actions", []):
                    if "setFlag" in step:
                        set_before.add(step["setFlag"]["flag"])
                    if "unsetFlag" in step:
                        flag = step["unsetFlag"]["flag"]
                        assert flag in set_before, f"{path.name}: {rule['name']} lifts {flag}"
                checked += 1
    assert checked >= 3
