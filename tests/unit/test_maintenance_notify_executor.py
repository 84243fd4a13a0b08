"""spec.notifications run by the shipped executor against the fake cluster and its fake
receivers (``fake_receivers``): each event once, texts a person can act on, restarts that
neither repeat nor lose one, failing receivers retried a bounded number of times and reported,
never blocking the maintenance."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from maintenance_scenarios import SCENARIOS, Scenario
from maintenance_worlds import Cluster

from caretaker.domain.common.receivers import Receiver, WebhookReceiver
from caretaker.domain.drain.rules import PodView
from caretaker.domain.maintenance.notify_record import MAX_ATTEMPTS, RETRY_AFTER
from caretaker.domain.maintenance.status import NodePhase

HOOK = {"name": "ops", "webhook": {"url": "http://hooks.ops:8080/maintenance"}}
CHAT = {"name": "chat", "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}}}
LIFECYCLE = ["Started", "NodeReady/a", "Released/a", "NodeCompleted/a", "Completed"]


def notifying(notifications: dict[str, Any] | None = None, **spec: Any) -> Cluster:
    wanted = notifications or {"receivers": [HOOK, CHAT]}
    return Cluster({"nodes": ["a"], "notifications": wanted, **spec}, {"a": (3, 4)})


def condition(cluster: Cluster) -> dict[str, Any]:
    found = [c for c in cluster.status_doc["conditions"] if c["type"] == "NotificationsDelivered"]
    assert len(found) == 1
    return dict(found[0])


def release(cluster: Cluster) -> None:
    cluster.release_annotation = "a"


def test_each_event_reaches_every_receiver_once_with_a_text_to_act_on() -> None:
    cluster = notifying()
    cluster.settle()
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    assert cluster.receivers.keys("ops") == ["Started", "NodeReady/a"]
    assert cluster.receivers.keys("chat") == ["Started", "NodeReady/a"]
    ready = cluster.receivers.texts("ops")["NodeReady/a"]
    assert "Node a is drained and ready for the technician" in ready
    assert "OSDs 3,4 are" in ready
    assert "noout is set on osd.3, osd.4" in ready
    assert "kubectl caretaker release nightly a -n ops" in ready
    assert "http" not in ready
    assert condition(cluster)["status"] == "True"

    release(cluster)
    cluster.settle()
    assert cluster.phase() == NodePhase.COMPLETED
    assert cluster.receivers.keys("ops") == LIFECYCLE
    assert cluster.receivers.keys("chat") == LIFECYCLE
    texts = cluster.receivers.texts("ops")
    assert "Node a was released" in texts["Released/a"]
    assert "back in service" in texts["NodeCompleted/a"]
    assert "1 of 1 node(s) done" in texts["NodeCompleted/a"]
    assert "completed" in texts["Completed"]
    dispatch = cluster.receivers.inbox[2][1]
    assert dispatch.dedup_key == "caretaker/maintenance/9f1c-uid/NodeReady/a"
    assert dispatch.record.osds == (3, 4)
    recorded = cluster.status_doc["notifications"]
    assert [r["key"] for r in recorded] == LIFECYCLE
    assert all(r["delivered"] == ["ops", "chat"] and r["failed"] is None for r in recorded)
    assert condition(cluster)["message"] == "5 notification(s) delivered"
    assert cluster.leftovers() == []


def test_restarts_during_the_hold_send_nothing_twice() -> None:
    cluster = notifying()
    cluster.settle()
    sent = len(cluster.receivers.inbox)
    cluster.tick = timedelta(minutes=3)
    for crash in ["restart", "killed", "unsaved", "restart", ""] * 2:
        cluster.step(crash=crash)
    assert len(cluster.receivers.inbox) == sent
    release(cluster)
    cluster.tick = timedelta(seconds=10)
    cluster.settle()
    assert cluster.receivers.keys("ops") == LIFECYCLE


def test_a_death_between_sending_and_recording_sends_once_more_never_loses_it() -> None:
    cluster = notifying()
    cluster.run_until(lambda c: c.phase() == NodePhase.DRAINING)
    while cluster.phase() != NodePhase.IN_MAINTENANCE:
        cluster.step(crash="unsaved")  # every status write dies: NodeReady is never recorded
        if "NodeReady/a" in cluster.receivers.keys("ops"):
            break
    cluster.settle()
    assert cluster.receivers.keys("ops").count("NodeReady/a") == 2  # at least once: twice here
    assert [r["key"] for r in cluster.status_doc["notifications"]] == ["Started", "NodeReady/a"]


def test_a_status_write_lost_to_a_conflict_does_not_send_again() -> None:
    """Another writer (kopf's own patches, a person's edit) between the snapshot and the status
    write: the round's record is lost, the same process remembers what it delivered."""
    cluster = notifying()
    cluster.racing_edit = True  # the first round, which sends Started, writes nothing
    cluster.step()
    assert cluster.status_writes == 0
    assert cluster.receivers.keys("ops") == ["Started"]
    cluster.settle()
    assert cluster.receivers.keys("ops") == ["Started", "NodeReady/a"]
    started = cluster.status_doc["notifications"][0]
    assert (started["key"], started["delivered"]) == ("Started", ["ops", "chat"])


