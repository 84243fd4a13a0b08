"""Remediation records: the builder, the object body, reading it back, patches, retention."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from health_fleet import POLICY, read
from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.disruption.ledger import Claim, ClaimKind
from caretaker.domain.health.actions import Flag, LadderStep, RestartOsd, SetFlag
from caretaker.domain.health.keys import episode_id, idempotency_key
from caretaker.domain.health.ledger import marked_out_by_caretaker
from caretaker.domain.health.record_updates import RecordUpdate, merge_updates
from caretaker.domain.health.records import (
    EPISODE_LABEL,
    POLICY_LABEL,
    RemediationRecord,
    RemediationView,
    RuleFacts,
    build_record,
    record_body,
    view_from_object,
    view_of,
)
from caretaker.domain.health.retention import Retention, records_to_delete, retention_for
from caretaker.domain.health.status import (
    IN_FLIGHT,
    HealthPolicyStatus,
    Result,
    RuleStatus,
    TargetStatus,
)
from caretaker.domain.health.targets import Target, TargetKind

T0 = datetime(2026, 5, 4, 10, 0, tzinfo=UTC)
FIRING = T0 + timedelta(seconds=30)
ITEM = TargetStatus(
    Target(TargetKind.OSD, "osd.3", "node-1"),
    first_seen=T0,
    value=0.0,
    labels={"ceph_daemon": "osd.3", "hostname": "node-1"},
    firing_since=FIRING,
)
FACTS = RuleFacts("osd-down", "urgent", "ceph_osd_up == 0")


def restart_record(
    result: Result = Result.PENDING, step: LadderStep | None = None
) -> RemediationRecord:
    key = idempotency_key(POLICY.uid, "osd-down", "osd/osd.3", 1, FIRING)
    return build_record(
        policy=POLICY,
        rule=FACTS,
        item=ITEM,
        index=1,
        step=step or LadderStep(timedelta(minutes=2), RestartOsd()),
        key=key,
        result=result,
        message="",
        now=T0 + timedelta(minutes=2, seconds=30),
    )


def test_record_body() -> None:
    record = restart_record()
    body = record_body(record)
    assert body["kind"] == "Remediation"
    assert body["apiVersion"] == "caretaker.dev/v1alpha1"
    meta = body["metadata"]
    assert meta["name"].startswith("osd-health-")
    assert meta["namespace"] == "ceph"
    assert meta["labels"][POLICY_LABEL] == "osd-health"
    assert meta["labels"][EPISODE_LABEL] == episode_id(POLICY.uid, "osd-down", "osd/osd.3", FIRING)
    assert meta["ownerReferences"][0]["uid"] == POLICY.uid
    assert body["spec"] == {
        "policy": "osd-health",
        "rule": "osd-down",
        "severity": "urgent",
        "target": "osd/osd.3",
        "node": "node-1",
        "action": "restartOsd",
        "parameters": {},
        "disruptive": True,
        "step": 1,
        "query": "ceph_osd_up == 0",
        "value": "0.0",
        "labels": {"ceph_daemon": "osd.3", "hostname": "node-1"},
        "idempotencyKey": record.key,
        "episode": meta["labels"][EPISODE_LABEL],
        "firstSeen": "2026-05-04T10:00:00Z",
        "firingSince": "2026-05-04T10:00:30Z",
    }
    # no empty strings and no nulls: kube-apiserver 1.20 rejects "" in typed fields
    assert body["status"] == {
        "result": "Pending",
        "startedAt": "2026-05-04T10:02:30Z",
        "timeToDetectSeconds": 30,
    }


def test_final_results_are_finished_at_once() -> None:
    record = restart_record(Result.DRY_RUN)
    assert record.finished_at == record.started_at


def test_parameters_are_recorded() -> None:
    record = restart_record(step=LadderStep(timedelta(0), SetFlag(Flag.NOOUT)))
    assert record_body(record)["spec"]["parameters"] == {"flag": "noout"}


def test_reading_a_record_back() -> None:
    record = restart_record()
    raw = json.loads(json.dumps(record_body(record)))
    raw["status"].update(RecordUpdate("x", Result.VERIFYING, "restarted", T0).patch()["status"])
    view = view_from_object(raw)
    assert view is not None
    assert view == RemediationView(
        name=record.name,
        key=record.key,
        episode=record.episode,
        policy="osd-health",
        rule="osd-down",
        target="osd/osd.3",
        action="restartOsd",
        disruptive=True,
        result=Result.VERIFYING,
        started_at=record.started_at,
        finished_at=T0,
        message="restarted",
        first_seen=T0,
        firing_since=FIRING,
        severity="urgent",
        parameters={},
    )
    assert view_of(record) == replace(view, result=Result.PENDING, finished_at=None, message="")


def test_objects_that_are_not_records_are_ignored() -> None:
    assert view_from_object({}) is None
    assert view_from_object({"metadata": {"name": "x"}, "spec": {}, "status": {}}) is None
    body = record_body(restart_record())
    body["status"]["result"] = "Exploded"
    assert view_from_object(body) is None


def test_update_patch_and_merge() -> None:
    recovered = RecordUpdate("a", recovered_at=T0, time_to_recover=timedelta(minutes=3))
    result = RecordUpdate("a", Result.SUCCEEDED, "condition cleared", T0)
    other = RecordUpdate("b", Result.FAILED, "", T0)
    merged = merge_updates([result, other, recovered])
    assert [u.name for u in merged] == ["a", "b"]
    assert merged[0].patch() == {
        "status": {
            "result": "Succeeded",
            "message": "condition cleared",
            "finishedAt": "2026-05-04T10:00:00Z",
            "recoveredAt": "2026-05-04T10:00:00Z",
            "timeToRecoverSeconds": 180,
        }
    }
    assert "message" not in merged[1].patch()["status"]


def view(
    name: str, age: timedelta, result: Result = Result.SUCCEEDED, episode: str = ""
) -> RemediationView:
    return RemediationView(
        name,
        name,
        episode or f"ep-{name}",
        "osd-health",
        "osd-down",
        "osd/osd.1",
        "restartOsd",
        True,
        result,
        T0 - age,
    )


def test_retention_keeps_the_newest_and_protects_what_is_needed() -> None:
    records = [view(f"r{i:02}", timedelta(hours=i)) for i in range(10)]
    records.append(view("pending", timedelta(hours=30), Result.PENDING))
    records.append(view("firing", timedelta(hours=40), episode="ep-live"))
    retention = Retention(
        limit=3,
        max_age=timedelta(hours=6),
        cooldown=timedelta(minutes=90),
        active_episodes=frozenset({"ep-live"}),
    )
    doomed = records_to_delete(records, T0, retention)
    assert doomed == ("r09", "r08", "r07", "r06", "r05", "r04", "r03")  # oldest first
    retention = Retention(limit=100, max_age=timedelta(hours=6))
    assert records_to_delete(records, T0, retention) == ("firing", "r09", "r08", "r07")


@given(
    ages=st.lists(st.integers(0, 10_000), max_size=40),
    results=st.lists(st.sampled_from(list(Result)), min_size=40, max_size=40),
    limit=st.integers(1, 20),
    max_age=st.integers(1, 10_000),
)
def test_retention_properties(
    ages: list[int], results: list[Result], limit: int, max_age: int
) -> None:
    records = [view(f"r{i}", timedelta(minutes=age), results[i]) for i, age in enumerate(ages)]
    retention = Retention(limit, timedelta(minutes=max_age), timedelta(minutes=30))
    doomed = set(records_to_delete(records, T0, retention))
    for record in records:
        if record.result in IN_FLIGHT:
            assert record.name not in doomed
        if T0 - record.started_at < timedelta(minutes=30):
            assert record.name not in doomed
        if T0 - record.started_at > timedelta(minutes=max_age) and record.name not in doomed:
            assert record.result in IN_FLIGHT or (T0 - record.started_at < timedelta(minutes=30))
    kept = [r for r in records if r.name not in doomed]
    unprotected = [
        r for r in kept if r.result not in IN_FLIGHT and T0 - r.started_at >= timedelta(minutes=30)
    ]
    assert len(unprotected) <= limit
    if doomed and unprotected:  # what goes is never newer than an unprotected record that stays
        newest_doomed = max(r.started_at for r in records if r.name in doomed)
        assert newest_doomed <= min(r.started_at for r in unprotected)


def test_retention_for_a_policy() -> None:
    spec = read(
        {
            "rules": [
                {"name": "osd-down", "preset": "OsdDown", "cooldown": "2h"},
                {"name": "err", "preset": "HealthError"},
            ],
            "remediationHistory": {"limit": 10, "maxAge": "1d"},
        }
    )
    status = HealthPolicyStatus((RuleStatus("osd-down", targets=(ITEM,)),))
    retention = retention_for(spec, POLICY, status)
    assert retention == Retention(
        10,
        timedelta(days=1),
        timedelta(hours=2),
        frozenset({episode_id(POLICY.uid, "osd-down", "osd/osd.3", FIRING)}),
    )


def test_a_mark_out_record_is_kept_while_its_osd_is_out() -> None:
    """markIn acts only on OSDs a record (or the ledger) says Caretaker marked out: pruning
    must not forget that while the OSD is out, whatever the history limits say."""
    out = replace(view("out", timedelta(days=30)), action="markOut")
    old = view("old", timedelta(days=30))
    still_out = Retention(1, timedelta(days=1), still_out=frozenset({1}))
    assert records_to_delete([out, old], T0, still_out) == ("old",)
    back_in = Retention(1, timedelta(days=1), still_out=frozenset())
    assert set(records_to_delete([out, old], T0, back_in)) == {"out", "old"}


def test_the_ledger_remembers_a_mark_out_when_the_records_are_gone() -> None:
    claim = Claim("healthpolicy/ops/gone/osd/osd.1", "host-b", (1,), ClaimKind.MARK_OUT)
    assert marked_out_by_caretaker([], 1, [claim])
    assert not marked_out_by_caretaker([], 2, [claim])
