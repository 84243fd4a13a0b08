"""Delivery at least once: triggers and resolves refused by a receiver are sent again with
backoff (only to the receivers that did not take them) until delivered, every notify step of
every episode has its own dedup_key, and a deleted policy resolves its open incidents."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from health_fleet import POLICY, T0, Fleet, read
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_health_restart import until

from caretaker.domain.health.delivery import RETRY_MAX, retry_delay
from caretaker.domain.health.farewell import (
    LEAVE_OPEN_ANNOTATION,
    RESOLVE_DEADLINE,
    farewell,
    open_incidents,
    verdict,
)
from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.records import RemediationView, view_from_object
from caretaker.domain.health.retention import Retention, records_to_delete
from caretaker.domain.health.status import Result
from caretaker.domain.health.world import MaintenanceCover

S30 = timedelta(seconds=30)


def incidents(fleet: Fleet) -> list[dict[str, Any]]:
    return [b for b in fleet.records.values() if b["spec"]["action"] == "notify"]


def views(fleet: Fleet) -> list[RemediationView]:
    found = (view_from_object(body) for body in fleet.records.values())
    return [view for view in found if view is not None]


def failing(fleet: Fleet) -> str:
    assert fleet.last is not None
    (cond,) = [c for c in fleet.last.conditions if c.type == "NotificationsFailing"]
    return cond.status


def test_the_backoff_doubles_up_to_five_minutes() -> None:
    delays = [retry_delay(n) for n in range(1, 8)]
    assert delays[:5] == [timedelta(seconds=s) for s in (15, 30, 60, 120, 240)]
    assert delays[5:] == [RETRY_MAX, RETRY_MAX]
    assert retry_delay(10**6) == RETRY_MAX


def test_a_refused_trigger_is_sent_again_with_backoff_until_delivered() -> None:
    fleet = Fleet(restart_heals=False, refusing={"chat"})
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=3))
    times = [t - T0 for t, n in fleet.sent]
    # firing at 30s; then 15s, 30s, 1m after each failure (on the next 30s evaluation)
    assert times == [timedelta(seconds=s) for s in (30, 60, 90, 150)]
    (record,) = incidents(fleet)
    assert record["status"]["result"] == "Pending"
    assert record["status"]["delivery"]["attempts"] == 4
    assert "chat: refused" in record["status"]["message"]
    assert failing(fleet) == "True"
    assert fleet.reasons().count(HealthReason.NOTIFICATION_FAILED) == 1
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert item.step(0) is not None
    assert item.step(0).result == "Pending"  # never timed out while it is being delivered
    fleet.refusing.clear()
    until(fleet, timedelta(minutes=8))
    assert record["status"]["result"] == "Succeeded"
    assert record["status"]["delivery"]["deliveredTo"] == ["chat"]
    assert "nextAttemptAt" not in record["status"]["delivery"]
    assert failing(fleet) == "False"
    assert HealthReason.NOTIFICATION_DELIVERED in fleet.reasons()
    assert len({n.dedup_key for _, n in fleet.sent}) == 1
    sent = len(fleet.sent)
    until(fleet, timedelta(minutes=12))
    assert len(fleet.sent) == sent  # delivered: never again while the episode lasts


def test_a_resend_goes_only_to_the_receivers_that_did_not_take_it() -> None:
    fleet = Fleet(restart_heals=False, refusing={"oncall"})
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=21))  # the critical page at 20m30s: oncall and chat
    page = fleet.sent[-1][1]
    assert [r.name for r in page.receivers] == ["oncall", "chat"]
    fleet.now += timedelta(minutes=1)
    fleet.tick()
    resend = fleet.sent[-1][1]
    assert resend.key == page.key
    assert resend.dedup_key == page.dedup_key
    assert [r.name for r in resend.receivers] == ["oncall"]
    assert resend.delivery.delivered_to == ("chat",)


def test_a_refused_resolve_is_sent_again_until_delivered() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    fleet.osd_up[3] = True
    fleet.refusing = {"chat"}
    until(fleet, timedelta(minutes=5))
    resolves = [n for _, n in fleet.sent if n.event == "resolve"]
    assert len(resolves) >= 3
    assert len({(n.key, n.dedup_key) for n in resolves}) == 1
    (record,) = incidents(fleet)
    assert record["status"]["result"] == "Succeeded"  # the trigger
    assert record["status"]["resolve"]["result"] == "Pending"
    assert failing(fleet) == "True"
    fleet.refusing.clear()
    until(fleet, timedelta(minutes=12))
    assert record["status"]["resolve"]["result"] == "Succeeded"
    assert failing(fleet) == "False"


def test_a_new_episode_pages_under_a_new_key_while_the_old_resolve_is_pending() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    fleet.osd_up[3] = True
    fleet.refusing = {"chat"}
    until(fleet, timedelta(minutes=2))  # incident 1's resolve refused: still open
    fleet.osd_up[3] = False
    fleet.refusing.clear()
    until(fleet, timedelta(minutes=4))
    triggers = [n for _, n in fleet.sent if n.event == "trigger"]
    assert len(triggers) == 2
    assert triggers[0].dedup_key != triggers[1].dedup_key
    first, second = sorted(incidents(fleet), key=lambda b: b["status"]["startedAt"])
    assert first["status"]["resolve"]["result"] == "Succeeded"  # delivered once it was back
    assert "resolve" not in second["status"]


def test_an_escalation_opens_its_own_incident_and_both_are_resolved() -> None:
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=21))
    fleet.osd_up[3] = True
    until(fleet, timedelta(minutes=23))
    triggers = [n for _, n in fleet.sent if n.event == "trigger"]
    resolves = [n for _, n in fleet.sent if n.event == "resolve"]
    assert len({n.dedup_key for n in triggers}) == 2  # the critical page is not swallowed
    assert {n.dedup_key for n in resolves} == {n.dedup_key for n in triggers}
    assert all(b["status"]["resolve"]["result"] == "Succeeded" for b in incidents(fleet))


def test_a_trigger_never_delivered_is_given_up_when_the_condition_clears() -> None:
    fleet = Fleet(refusing={"chat"})
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=2))
    fleet.osd_up[3] = True
    fleet.refusing.clear()
    until(fleet, timedelta(minutes=3))
    (record,) = incidents(fleet)
    assert record["status"]["result"] == "Failed"
    assert "the condition cleared first" in record["status"]["message"]
    assert record["status"]["resolve"]["result"] == "Succeeded"  # harmless if it never arrived
    assert [n.event for _, n in fleet.sent][-1] == "resolve"
    assert [str(n.event) for _, n in fleet.sent].count("trigger") >= 2


def test_no_trigger_is_sent_again_while_the_target_is_in_maintenance() -> None:
    fleet = Fleet(refusing={"chat"})
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    sent = len(fleet.sent)
    fleet.maintenance = MaintenanceCover(nodes={"node-1": "ceph/m"})
    fleet.refusing.clear()
    until(fleet, timedelta(minutes=10))
    assert len(fleet.sent) == sent
    fleet.maintenance = MaintenanceCover()
    until(fleet, timedelta(minutes=11))
    assert incidents(fleet)[0]["status"]["result"] == "Succeeded"


def test_farewell_resolves_every_open_incident_once() -> None:
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = fleet.osd_up[5] = False
    until(fleet, timedelta(minutes=2))
    fleet.osd_up[5] = True
    fleet.refusing = {"chat"}
    until(fleet, timedelta(minutes=3))  # osd.5's resolve refused: Pending
    found = views(fleet)
    assert len(open_incidents(found, POLICY.name)) == 2
    plan = farewell(POLICY, fleet.spec, found, fleet.now)
    assert sorted(n.target.key for n in plan.notifications) == ["osd/osd.3", "osd/osd.5"]
    assert all(n.event == "resolve" for n in plan.notifications)
    assert [u.resolve["result"] for u in plan.record_updates] == ["Pending"]  # osd.3: new
    # once delivered, nothing is left to resolve
    fleet.refusing.clear()
    fleet.osd_up[3] = True
    until(fleet, timedelta(minutes=6))
    assert open_incidents(views(fleet), POLICY.name) == []
    assert farewell(POLICY, fleet.spec, views(fleet), fleet.now).notifications == ()


def test_farewell_does_not_resolve_dry_run_or_event_only_steps() -> None:
    fleet = Fleet(spec_raw={**Fleet().spec_raw, "dryRun": True})
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=2))
    assert incidents(fleet)
    assert open_incidents(views(fleet), POLICY.name) == []
    assert farewell(POLICY, read(fleet.spec_raw), views(fleet), fleet.now).notifications == ()


def test_the_verdict_waits_with_backoff_then_lets_go() -> None:
    now = T0 + timedelta(minutes=10)
    args: dict[str, Any] = {"deleting_since": T0, "now": now, "leave_open": False}
    assert verdict([], attempt=1, **args).release
    waiting = verdict(["caretaker/x: oncall: 503"], attempt=3, **args)
    assert not waiting.release
    assert waiting.retry_in == retry_delay(3)
    assert waiting.note is not None
    assert waiting.note.reason == HealthReason.RESOLVE_PENDING
    assert LEAVE_OPEN_ANNOTATION in waiting.note.message
    assert waiting.condition is not None
    assert waiting.condition.status == "True"
    late = {**args, "now": T0 + RESOLVE_DEADLINE - timedelta(seconds=20)}
    assert verdict(["k: down"], attempt=9, **late).retry_in == timedelta(seconds=20)
    for gone in (
        verdict(["k: down"], attempt=3, **{**args, "leave_open": True}),
        verdict(["k: down"], attempt=3, **{**args, "now": T0 + RESOLVE_DEADLINE}),
        verdict(["k: down"], attempt=1, can_send=False, **args),
    ):
        assert gone.release
        assert gone.note is not None
        assert gone.note.reason == HealthReason.INCIDENTS_LEFT_OPEN
        assert "k: down" in gone.note.message


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    refusals=st.lists(st.sets(st.sampled_from(["oncall", "chat"])), min_size=50, max_size=50),
    crashes=st.lists(st.sampled_from(["", "", "", "records", "status"]), min_size=50, max_size=50),
    flips=st.lists(st.sets(st.integers(0, 4), max_size=1), min_size=50, max_size=50),
)
def test_every_incident_ends_resolved_once_the_receivers_are_back(
    refusals: list[set[str]], crashes: list[str], flips: list[set[int]]
) -> None:
    fleet = Fleet(restart_heals=False)
    for refusing, crash, flip in zip(refusals, crashes, flips, strict=True):
        fleet.refusing = refusing
        for osd in flip:
            fleet.osd_up[osd] = not fleet.osd_up[osd]
        fleet.tick(crash=crash)
        fleet.now += S30
    fleet.refusing = set()
    fleet.osd_up = dict.fromkeys(fleet.osd_up, True)
    # past the in-flight horizon: a trigger orphaned by a crash (never sent) is closed too
    fleet.run_for(timedelta(minutes=70), step=timedelta(minutes=1))
    for body in incidents(fleet):
        status = body["status"]
        assert status["result"] in ("Succeeded", "Failed"), status
        assert status.get("resolve", {}).get("result") == "Succeeded", status
    triggers: dict[str, set[str]] = {}
    for _, notification in fleet.sent:
        if notification.event == "trigger":
            triggers.setdefault(notification.dedup_key, set()).add(notification.key)
    assert all(len(keys) == 1 for keys in triggers.values())  # one step, one incident


def test_a_record_whose_resolve_is_pending_is_never_pruned() -> None:
    fleet = Fleet(refusing={"chat"})
    fleet.osd_up[3] = False
    fleet.restart_heals = False
    until(fleet, timedelta(minutes=1))
    fleet.refusing.clear()
    until(fleet, timedelta(minutes=2))  # the trigger delivered
    fleet.osd_up[3] = True
    fleet.refusing = {"chat"}
    until(fleet, timedelta(minutes=3))  # its resolve refused
    (view,) = [v for v in views(fleet) if v.action == "notify"]
    assert view.resolve is not None
    assert view.resolve.result == "Pending"
    assert view.resolve.delivery.attempts >= 1
    assert view.delivery.delivered_to == ("chat",)
    later = fleet.now + timedelta(days=365)
    keep_nothing = Retention(limit=0, max_age=timedelta(0))
    assert records_to_delete([view], later, keep_nothing) == ()
    done = replace(view, resolve=replace(view.resolve, result=Result.SUCCEEDED))
    assert records_to_delete([done], later, keep_nothing) == (view.name,)