def test_a_refusing_receiver_is_retried_reported_and_never_blocks() -> None:
    cluster = notifying()
    cluster.receivers.refusing["ops"] = "503 Service Unavailable"
    cluster.settle()
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    assert cluster.receivers.keys("chat") == ["Started", "NodeReady/a"]
    assert cluster.receivers.keys("ops") == []
    failing = condition(cluster)
    assert (failing["status"], failing["reason"]) == ("False", "Retrying")
    assert "NodeReady/a to ops: webhook ops: 503 Service Unavailable" in failing["message"]
    warnings = [n for n in cluster.notes if n.reason == "NotificationFailed"]
    assert warnings
    assert all(n.type == "Warning" for n in warnings)
    assert "trying again in 30s" in warnings[0].message

    cluster.receivers.refusing.clear()  # the receiver is back: the next retry reaches it
    cluster.tick = RETRY_AFTER
    for _ in range(3):
        cluster.step()
    assert cluster.receivers.keys("ops") == ["Started", "NodeReady/a"]
    assert cluster.receivers.keys("chat") == ["Started", "NodeReady/a"]  # not sent again
    assert condition(cluster)["status"] == "True"


def test_a_receiver_down_for_good_is_given_up_after_the_bound() -> None:
    cluster = notifying({"receivers": [HOOK]}, release=["a"])
    cluster.receivers.refusing["ops"] = "connection refused"
    cluster.tick = RETRY_AFTER
    cluster.run_until(Cluster.finished)
    for _ in range(2 * MAX_ATTEMPTS):
        cluster.step()
    assert cluster.phase() == NodePhase.COMPLETED  # never blocked
    records = cluster.status_doc["notifications"]
    assert [r["key"] for r in records] == LIFECYCLE
    assert all(r["attempts"] == MAX_ATTEMPTS and r["delivered"] == [] for r in records)
    gave_up = condition(cluster)
    assert (gave_up["status"], gave_up["reason"]) == ("False", "GaveUp")
    assert any("giving up" in n.message for n in cluster.notes)
    assert cluster.receivers.attempts == MAX_ATTEMPTS * len(LIFECYCLE)


def test_events_picks_what_is_sent() -> None:
    cluster = notifying({"receivers": [HOOK], "events": ["NodeReady", "Completed"]}, release=["a"])
    cluster.run_until(Cluster.finished)
    assert cluster.receivers.keys("ops") == ["NodeReady/a", "Completed"]


