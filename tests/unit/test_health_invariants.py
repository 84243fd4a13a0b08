"""Safety invariants over random histories: OSDs flapping, the circuit opening and closing,
Maintenances coming and going, Prometheus failing, the operator crashing."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import timedelta

from health_fleet import Fleet, policy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caretaker.domain.health.actions import kind_of
from caretaker.domain.health.status import IN_FLIGHT, Result
from caretaker.domain.health.world import HEALTH_ERR, HEALTH_OK, MaintenanceCover
from caretaker.domain.promql.outcome import QueryFailed, QueryFailure

S30 = timedelta(seconds=30)
LIMITS = {"maxConcurrentDisruptive": 2, "maxOsdsOut": 2, "minOsdUpRatio": 0.6}


@dataclass(frozen=True)
class Interval:
    flips: frozenset[int]  # OSDs whose up state flips
    health_err: bool
    quorum_lost: bool
    ceph_unreadable: bool
    prometheus_down: bool
    maintenance_on_node_1: bool
    crash: str
    restart_heals: bool


intervals = st.builds(
    Interval,
    flips=st.frozensets(st.integers(0, 9), max_size=2),
    health_err=st.sampled_from([False] * 6 + [True]),
    quorum_lost=st.sampled_from([False] * 6 + [True]),
    ceph_unreadable=st.sampled_from([False] * 6 + [True]),
    prometheus_down=st.sampled_from([False] * 4 + [True]),
    maintenance_on_node_1=st.sampled_from([False] * 3 + [True]),
    crash=st.sampled_from(["", "", "", "", "records", "status"]),
    restart_heals=st.booleans(),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(intervals, min_size=20, max_size=80), st.booleans())
def test_safety_invariants(history: list[Interval], dry_run: bool) -> None:
    fleet = Fleet(spec_raw=policy(safety=LIMITS, dryRun=dry_run))
    for interval in history:
        for osd in interval.flips:
            fleet.osd_up[osd] = not fleet.osd_up[osd]
        fleet.health = HEALTH_ERR if interval.health_err else HEALTH_OK
        fleet.quorum_ok = not interval.quorum_lost
        fleet.ceph_readable = not interval.ceph_unreadable
        fleet.restart_heals = interval.restart_heals
        fleet.maintenance = MaintenanceCover(
            nodes={"node-1": "ceph/m"} if interval.maintenance_on_node_1 else {}
        )
        if interval.prometheus_down:
            fleet.outcomes["osd-down"] = QueryFailed(QueryFailure.UNREACHABLE, "refused")
        else:
            fleet.outcomes.pop("osd-down", None)
        ratio = sum(fleet.osd_up.values()) / len(fleet.osd_up)
        frozen = (
            interval.health_err
            or interval.quorum_lost
            or interval.ceph_unreadable
            or ratio < LIMITS["minOsdUpRatio"]
        )
        actions, sent = len(fleet.actions), len(fleet.sent)
        known = set(fleet.records)
        evaluation = fleet.tick(crash=interval.crash)
        planned = evaluation.actions
        if interval.prometheus_down:  # nothing new is decided; what was is still delivered
            assert planned == ()
            assert evaluation.records == ()
            assert all(n.record_name in known for n in evaluation.notifications)
        if dry_run:
            assert planned == ()
            assert evaluation.notifications == ()
        if frozen:
            assert not any(a.disruptive for a in planned)
        for action in planned:
            assert not (interval.maintenance_on_node_1 and action.target.node == "node-1")
        for notification in evaluation.notifications:
            if notification.event == "trigger":
                assert not (interval.maintenance_on_node_1 and notification.target.node == "node-1")
        in_flight = [
            b
            for b in fleet.records.values()
            if b["spec"]["disruptive"] and b["status"]["result"] in {str(r) for r in IN_FLIGHT}
        ]
        assert len(in_flight) <= LIMITS["maxConcurrentDisruptive"]
        assert len(fleet.out_by_us) <= LIMITS["maxOsdsOut"]
        if dry_run:
            assert len(fleet.actions) == actions
            assert len(fleet.sent) == sent
        fleet.now += S30
    # no action ran twice on a target within the cooldown (30m), and no key was used twice
    # (every receiver accepts: a message is sent again only when its delivery is not recorded)
    keys = [a.key for _, a in fleet.actions] + [n.key for _, n in fleet.sent]
    assert len(keys) == len(set(keys))
    runs: dict[tuple[str, str], list[timedelta]] = {}
    for moment, action in fleet.actions:
        runs.setdefault((kind_of(action.action), action.target.key), []).append(moment - fleet.now)
    for times in runs.values():
        assert all(b - a >= timedelta(minutes=30) for a, b in itertools.pairwise(times))
    assert all(b["status"]["result"] != Result.DRY_RUN for b in fleet.records.values()) or dry_run
