"""The HealthPolicy status round trip through a dict (and JSON) is lossless."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.health.status import (
    HealthPolicyStatus,
    Hold,
    Result,
    RuleError,
    RuleState,
    RuleStatus,
    StepRun,
    TargetStatus,
    parse_time,
    stamp,
    status_from_dict,
    status_to_dict,
)
from caretaker.domain.health.targets import Target, TargetKind

times = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
)
maybe_times = st.none() | times
words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
labels = st.dictionaries(st.from_regex(r"[a-z_]{1,8}", fullmatch=True), words, max_size=3)
values = st.floats(allow_nan=True, allow_infinity=True)


@st.composite
def targets(draw: st.DrawFn) -> Target:
    kind = draw(st.sampled_from(list(TargetKind)))
    name = draw(st.from_regex(r"[a-z0-9.{}=\"/-]{1,16}", fullmatch=True))
    return Target(kind, name, draw(st.sampled_from(["", "node-1"])))


runs = st.builds(
    StepRun,
    index=st.integers(0, 20),
    action=st.sampled_from(["notify", "restartOsd", "markOut"]),
    key=st.from_regex(r"[0-9a-f]{32}", fullmatch=True),
    result=st.sampled_from(list(Result)),
    started_at=times,
    disruptive=st.booleans(),
    verify_deadline=maybe_times,
    finished_at=maybe_times,
    message=words,
)
holds = st.builds(Hold, step=st.integers(0, 20), reason=words, message=words, since=times)


@st.composite
def target_statuses(draw: st.DrawFn) -> TargetStatus:
    steps = draw(st.lists(runs, max_size=4, unique_by=lambda r: r.index))
    return TargetStatus(
        target=draw(targets()),
        first_seen=draw(times),
        value=draw(values),
        labels=draw(labels),
        firing_since=draw(maybe_times),
        steps=tuple(sorted(steps, key=lambda r: r.index)),
        hold=draw(st.none() | holds),
        notified=tuple(draw(st.lists(st.sampled_from(["oncall", "chat"]), unique=True))),
    )


rule_statuses = st.builds(
    RuleStatus,
    name=st.from_regex(r"[a-z][a-z0-9-]{0,10}", fullmatch=True),
    state=st.sampled_from(list(RuleState)),
    since=maybe_times,
    last_evaluation=maybe_times,
    error=st.none() | st.builds(RuleError, failure=words, message=words, since=times),
    targets=st.lists(target_statuses(), max_size=3).map(tuple),
    untracked=st.integers(0, 10),
)
statuses = st.builds(
    HealthPolicyStatus,
    rules=st.lists(rule_statuses, max_size=3).map(tuple),
    last_evaluation=maybe_times,
    circuit=words,
    circuit_since=maybe_times,
)


def same(a: HealthPolicyStatus, b: HealthPolicyStatus) -> bool:
    """Equality, with NaN equal to NaN (dataclass == says NaN != NaN)."""

    def fix(status: HealthPolicyStatus) -> str:
        return json.dumps(status_to_dict(status), sort_keys=True)

    return fix(a) == fix(b) and _values(a) == _values(b)


def _values(status: HealthPolicyStatus) -> list[str]:
    return [repr(t.value) for r in status.rules for t in r.targets]


@given(statuses)
def test_round_trip_through_json_is_lossless(status: HealthPolicyStatus) -> None:
    raw = json.loads(json.dumps(status_to_dict(status)))
    back = status_from_dict(raw)
    if all(not math.isnan(v) for r in status.rules for v in (t.value for t in r.targets)):
        assert back == status
    assert same(back, status)
    assert status_to_dict(back) == raw


def test_status_dict_shape() -> None:
    t0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
    item = TargetStatus(
        Target(TargetKind.OSD, "osd.3", "node-1"),
        t0,
        0.0,
        {"ceph_daemon": "osd.3"},
        firing_since=t0 + timedelta(seconds=30),
        steps=(StepRun(0, "notify", "k", Result.SUCCEEDED, t0, finished_at=t0),),
        notified=("chat",),
    )
    status = HealthPolicyStatus(
        (RuleStatus("osd-down", RuleState.FIRING, t0, t0, None, (item,)),), t0
    )
    raw = status_to_dict(status)
    assert raw["firing"] == 1
    assert raw["lastEvaluationTime"] == "2026-05-04T10:00:00Z"
    target = raw["rules"][0]["targets"][0]
    assert target["target"] == "osd/osd.3"
    assert target["node"] == "node-1"
    assert target["value"] == "0.0"
    assert target["firingSince"] == "2026-05-04T10:00:30Z"
    assert target["steps"][0]["result"] == "Succeeded"


def test_non_finite_values_are_json_safe() -> None:
    t0 = datetime(2026, 5, 4, tzinfo=UTC)
    for value in (math.inf, -math.inf, math.nan):
        item = TargetStatus(Target(TargetKind.CLUSTER, "ceph"), t0, value)
        status = HealthPolicyStatus((RuleStatus("r", targets=(item,)),))
        text = json.dumps(status_to_dict(status), allow_nan=False)
        back = status_from_dict(json.loads(text)).rules[0].targets[0].value
        assert repr(back) == repr(value)


def test_times_keep_microseconds_and_become_utc() -> None:
    moment = datetime(2026, 5, 4, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert stamp(moment) == "2026-05-04T10:00:00.123456Z"
    assert parse_time(stamp(moment)) == moment
    assert stamp(moment.replace(microsecond=0)) == "2026-05-04T10:00:00Z"


def test_unreadable_entries_are_dropped_not_fatal() -> None:
    raw = {
        "rules": [
            {"name": "ok", "state": "Inactive"},
            {"state": "Firing"},  # no name
            {"name": "bad-state", "state": "Exploding"},
            "garbage",
        ],
        "lastEvaluationTime": "2026-05-04T10:00:00Z",
    }
    status = status_from_dict(raw)
    assert [r.name for r in status.rules] == ["ok"]
    assert status_from_dict(None) == HealthPolicyStatus()


T0 = datetime(2026, 12, 1, 22, tzinfo=UTC)


def test_the_maintenances_are_needed_only_while_something_fires_or_was_tracked() -> None:
    from caretaker.domain.health.world import anything_firing  # noqa: PLC0415
    from caretaker.domain.promql.outcome import (  # noqa: PLC0415
        QueryFailed,
        QueryFailure,
        QueryOk,
        Sample,
    )

    quiet = {"a": QueryOk(()), "b": QueryFailed(QueryFailure.UNREACHABLE, "down")}
    assert not anything_firing(quiet, HealthPolicyStatus())
    assert anything_firing({"a": QueryOk((Sample({"x": "1"}, 1.0),))}, HealthPolicyStatus())
    target = TargetStatus(Target(TargetKind.OSD, "osd.1"), T0, 1.0, {})
    tracked = HealthPolicyStatus(
        rules=(RuleStatus("a", RuleState.PENDING, T0, T0, None, (target,)),)
    )
    assert anything_firing(quiet, tracked)  # its rule failed this interval: state kept
