"""The shipped HealthPolicy executor (``evaluate_and_apply``): the order of its writes, and
against other writers and kills: a record another copy created first, a policy edited during
the round, a step that fails, and a kill at every call of every round."""

from __future__ import annotations

from datetime import timedelta

from health_fleet import Fleet, policy

from caretaker.domain.health.status import Result

S30 = timedelta(seconds=30)


def test_a_round_writes_records_status_events_then_sends_then_acts() -> None:
    """The order that makes a kill anywhere safe: intent (records, then the status once) before
    any Event, page or action; pages before actions; each result on its record last."""
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = False
    for index in range(10):
        if index == 4:
            fleet.osd_up[5] = False  # its trigger is paged in the round osd.3 is restarted
        fleet.tick()
        fleet.now += S30
        if {"send", "run_action"} <= set(fleet.calls):
            break
    assert fleet.calls == [
        "read_world",
        "create_record",  # osd.3's restart
        "create_record",  # osd.5's trigger
        "write_status",
        "post_event",
        "post_event",
        "post_event",
        "send",
        "patch_record",  # the delivery, on the trigger's record
        "run_action",
        "patch_record",  # the restart's result
    ]


def test_a_record_another_copy_created_is_not_carried_out_by_this_one() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    fleet.tick()
    fleet.now += S30
    fleet.racing_records = True  # the trigger's record: created by another copy first (409)
    evaluation = fleet.tick()
    assert [r.action for r in evaluation.records] == ["notify"]
    assert (fleet.sent, evaluation.notifications) == ([], ())
    fleet.racing_records = False
    fleet.now += S30
    fleet.tick()  # the record is in flight and not delivered: whoever reads it next sends it
    assert [e[0] for e in fleet.sent_events()] == ["trigger"]


def first_round_with_events() -> int:
    fleet = Fleet()
    fleet.osd_up[3] = False
    for index in range(10):
        fleet.tick()
        fleet.now += S30
        if fleet.notes:
            return index
    raise AssertionError("no round posted an Event")


def test_a_spec_edited_during_the_round_drops_its_status_and_events() -> None:
    noted = first_round_with_events()
    fleet = Fleet()
    fleet.osd_up[3] = False
    for _ in range(noted):
        fleet.tick()
        fleet.now += S30
    written = dict(fleet.status_raw)
    fleet.racing_edit = "spec"
    fleet.tick()
    assert (fleet.status_raw, fleet.notes) == (written, [])
    # the trigger's record was created by this round: its page is this round's to send
    assert [e[0] for e in fleet.sent_events()] == ["trigger"]
    fleet.now += S30
    fleet.tick()  # the next round, on the new object, decides again and writes
    assert fleet.status_raw != written
    assert len(fleet.sent) == 1


def test_a_policy_changed_only_in_its_metadata_is_written_after_all() -> None:
    noted = first_round_with_events()
    fleet = Fleet()
    fleet.osd_up[3] = False
    for _ in range(noted):
        fleet.tick()
        fleet.now += S30
    version = fleet.resource_version
    fleet.racing_edit = "metadata"  # kopf adding its finalizer: same spec, same status
    fleet.tick()
    assert fleet.resource_version == version + 2  # the edit, then our status
    assert fleet.notes


def test_a_failed_step_gives_its_claim_back_at_once() -> None:
    raw = policy(safety={"maxConcurrentDisruptive": 5, "maxOsdsOut": 3, "minOsdUpRatio": 0.5})
    fleet = Fleet(spec_raw=raw, restart_heals=False, failing={"markOut"})
    fleet.osd_up[3] = False
    for _ in range(60):
        fleet.tick()
        fleet.now += S30
        if "markOut" in fleet.action_kinds():
            break
    assert fleet.action_kinds().count("markOut") == 1
    assert "markOut#2" in fleet.record_results()
    assert fleet.record_results()["markOut#2"] == Result.FAILED
    assert fleet.claims == {}  # withdrawn by the executor, not by the sweeper (osd.3 is out)
    assert fleet.violations == []


def reference() -> Fleet:
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = False
    for _ in range(60):
        fleet.tick()
        fleet.now += S30
    return fleet


def test_a_kill_at_every_call_of_every_round_repeats_no_action_and_loses_no_page() -> None:
    """Killed at each call of each round in turn (records, status, Events, sends, actions,
    results, pruning), the restarted operator runs no action twice and still sends every
    page it decided on."""
    expected = reference()
    kinds = expected.action_kinds()
    assert {"restartOsd", "markOut"} <= set(kinds)
    pages = {(str(n.event), n.target.key) for _, n in expected.sent}
    tried = 0
    for killed_round in range(0, 60, 3):
        for call in range(1, 12):
            fleet = Fleet(restart_heals=False)
            fleet.osd_up[3] = False
            for index in range(60):
                fleet.tick(kill_at=call if index == killed_round else None)
                fleet.now += S30
            if not fleet.kills:
                break
            tried += 1
            keys = [a.key for _, a in fleet.actions]
            assert len(keys) == len(set(keys)), (killed_round, call)
            assert sorted(fleet.action_kinds()) == sorted(kinds), (killed_round, call)
            assert {(str(n.event), n.target.key) for _, n in fleet.sent} == pages
            triggered = {n.dedup_key for _, n in fleet.sent if str(n.event) == "trigger"}
            decided = {
                b["spec"]["parameters"]["dedupKey"]
                for b in fleet.records.values()
                if b["spec"]["action"] == "notify"
            }
            assert decided <= triggered, (killed_round, call)  # at least once
            assert fleet.violations == []
    assert tried > 20  # more than one call in some rounds