def test_receivers_from_a_health_policy() -> None:
    cluster = notifying({"receiversFrom": {"healthPolicy": "paging"}})
    for _ in range(3):  # the policy does not exist yet: reported, the maintenance goes on
        cluster.step()
    missing = condition(cluster)
    assert missing["status"] == "False"
    assert "HealthPolicy ops/paging does not exist" in missing["message"]
    hook = Receiver("team-hook", WebhookReceiver("http://hooks.team:8080/"))
    cluster.receivers.policies["paging"] = (hook,)
    cluster.settle()
    assert cluster.phase() == NodePhase.IN_MAINTENANCE
    assert cluster.receivers.keys("team-hook") == ["Started", "NodeReady/a"]
    assert condition(cluster)["status"] == "True"


def test_a_failure_says_why_and_what_was_undone() -> None:
    cluster = notifying({"receivers": [HOOK]}, release=["*"], drain={"timeout": "1m"})
    cluster.nodes["a"].pods = [PodView("apps", "debug", None)]
    cluster.run_until(Cluster.finished)
    cluster.settle()
    assert cluster.receivers.keys("ops") == ["Started", "Failed"]  # failed is not also stalled
    text = cluster.receivers.texts("ops")["Failed"]
    assert "failed: node a failed" in text
    assert "apps/debug" in text
    assert "node a uncordoned" in text
    assert "kubectl describe maintenance nightly -n ops" in text


def test_an_abort_is_told_once() -> None:
    cluster = notifying({"receivers": [HOOK]})
    cluster.settle()
    cluster.spec_raw = {**cluster.spec_raw, "abort": True}
    cluster.settle()
    assert cluster.receivers.keys("ops") == ["Started", "NodeReady/a", "Failed"]
    assert "was aborted" in cluster.receivers.texts("ops")["Failed"]


def test_stalled_is_told_once_per_stall() -> None:
    cluster = notifying({"receivers": [HOOK]})
    cluster.step()
    good = cluster.spec_raw
    bad = {**good, "strategy": {"maxUnavailable": 0}}
    cluster.spec_raw = bad
    for _ in range(5):
        cluster.step()
    stalls = [k for k in cluster.receivers.keys("ops") if k.startswith("Stalled/")]
    assert len(stalls) == 1
    text = cluster.receivers.texts("ops")[stalls[0]]
    assert "is stalled (InvalidSpec)" in text
    assert "spec.strategy.maxUnavailable" in text
    cluster.spec_raw = good
    for _ in range(3):
        cluster.step()
    cluster.spec_raw = bad
    for _ in range(3):
        cluster.step()
    stalls = [k for k in cluster.receivers.keys("ops") if k.startswith("Stalled/")]
    assert len(stalls) == 2


def test_without_notifications_nothing_is_sent_or_recorded() -> None:
    cluster = Cluster({"nodes": ["a"], "release": ["a"]}, {"a": (3,)})
    cluster.run_until(Cluster.finished)
    assert cluster.receivers.inbox == []
    assert "notifications" not in cluster.status_doc
    assert all(c["type"] != "NotificationsDelivered" for c in cluster.status_doc["conditions"])


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=SCENARIOS, crashes=st.lists(st.sampled_from(["", "restart", "lost", "killed"])))
def test_no_notification_is_sent_twice_or_lost_across_random_runs(
    scenario: Scenario, crashes: list[str]
) -> None:
    """Crashes that do not fall between a send and its status write (those may repeat one)."""
    scenario.crashes = crashes
    cluster = scenario.build()
    cluster.spec_raw["notifications"] = {"receivers": [HOOK]}
    scenario.drive(cluster)
    keys = cluster.receivers.keys("ops")
    assert len(keys) == len(set(keys)), keys
    done = [n.name for n in cluster.status.nodes if n.phase == NodePhase.COMPLETED]
    assert {f"NodeCompleted/{n}" for n in done} <= set(keys)
    if cluster.status.started_at is not None:
        assert "Started" in keys
