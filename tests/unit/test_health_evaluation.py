"""The HealthPolicy state machine over sequences of intervals: pending, firing, the ladder,
verification, resolve, and Prometheus failures that must change nothing."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import NoReturn

from health_fleet import POLICY, T0, Fleet, policy
from hypothesis import given, settings
from hypothesis import strategies as st

from caretaker.domain.health.evaluation import RuleQuery, evaluate, is_due, rule_queries
from caretaker.domain.health.keys import dedup_key
from caretaker.domain.health.outputs import NotificationEvent
from caretaker.domain.health.reasons import HealthReason
from caretaker.domain.health.rule import MAX_TARGETS
from caretaker.domain.health.status import HealthPolicyStatus, Result, RuleState, RuleStatus
from caretaker.domain.promql.outcome import QueryFailed, QueryFailure, QueryOk, Sample

S30 = timedelta(seconds=30)


def conditions(fleet: Fleet) -> dict[str, tuple[str, str, str]]:
    assert fleet.last is not None
    return {c.type: (c.status, c.reason, c.message) for c in fleet.last.conditions}


def rule_of(fleet: Fleet, name: str = "osd-down") -> RuleStatus:
    found = fleet.status.rule(name)
    assert found is not None
    return found


def until(fleet: Fleet, offset: timedelta) -> None:
    """Ticks every 30s up to (not including) T0 + offset."""
    fleet.run_for(T0 + offset - fleet.now)


def test_pending_then_firing_after_for() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    fleet.tick()
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert not item.firing
    assert item.first_seen == T0
    assert rule_of(fleet).state is RuleState.PENDING
    assert fleet.sent == []
    fleet.now += S30
    fleet.tick()
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert item.firing_since == T0 + S30
    assert item.target.node == "node-1"
    assert fleet.sent_events() == [("trigger", "osd/osd.3", ("chat",))]
    assert HealthReason.RULE_FIRING in fleet.reasons()


def test_a_condition_shorter_than_for_never_fires() -> None:
    fleet = Fleet(spec_raw=policy(rules=[{"name": "osd-down", "preset": "OsdDown", "for": "2m"}]))
    fleet.osd_up[3] = False
    fleet.run_for(timedelta(minutes=1, seconds=30))
    fleet.osd_up[3] = True
    fleet.run_for(timedelta(minutes=5))
    assert fleet.sent == []
    assert fleet.actions == []
    assert fleet.records == {}
    assert rule_of(fleet).targets == ()


def test_ladder_steps_run_at_their_after_and_restart_heals() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=10))
    # firing at 30s; restart 2m later; the OSD is up at the next tick: resolved.
    assert fleet.action_times("restartOsd") == [timedelta(minutes=2, seconds=30)]
    events = fleet.sent_events()
    assert events == [("trigger", "osd/osd.3", ("chat",)), ("resolve", "osd/osd.3", ("chat",))]
    trigger, resolve = (n for _, n in fleet.sent)
    assert (
        trigger.dedup_key
        == resolve.dedup_key
        == dedup_key(POLICY.namespace, POLICY.name, "osd-down", "osd/osd.3", trigger.key)
    )
    assert trigger.record_name == resolve.record_name  # the notify step's record: the ledger
    assert fleet.record_results() == {"notify#0": "Succeeded", "restartOsd#1": "Succeeded"}
    (notify,) = [b for b in fleet.records.values() if b["spec"]["action"] == "notify"]
    assert notify["spec"]["parameters"]["dedupKey"] == trigger.dedup_key
    assert notify["status"]["resolve"]["result"] == "Succeeded"
    for body in fleet.records.values():
        assert body["status"]["timeToRecoverSeconds"] == 150  # cleared at 3m, firing since 30s
        assert body["status"]["timeToDetectSeconds"] == 30
    assert rule_of(fleet).state is RuleState.INACTIVE


def test_failed_verification_escalates_to_mark_out_and_page() -> None:
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=25))
    # restart at 2m30s, verification (OsdUp within 3m) fails at 5m30s
    assert fleet.action_kinds() == ["restartOsd", "markOut"]
    assert fleet.action_times("markOut") == [timedelta(minutes=15, seconds=30)]
    assert fleet.asked_ok_to_stop == [frozenset({3})]
    results = fleet.record_results()
    assert results["restartOsd#1"] == "Failed"
    assert results["markOut#2"] == "Succeeded"  # verified: OsdOut
    assert fleet.sent_events() == [
        ("trigger", "osd/osd.3", ("chat",)),
        ("trigger", "osd/osd.3", ("oncall", "chat")),  # page at 20m: the critical route
    ]
    assert fleet.sent[1][0] == T0 + timedelta(minutes=20, seconds=30)
    assert HealthReason.VERIFICATION_FAILED in fleet.reasons()
    assert HealthReason.VERIFICATION_SUCCEEDED in fleet.reasons()
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert [s.result for s in item.steps] == [
        Result.SUCCEEDED,
        Result.FAILED,
        Result.SUCCEEDED,
        Result.SUCCEEDED,
    ]
    assert item.notified == ("chat", "oncall")


def test_disruptive_steps_wait_for_the_verification_before_them() -> None:
    raw = policy(
        rules=[
            {
                "name": "osd-down",
                "preset": "OsdDown",
                "actions": [
                    {"after": "0s", "restartOsd": {}, "verify": {"within": "5m"}},
                    {"after": "1m", "markOut": {}},
                    {"after": "1m", "notify": {"route": "critical"}},
                ],
            }
        ]
    )
    fleet = Fleet(spec_raw=raw, restart_heals=False)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=7))
    # restart at 30s; markOut due at 1m30s but waits for the verification until 5m30s;
    # the notify step never waits.
    assert fleet.action_times("restartOsd") == [timedelta(seconds=30)]
    assert fleet.action_times("markOut") == [timedelta(minutes=5, seconds=30)]
    assert fleet.sent[0][0] == T0 + timedelta(minutes=1, seconds=30)


def test_an_action_the_executor_fails_moves_the_ladder_on() -> None:
    fleet = Fleet(failing={"restartOsd"})
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=17))
    assert fleet.record_results()["restartOsd#1"] == "Failed"
    assert fleet.action_kinds() == ["restartOsd", "markOut"]
    assert HealthReason.ACTION_FAILED in fleet.reasons()


def test_a_step_without_a_reported_result_times_out() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=2, seconds=30))
    fleet.tick(crash="status")  # restart planned and stored, never run, never reported
    fleet.now += S30
    fleet.restart_heals = False
    until(fleet, timedelta(minutes=13))
    assert fleet.record_results()["restartOsd#1"] == "Failed"
    assert HealthReason.ACTION_TIMED_OUT in fleet.reasons()
    assert fleet.action_kinds() == []  # never executed, never planned again


def test_prometheus_unreachable_keeps_state_and_acts_on_nothing() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    before = fleet.target("osd-down", "osd/osd.3")
    fleet.outcomes["osd-down"] = QueryFailed(QueryFailure.UNREACHABLE, "connection refused")
    fleet.osd_up[3] = True  # whatever happens meanwhile is unknown
    until(fleet, timedelta(minutes=10))
    assert fleet.actions == []
    assert len(fleet.sent) == 1  # the first trigger only: no resolve while blind
    item = fleet.target("osd-down", "osd/osd.3")
    assert item is not None
    assert before is not None
    assert item.firing_since == before.firing_since
    assert item.steps == before.steps
    rule = fleet.status.rule("osd-down")
    assert rule is not None
    assert rule.state is RuleState.FIRING
    assert rule.error is not None
    assert rule.error.since == T0 + timedelta(minutes=1)
    found = conditions(fleet)
    assert found["PrometheusUnavailable"][0] == "True"
    assert "connection refused" in found["PrometheusUnavailable"][2]
    assert found["Ready"][:2] == ("False", "PrometheusUnavailable")
    assert fleet.reasons().count(HealthReason.PROMETHEUS_UNAVAILABLE) == 1
    # Prometheus is back and says the OSD is up: resolved now, not before.
    del fleet.outcomes["osd-down"]
    fleet.tick()
    assert fleet.sent_events()[-1] == ("resolve", "osd/osd.3", ("chat",))
    assert conditions(fleet)["Ready"][0] == "True"
    assert HealthReason.RULE_RECOVERED in fleet.reasons()


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.sampled_from([None, *QueryFailure]),
        min_size=10,
        max_size=50,
    )
)
def test_no_action_in_an_interval_whose_query_failed(pattern: list[QueryFailure | None]) -> None:
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = False
    fleet.osd_up[4] = False
    for failure in pattern:
        if failure is None:
            fleet.outcomes.pop("osd-down", None)
        else:
            fleet.outcomes["osd-down"] = QueryFailed(failure, "broken")
        sent, acted = len(fleet.sent), len(fleet.actions)
        evaluation = fleet.tick()
        if failure is not None:
            assert evaluation.actions == ()
            assert evaluation.notifications == ()
            assert (len(fleet.sent), len(fleet.actions)) == (sent, acted)
        fleet.now += timedelta(minutes=1)
    keys = [a.key for _, a in fleet.actions] + [n.key for _, n in fleet.sent]
    assert len(keys) == len(set(keys))


def test_a_stale_or_absent_exporter_is_unknown_not_healthy() -> None:
    raw = policy(
        rules=[
            {"name": "osd-down", "preset": "OsdDown"},
            {"name": "exporter", "preset": "CephUnreachable", "for": "0s"},
        ]
    )
    fleet = Fleet(spec_raw=raw)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    # the exporter stops being scraped: its series go away, queries come back empty
    fleet.exporter_age = timedelta(minutes=6)
    fleet.osd_up[3] = True
    fleet.tick()
    assert fleet.sent_events() == [("trigger", "osd/osd.3", ("chat",))]  # no resolve
    rule = rule_of(fleet)
    assert rule.error is not None
    assert rule.error.failure == "Stale"
    assert "6m old (staleAfter 5m)" in rule.error.message
    fleet.exporter_age = None
    fleet.outcomes["exporter"] = QueryOk((Sample({}, 1.0),))
    fleet.now += S30
    evaluation = fleet.tick()
    assert "no Ceph exporter series" in (rule_of(fleet).error or fail()).message
    # the rule about absence still works and notifies
    assert [n.rule for n in evaluation.notifications] == ["exporter"]
    assert rule_of(fleet, "exporter").state is RuleState.FIRING
    fleet.exporter_age = timedelta(seconds=5)
    del fleet.outcomes["exporter"]
    fleet.now += S30
    fleet.tick()
    assert [e[0] for e in fleet.sent_events()][-2:] == ["resolve", "resolve"]


def fail() -> NoReturn:
    raise AssertionError("missing")


def test_one_query_per_rule_and_evaluation_is_due_per_interval() -> None:
    spec = Fleet(
        spec_raw=policy(
            rules=[
                {"name": "a", "preset": "OsdDown"},
                {"name": "b", "expr": "up == 0", "severity": "routine"},
            ]
        )
    ).spec
    assert rule_queries(spec) == (RuleQuery("a", spec.rules[0].expr), RuleQuery("b", "up == 0"))
    empty = HealthPolicyStatus()
    assert is_due(spec, empty, T0)
    done = HealthPolicyStatus(last_evaluation=T0)
    assert not is_due(spec, done, T0 + timedelta(seconds=29))
    assert is_due(spec, done, T0 + S30)


def test_a_bad_query_in_one_rule_leaves_the_others_working() -> None:
    raw = policy(
        rules=[
            {"name": "osd-down", "preset": "OsdDown"},
            {"name": "broken", "expr": "sum(", "severity": "routine"},
        ]
    )
    fleet = Fleet(spec_raw=raw)
    prom_text = "1:5: parse error: unclosed left parenthesis"
    fleet.outcomes["broken"] = QueryFailed(QueryFailure.BAD_QUERY, prom_text)
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=4))
    assert fleet.action_kinds() == ["restartOsd"]
    found = conditions(fleet)
    assert found["InvalidRule"] == ("True", "InvalidRule", f"rule broken: {prom_text}")
    assert found["PrometheusUnavailable"][0] == "False"
    assert found["Ready"][:2] == ("False", "InvalidRule")


def test_each_series_is_one_target_and_one_query_serves_them_all() -> None:
    raw = policy(
        rules=[
            {
                "name": "pools",
                "preset": "PoolNearFull",
                "for": "0s",
                "actions": [{"after": "0s", "notify": {"route": "urgent"}}],
            }
        ]
    )
    fleet = Fleet(spec_raw=raw)
    samples = [Sample({"pool_id": str(i), "name": f"pool-{i}"}, 0.9) for i in range(40)]
    samples += [Sample({"pool_id": "0", "name": "pool-0", "instance": "b"}, 0.95)]
    fleet.outcomes["pools"] = QueryOk(tuple(samples))
    evaluation = fleet.tick()
    found = evaluation.status.rule("pools")
    assert found is not None
    targets = found.targets
    assert len(targets) == 40
    assert targets[0].target.key == "pool/pool-0"
    assert targets[0].value == 0.95
    assert len(evaluation.notifications) == 40
    assert len(fleet.world().outcomes) == 1


def test_targets_beyond_the_cap_are_counted_not_tracked() -> None:
    raw = policy(rules=[{"name": "pools", "preset": "PoolNearFull", "for": "1m"}])
    fleet = Fleet(spec_raw=raw)
    first = [Sample({"name": f"b-{i:03}"}, 0.9) for i in range(MAX_TARGETS)]
    fleet.outcomes["pools"] = QueryOk(tuple(first))
    fleet.tick()
    more = [Sample({"name": f"a-{i:03}"}, 0.9) for i in range(20)]  # sort before the others
    fleet.outcomes["pools"] = QueryOk(tuple(more + first))
    fleet.now += S30
    fleet.tick()
    rule = rule_of(fleet, "pools")
    assert len(rule.targets) == MAX_TARGETS
    assert rule.untracked == 20
    assert all(t.target.name.startswith("b-") for t in rule.targets)  # none dropped
    assert fleet.reasons().count(HealthReason.TOO_MANY_TARGETS) == 1


def test_the_cluster_target_merges_every_series() -> None:
    raw = policy(rules=[{"name": "err", "preset": "HealthError", "for": "0s"}])
    fleet = Fleet(spec_raw=raw)
    fleet.outcomes["err"] = QueryOk((Sample({"instance": "a"}, 2.0), Sample({"instance": "b"}, 2)))
    evaluation = fleet.tick()
    assert [t.target.key for t in evaluation.status.rules[0].targets] == ["cluster/ceph"]
    assert [n.event for n in evaluation.notifications] == [NotificationEvent.TRIGGER]
    assert {r.name for r in evaluation.notifications[0].receivers} == {"oncall", "chat"}


def test_a_removed_rule_resolves_what_it_triggered() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    fleet.spec_raw = policy(rules=[{"name": "other", "preset": "HealthError"}])
    fleet.tick()
    assert fleet.sent_events()[-1] == ("resolve", "osd/osd.3", ("chat",))
    assert fleet.status.rule("osd-down") is None
    assert HealthReason.RULE_REMOVED in fleet.reasons()


def test_an_invalid_spec_is_stalled_and_keeps_the_status() -> None:
    fleet = Fleet()
    fleet.osd_up[3] = False
    until(fleet, timedelta(minutes=1))
    world = replace(fleet.world(), spec=None)
    evaluation = evaluate(world)
    assert evaluation.status == world.status
    assert {c.type: c.status for c in evaluation.conditions} == {
        "Ready": "False",
        "Stalled": "True",
    }
    assert evaluation.actions == ()
    assert evaluation.notifications == ()
