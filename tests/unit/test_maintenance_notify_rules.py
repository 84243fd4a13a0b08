"""spec.notifications of a Maintenance, pure: the reader's messages, which notifications are due
from which status (each key at most once over any sequence of statuses), and the bookkeeping of
status.notifications (retries, their bound, what is kept)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.common.reasons import Reason
from caretaker.domain.maintenance.notifications import Announcement, Moment, due
from caretaker.domain.maintenance.notify_record import (
    KEEP_DELIVERED,
    MAX_ATTEMPTS,
    RETRY_AFTER,
    bounded,
    new_record,
    notifications_condition,
    record_to_dict,
    records_from,
    settle,
    to_send,
)
from caretaker.domain.maintenance.notify_spec import ALL_EVENTS, NotifyEvent
from caretaker.domain.maintenance.spec import MaintenanceSpec, read_maintenance_spec
from caretaker.domain.maintenance.status import (
    MaintenancePhase,
    MaintenanceStatus,
    NodePhase,
    NodeRecord,
)
from caretaker.domain.maintenance.summary import Summary

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
HOOK = {"name": "ops", "webhook": {"url": "http://hooks.ops:8080/"}}


def spec_of(notifications: dict[str, Any]) -> MaintenanceSpec:
    spec, errors = read_maintenance_spec({"nodes": ["a", "b"], "notifications": notifications})
    assert errors == []
    assert spec is not None
    return spec


def test_defaults_every_event() -> None:
    spec = spec_of({"receivers": [HOOK]})
    assert spec.notifications is not None
    assert spec.notifications.events == ALL_EVENTS
    assert [r.name for r in spec.notifications.receivers] == ["ops"]
    spec = spec_of({"receiversFrom": {"healthPolicy": "paging"}, "events": ["NodeReady"]})
    assert spec.notifications is not None
    assert (spec.notifications.health_policy, spec.notifications.receivers) == ("paging", ())
    assert spec.notifications.events == {NotifyEvent.NODE_READY}


@pytest.mark.parametrize(
    ("notifications", "path", "words"),
    [
        ({}, "spec.notifications", "give exactly one of receivers or receiversFrom"),
        ({"receivers": []}, "spec.notifications.receivers", "at least one receiver"),
        ({"receivers": [HOOK], "events": []}, "spec.notifications.events", "at least one"),
        ({"receivers": [HOOK], "events": ["Begun"]}, "spec.notifications.events[0]", "'Begun'"),
        ({"receivers": [HOOK], "events": ["Started", "Started"]}, "events[1]", "twice"),
        ({"receiversFrom": {}}, "receiversFrom.healthPolicy", "HealthPolicy in the Maintenance"),
        ({"receiversFrom": {"healthPolicy": "p", "x": 1}}, "receiversFrom.x", "unknown field"),
        ({"receivers": [HOOK], "sendTo": 1}, "spec.notifications.sendTo", "unknown field"),
        (
            {"receivers": [{"name": "p", "pagerduty": {"routingKeySecretRef": {"name": "s"}}}]},
            "routingKeySecretRef.key",
            "required",
        ),
        (
            {"receivers": [{"name": "w", "webhook": {"urlSecretRef": {"key": "url"}}}]},
            "urlSecretRef.name",
            "a Secret in the Maintenance's namespace",
        ),
    ],
)
def test_bad_notifications_name_the_field(
    notifications: dict[str, Any], path: str, words: str
) -> None:
    _spec, errors = read_maintenance_spec({"nodes": ["a"], "notifications": notifications})
    assert any(path in e.path and words in e.message for e in errors), errors
    assert all("Error" not in e.message for e in errors)


# -- which notifications are due ------------------------------------------------------------

PHASES = list(NodePhase)
SUMMARY_PHASES = [
    MaintenancePhase.PENDING,
    MaintenancePhase.DRAINING,
    MaintenancePhase.COMPLETED,
    MaintenancePhase.FAILED,
    MaintenancePhase.ABORTED,
]


def moment(
    before: MaintenanceStatus,
    after: MaintenanceStatus,
    summary: Summary,
    *,
    phase_before: str = "",
    stalled_before: bool = False,
    spec: MaintenanceSpec | None = None,
    now: datetime = T0,
) -> Moment:
    return Moment(
        namespace="ops",
        name="nightly",
        spec=spec or spec_of({"receivers": [HOOK]}),
        before=before,
        after=after,
        summary=summary,
        phase_before=phase_before,
        stalled_before=stalled_before,
        released_by=frozenset({"a"}),
        now=now,
    )


def node(name: str, phase: NodePhase, *, released: bool = False) -> NodeRecord:
    return NodeRecord(
        name,
        phase,
        osds=(3, 4),
        started_at=T0 if phase != NodePhase.PENDING else None,
        released_at=T0 if released else None,
    )


def test_a_node_becoming_held_is_due_once_with_what_to_do() -> None:
    before = MaintenanceStatus((node("a", NodePhase.DRAINING),), started_at=T0)
    after = MaintenanceStatus((node("a", NodePhase.IN_MAINTENANCE),), started_at=T0)
    summary = Summary(MaintenancePhase.IN_MAINTENANCE, Reason.PROGRESSING, "held")
    (ready,) = due(moment(before, after, summary, phase_before="Draining"), ())
    assert (ready.key, ready.event, ready.node, ready.osds) == (
        "NodeReady/a",
        NotifyEvent.NODE_READY,
        "a",
        (3, 4),
    )
    assert "kubectl caretaker release nightly a -n ops" in ready.text
    assert due(moment(before, after, summary), ("NodeReady/a",)) == ()
    assert due(moment(after, after, summary), ()) == ()  # no change: nothing new


def test_events_not_chosen_are_never_due() -> None:
    before = MaintenanceStatus((node("a", NodePhase.PREFLIGHT),))
    after = MaintenanceStatus((node("a", NodePhase.PREFLIGHT),), started_at=T0)
    summary = Summary(MaintenancePhase.PREFLIGHT, Reason.PROGRESSING, "")
    only_ready = spec_of({"receivers": [HOOK], "events": ["NodeReady"]})
    assert due(moment(before, after, summary, spec=only_ready), ()) == ()
    assert [a.key for a in due(moment(before, after, summary), ())] == ["Started"]


def test_a_failure_is_not_also_a_stall_and_a_stall_is_keyed_by_its_start() -> None:
    status = MaintenanceStatus((node("a", NodePhase.FAILED),), started_at=T0)
    failed = Summary(MaintenancePhase.FAILED, Reason.FAILED, "node a failed: x", stalled=True)
    assert [a.key for a in due(moment(status, status, failed), ())] == ["Failed"]
    stalled = Summary(MaintenancePhase.PENDING, Reason.WINDOW_OVER, "window over", stalled=True)
    (stall,) = due(moment(status, status, stalled, phase_before="Pending"), ())
    assert stall.key == "Stalled/2026-05-04T10:00:00Z"
    assert "window over" in stall.text
    assert due(moment(status, status, stalled, stalled_before=True), ()) == ()


@st.composite
def status_sequences(draw: st.DrawFn) -> list[tuple[MaintenanceStatus, Summary]]:
    steps = []
    for _ in range(draw(st.integers(1, 25))):
        nodes = tuple(
            node(name, draw(st.sampled_from(PHASES)), released=draw(st.booleans()))
            for name in ("a", "b")
        )
        started = T0 if draw(st.booleans()) else None
        summary = Summary(
            draw(st.sampled_from(SUMMARY_PHASES)), "R", "m", stalled=draw(st.booleans())
        )
        steps.append((MaintenanceStatus(nodes, started_at=started), summary))
    return steps


@given(status_sequences())
def test_each_key_is_due_at_most_once_over_any_sequence_of_statuses(
    steps: list[tuple[MaintenanceStatus, Summary]],
) -> None:
    """As the executor runs it: the status and summary written last are the next "before", and
    the keys recorded so far are handed in."""
    recorded: list[str] = []
    before, summary_before = MaintenanceStatus(), Summary(MaintenancePhase.PENDING, "R", "")
    for i, (after, summary) in enumerate(steps):
        now = T0 + timedelta(seconds=i)
        found = due(
            moment(
                before,
                after,
                summary,
                phase_before=summary_before.phase,
                stalled_before=summary_before.stalled,
                now=now,
            ),
            recorded,
        )
        keys = [a.key for a in found]
        assert len(keys) == len(set(keys))
        assert not set(keys) & set(recorded)
        recorded.extend(keys)
        before, summary_before = after, summary


LIFECYCLE = [
    NodePhase.PENDING,
    NodePhase.PREFLIGHT,
    NodePhase.DRAINING,
    NodePhase.IN_MAINTENANCE,
    NodePhase.RESTORING,
    NodePhase.COMPLETED,
]


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 5)), min_size=1, max_size=30))
def test_forward_runs_tell_each_fact_once_even_with_nothing_recorded(
    progress: list[tuple[int, int]],
) -> None:
    """The facts are read from what changed between the status read and the one written: a run
    whose nodes only move forward tells each once even when status.notifications kept nothing
    (its oldest delivered entries are dropped)."""
    told: list[str] = []
    before = MaintenanceStatus()
    reached = [0, 0]
    phase_before = ""
    for step, (a, b) in enumerate(progress):
        reached = [max(reached[0], a), max(reached[1], b)]
        nodes = tuple(
            node(name, LIFECYCLE[i], released=i >= 4)
            for name, i in zip(("a", "b"), reached, strict=True)
        )
        started = T0 if any(reached) else None
        done = all(i == 5 for i in reached)
        phase = MaintenancePhase.COMPLETED if done else MaintenancePhase.DRAINING
        after = MaintenanceStatus(nodes, started_at=started)
        summary = Summary(phase, "R", "m")
        now = T0 + timedelta(seconds=step)
        told += [
            a.key
            for a in due(moment(before, after, summary, phase_before=phase_before, now=now), ())
        ]
        before, phase_before = after, phase
    assert len(told) == len(set(told)), told
    for name, i in zip(("a", "b"), reached, strict=True):
        assert (f"NodeCompleted/{name}" in told) == (i == 5)
        assert (f"Released/{name}" in told) == (i >= 4)


# -- status.notifications -----------------------------------------------------------------


def announcement(key: str = "NodeReady/a") -> Announcement:
    return Announcement(key, NotifyEvent.NODE_READY, "Node a is ready", "a", (3,))


def test_a_new_record_goes_to_every_receiver_and_only_failures_are_retried() -> None:
    record = new_record(announcement(), T0)
    assert to_send(record, ["ops", "chat"], T0) == ("ops", "chat")
    record, notes = settle(record, ["chat"], {"ops": "503"}, T0)
    assert [n.reason for n in notes] == ["NotificationFailed"]
    assert to_send(record, ["ops", "chat"], T0 + RETRY_AFTER / 2) is None  # not yet
    assert to_send(record, ["ops", "chat"], T0 + RETRY_AFTER) == ("ops",)
    record, notes = settle(record, ["ops"], {}, T0 + RETRY_AFTER)
    assert (record.delivered, record.failed, notes) == (("chat", "ops"), {}, ())
    assert to_send(record, ["ops", "chat"], T0 + 10 * RETRY_AFTER) is None  # delivered


def test_retries_end_at_the_bound_and_are_reported() -> None:
    record = new_record(announcement(), T0)
    for attempt in range(MAX_ATTEMPTS):
        now = T0 + attempt * RETRY_AFTER
        assert to_send(record, ["ops"], now) == ("ops",)
        record, notes = settle(record, [], {"ops": "refused"}, now)
    assert to_send(record, ["ops"], T0 + 100 * RETRY_AFTER) is None
    assert "giving up" in notes[0].message
    condition = notifications_condition([record])
    assert (condition.status, condition.reason) == ("False", "GaveUp")
    assert "NodeReady/a to ops: refused" in condition.message


def test_receivers_that_cannot_be_found_count_as_an_attempt() -> None:
    record = new_record(announcement(), T0)
    assert to_send(record, None, T0) == ()
    record, _ = settle(record, [], {"receivers": "HealthPolicy ops/p does not exist"}, T0)
    assert to_send(record, None, T0 + RETRY_AFTER) == ()
    assert to_send(record, ["ops"], T0 + RETRY_AFTER) == ("ops",)


def test_delivered_records_are_bounded_failing_ones_kept() -> None:
    delivered = [
        settle(new_record(announcement(f"K{i}"), T0), ["ops"], {}, T0)[0] for i in range(30)
    ]
    failing = settle(new_record(announcement("F"), T0), [], {"ops": "x"}, T0)[0]
    waiting = new_record(announcement("W"), T0)
    kept = bounded([failing, *delivered, waiting])
    assert [r.key for r in kept] == ["F", *[f"K{i}" for i in range(10, 30)], "W"]
    assert sum(r.key.startswith("K") for r in kept) == KEEP_DELIVERED


def test_records_survive_the_status_round_trip_and_bad_entries_are_skipped() -> None:
    record = settle(new_record(announcement(), T0), ["chat"], {"ops": "503"}, T0)[0]
    raw = [record_to_dict(record), {"key": "x"}, "junk", {**record_to_dict(record), "event": "?"}]
    assert records_from(raw) == (record,)
    assert records_from(None) == ()
    assert records_from([record_to_dict(replace(record, failed={}))])[0].failed == {}
