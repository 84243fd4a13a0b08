"""A HealthPolicy drain step goes on while pods are left, at least 5 s between rounds, until
the node is empty or its timeout; it is one step (one key, one record) however many rounds."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from health_fleet import T0, Fleet, policy

from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.status import Result

FIRING_AT = timedelta(seconds=30)  # OsdDown fires at the second tick


def drain_policy(timeout: str = "15m", interval: str = "30s") -> dict[str, Any]:
    rule = {
        "name": "osd-down",
        "preset": "OsdDown",
        "actions": [{"after": "0s", "drain": {"timeout": timeout}}],
    }
    return policy(rules=[rule], interval=interval)


def drain_rounds(fleet: Fleet) -> list[timedelta]:
    return fleet.action_times("drain")


def step_result(fleet: Fleet) -> Result:
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    (run,) = item.steps
    return run.result


def test_a_blocked_drain_goes_on_until_the_node_is_empty() -> None:
    fleet = Fleet(spec_raw=drain_policy(), drain_rounds_blocked=3)
    fleet.osd_up[3] = False
    fleet.run_for(timedelta(minutes=4))
    rounds = drain_rounds(fleet)
    assert rounds == [FIRING_AT + timedelta(seconds=30 * i) for i in range(4)]
    assert len({a.key for _, a in fleet.actions}) == 1  # one step, one key
    assert len(fleet.records) == 1
    assert fleet.record_results() == {"drain#0": "Succeeded"}
    assert step_result(fleet) is Result.SUCCEEDED


def test_a_drain_that_never_empties_the_node_fails_at_its_timeout() -> None:
    fleet = Fleet(spec_raw=drain_policy(timeout="2m"), drain_rounds_blocked=1000)
    fleet.osd_up[3] = False
    fleet.run_for(timedelta(minutes=6))
    rounds = drain_rounds(fleet)
    assert rounds[-1] < FIRING_AT + timedelta(minutes=2)  # no round after the timeout
    assert len(rounds) == 4  # 30s, 1m, 1m30s, 2m: rounds, then failed at 2m30s
    assert fleet.record_results() == {"drain#0": "Failed"}
    (record,) = fleet.records.values()
    assert record["status"]["message"].startswith("node not drained within 2m")
    assert HealthReason.ACTION_FAILED in fleet.reasons()
    assert step_result(fleet) is Result.FAILED


def test_rounds_are_at_least_five_seconds_apart_on_a_short_interval() -> None:
    fleet = Fleet(spec_raw=drain_policy(interval="1s"), drain_rounds_blocked=1000)
    fleet.osd_up[3] = False
    fleet.run_for(timedelta(minutes=1), step=timedelta(seconds=1))
    rounds = drain_rounds(fleet)
    gaps = [later - earlier for earlier, later in itertools.pairwise(rounds)]
    assert len(rounds) >= 5
    assert all(gap >= timedelta(seconds=5) for gap in gaps)
    assert step_result(fleet) is Result.DRAINING


def test_a_drain_stops_when_the_condition_clears() -> None:
    fleet = Fleet(spec_raw=drain_policy(), drain_rounds_blocked=1000)
    fleet.osd_up[3] = False
    fleet.run_for(timedelta(minutes=2))
    fleet.osd_up[3] = True
    before = len(drain_rounds(fleet))
    fleet.run_for(timedelta(minutes=5))
    assert len(drain_rounds(fleet)) == before
    assert fleet.record_results() == {"drain#0": "Succeeded"}
    assert fleet.now - T0 > timedelta(minutes=6)


def test_a_drain_under_way_holds_the_next_disruptive_step() -> None:
    raw = drain_policy()
    raw["rules"][0]["actions"].append({"after": "1m", "markOut": {}})
    fleet = Fleet(spec_raw=raw, drain_rounds_blocked=4)
    fleet.osd_up[3] = False
    fleet.run_for(timedelta(minutes=5))
    kinds = fleet.action_kinds()
    assert kinds[:5] == ["drain"] * 5
    assert kinds[5:] == ["markOut"]
