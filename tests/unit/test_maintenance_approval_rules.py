"""spec.approval: the Maintenance, and with perNode each node, starts only once approved (in
spec.approvals or the annotation caretaker.dev/approved); the rules alone, and the shipped
executor against the fake cluster (``maintenance_worlds``)."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from maintenance_worlds import Cluster

from caretaker.domain.common.reasons import Reason
from caretaker.domain.maintenance.approval import approval_check
from caretaker.domain.maintenance.approval_spec import (
    WHOLE,
    Approval,
    ApprovalSpec,
    approved_annotation_value,
    parse_approved_annotation,
)
from caretaker.domain.maintenance.plan import plan_maintenance
from caretaker.domain.maintenance.spec import read_maintenance_spec
from caretaker.domain.maintenance.status import NodePhase

RELEASED: dict[str, Any] = {"release": ["*"]}  # no hold: a started node runs to the end
ASK = "kubectl caretaker approve nightly -n ops"


def approving(
    approval: dict[str, bool], nodes: tuple[str, ...] = ("a", "b"), **extra: Any
) -> Cluster:
    spec = {"nodes": list(nodes), "approval": approval, **copy.deepcopy(RELEASED), **extra}
    return Cluster(spec, {n: (i,) for i, n in enumerate(nodes)})


def annotate(cluster: Cluster, *entries: tuple[str, str]) -> None:
    cluster.approved_annotation = json.dumps([{"by": by, "node": node} for by, node in entries])


def condition(cluster: Cluster) -> dict[str, Any]:
    found = [c for c in cluster.status_doc["conditions"] if c["type"] == "Approved"]
    assert len(found) == 1, cluster.status_doc["conditions"]
    return dict(found[0])


def started(cluster: Cluster) -> list[str]:
    return [n.name for n in cluster.status.nodes if n.started_at or n.phase != NodePhase.PENDING]


def test_absent_means_no_approval_and_no_condition() -> None:
    spec, errors = read_maintenance_spec({"nodes": ["a"]})
    assert (errors, spec.approval if spec else None) == ([], ApprovalSpec())
    cluster = Cluster({"nodes": ["a"], **RELEASED}, {"a": (0,)})
    cluster.run_until(Cluster.finished)
    assert "Approved" not in [c["type"] for c in cluster.status_doc["conditions"]]
    assert cluster.status_doc.get("awaitingApproval") is None
    assert cluster.status_doc.get("approval") is None


@pytest.mark.parametrize(
    ("spec", "path", "words"),
    [
        ({"approval": {"required": "yes"}}, "spec.approval.required", "true or false"),
        ({"approval": {"perNodes": True}}, "spec.approval.perNodes", "unknown field"),
        ({"approval": []}, "spec.approval", "must be an object"),
        ({"approvals": {"by": "alice"}}, "spec.approvals", "must be a list"),
        ({"approvals": ["alice"]}, "spec.approvals[0]", "must be an object"),
        ({"approvals": [{"node": "a"}]}, "spec.approvals[0].by", "required"),
        ({"approvals": [{"by": " "}]}, "spec.approvals[0].by", "non-empty string"),
        ({"approvals": [{"by": "x", "node": "A b"}]}, "spec.approvals[0].node", '"*"'),
        ({"approvals": [{"by": "x", "node": "z"}]}, "spec.approvals[0].node", "spec.nodes"),
        ({"approvals": [{"by": "x", "at": "now"}]}, "spec.approvals[0].at", "unknown field"),
    ],
)
def test_bad_approval_specs_name_the_field(spec: dict[str, Any], path: str, words: str) -> None:
    _spec, errors = read_maintenance_spec({"nodes": ["a"], **spec})
    assert [(e.path, words in e.message) for e in errors] == [(path, True)], errors


def test_spec_approvals_are_read_with_star_as_the_default_node() -> None:
    raw = {
        "nodeSelector": {"role": "storage"},  # a selector's nodes are not known: any name
        "approval": {"required": True, "perNode": True},
        "approvals": [{"by": "alice"}, {"by": "bob", "node": "x-1"}],
    }
    spec, errors = read_maintenance_spec(raw)
    assert errors == []
    assert spec is not None
    assert spec.approval == ApprovalSpec(required=True, per_node=True)
    assert spec.approvals == (Approval("alice", WHOLE), Approval("bob", "x-1"))


NAMES = st.sampled_from(["alice", "bob", "ops team", "système"])
ENTRIES = st.lists(st.builds(Approval, NAMES, st.sampled_from([WHOLE, "a", "node-b.x"])))


@given(ENTRIES)
def test_the_annotation_reads_back_what_the_plugin_writes(entries: list[Approval]) -> None:
    assert parse_approved_annotation(approved_annotation_value(entries)) == (tuple(entries), "")


@given(st.text(max_size=40))
def test_any_annotation_is_read_or_refused_by_name_never_raises(text: str) -> None:
    approvals, problem = parse_approved_annotation(text)
    if problem:
        assert approvals == ()
        assert "annotation caretaker.dev/approved" in problem


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("alice", "is not JSON"),
        ('{"by": "alice"}', "must be a JSON list"),
        ('[{"by": ""}]', "by must be a non-empty string"),
        ('[{"by": "a", "node": "Node A"}]', "node must be a node name"),
        ('[{"by": "a", "when": 1}]', "only by and node"),
    ],
)
def test_a_malformed_annotation_says_why(text: str, words: str) -> None:
    assert parse_approved_annotation(text)[1].count(words) == 1


def test_required_waits_for_the_approval_then_records_who_and_when() -> None:
    cluster = approving({"required": True})
    for _ in range(5):
        cluster.step()
    assert cluster.actions == []
    assert cluster.status_doc["phase"] == "Pending"
    assert cluster.status_doc["message"] == f"waiting for approval of the Maintenance: {ASK}"
    assert cluster.status_doc["awaitingApproval"] == "Maintenance"
    assert (condition(cluster)["status"], condition(cluster)["reason"]) == (
        "False",
        "AwaitingApproval",
    )
    annotate(cluster, ("alice", "*"))
    approved_at = cluster.now
    cluster.run_until(Cluster.finished)
    assert cluster.status_doc["approval"] == {
        "approvedBy": "alice",
        "approvedAt": approved_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert cluster.status_doc["phase"] == "Completed"
    assert (condition(cluster)["status"], condition(cluster)["message"]) == (
        "True",
        "approved: the Maintenance by alice",
    )
    assert cluster.status_doc.get("awaitingApproval") is None
    approvals = [n for n in cluster.notes if n.reason == Reason.APPROVED]
    assert [n.message for n in approvals] == ["The Maintenance approved by alice"]
    assert cluster.leftovers() == []


def test_an_approval_withdrawn_before_the_start_counts_no_more() -> None:
    cluster = approving({"required": True}, suspend=True)
    cluster.spec_raw["approvals"] = [{"by": "alice"}]
    cluster.step()
    assert cluster.status.approval is not None
    del cluster.spec_raw["approvals"]
    cluster.step()
    assert cluster.status.approval is None
    assert "ApprovalWithdrawn" in cluster.reasons()
    cluster.spec_raw["suspend"] = False
    for _ in range(5):
        cluster.step()
    assert (cluster.actions, started(cluster)) == ([], [])
    assert cluster.status_doc["awaitingApproval"] == "Maintenance"


def test_withdrawing_after_the_start_stops_nothing_and_the_record_stays() -> None:
    cluster = approving({"required": True})
    annotate(cluster, ("alice", "*"))
    cluster.run_until(lambda c: c.phase("a") == NodePhase.DRAINING)
    cluster.approved_annotation = ""
    cluster.run_until(Cluster.finished)
    assert (cluster.phase("a"), cluster.phase("b")) == (NodePhase.COMPLETED, NodePhase.COMPLETED)
    assert cluster.status_doc["approval"]["approvedBy"] == "alice"
    assert "ApprovalWithdrawn" not in cluster.reasons()


def test_per_node_each_node_waits_for_its_own_approval_the_others_go_on() -> None:
    cluster = approving({"perNode": True})
    cluster.spec_raw["approvals"] = [{"by": "bob", "node": "b"}]
    cluster.run_until(lambda c: c.phase("b") == NodePhase.COMPLETED)
    assert cluster.phase("a") == NodePhase.PENDING
    assert cluster.record("a").message == f"waiting for approval of node a: {ASK} --node a"
    cluster.settle()
    assert cluster.status_doc["awaitingApproval"] == "a"
    assert cluster.status_doc["message"] == f"waiting for approval of node a: {ASK} --node a"
    assert condition(cluster)["reason"] == "AwaitingApproval"
    annotate(cluster, ("carol", "*"), ("carol", "a"))  # "*" approves the whole, not each node
    approved_at = cluster.now
    cluster.run_until(Cluster.finished)
    a, b = cluster.status_doc["nodes"][1], cluster.status_doc["nodes"][0]
    assert (a["name"], a["approvedBy"]) == ("a", "carol")
    assert a["approvedAt"] == approved_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert (b["name"], b["approvedBy"]) == ("b", "bob")
    assert condition(cluster)["message"] == "approved: node b by bob; node a by carol"


def test_required_and_per_node_wait_for_the_maintenance_first() -> None:
    cluster = approving({"required": True, "perNode": True}, nodes=("a",))
    annotate(cluster, ("bob", "a"))
    for _ in range(3):
        cluster.step()
    assert (cluster.actions, cluster.status_doc["awaitingApproval"]) == ([], "Maintenance")
    assert cluster.record("a").approved_by == "bob"  # recorded, the start waits all the same
    annotate(cluster, ("bob", "a"), ("alice", "*"))
    cluster.run_until(Cluster.finished)
    assert cluster.phase("a") == NodePhase.COMPLETED


def test_a_malformed_annotation_approves_nothing_and_says_so() -> None:
    cluster = approving({"required": True}, nodes=("a",))
    cluster.approved_annotation = "alice"
    for _ in range(3):
        cluster.step()
    assert cluster.actions == []
    message = condition(cluster)["message"]
    assert message.startswith(f"waiting for approval of the Maintenance: {ASK} (annotation ")
    assert "caretaker.dev/approved is not JSON" in message
    assert "it approves nothing" in cluster.status_doc["message"]
    cluster.spec_raw["approvals"] = [{"by": "alice"}]  # the spec still approves
    cluster.run_until(Cluster.finished)
    assert condition(cluster)["status"] == "True"


def test_abort_and_the_window_work_as_without_approvals() -> None:
    cluster = approving({"required": True}, abort=True)
    cluster.settle()
    assert (cluster.status_doc["phase"], cluster.actions) == ("Aborted", [])
    assert condition(cluster)["status"] == "True"  # nothing waits any more
    later = (cluster.now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    closed = approving({"required": True}, window={"start": later, "duration": "2h"})
    closed.step()
    assert closed.status_doc["phase"] == "Scheduled"
    assert closed.status_doc["message"].startswith(
        f"waiting for approval of the Maintenance: {ASK}; waiting for the maintenance window at"
    )


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    required=st.booleans(),
    per_node=st.booleans(),
    given_for=st.sets(st.sampled_from([WHOLE, "a", "b", "c"])),
    in_spec=st.booleans(),
)
def test_a_node_starts_only_when_what_it_needs_is_approved(
    required: bool, per_node: bool, given_for: set[str], in_spec: bool
) -> None:
    cluster = approving({"required": required, "perNode": per_node}, nodes=("a", "b", "c"))
    entries = sorted(given_for)
    if in_spec:
        cluster.spec_raw["approvals"] = [{"by": "ops", "node": n} for n in entries]
    else:
        annotate(cluster, *(("ops", n) for n in entries))
    cluster.settle()
    whole = not required or WHOLE in given_for
    expected = [n for n in ("a", "b", "c") if whole and (not per_node or n in given_for)]
    assert sorted(started(cluster)) == expected
    assert all(cluster.phase(n) == NodePhase.COMPLETED for n in expected)
    assert cluster.violations == []
    waiting = cluster.status_doc.get("awaitingApproval")
    assert (waiting is None) == (len(expected) == 3)
    plan = {n: approval_check(cluster.world(), cluster.world().spec, n) for n in "abc"}  # type: ignore[arg-type]
    if required or per_node:
        assert {n for n, check in plan.items() if check and check[0]} == set(expected)
    else:
        assert set(plan.values()) == {None}


def test_the_plan_shows_the_approval_each_node_waits_for() -> None:
    cluster = approving({"required": True, "perNode": True})
    cluster.spec_raw["approvals"] = [{"by": "alice"}, {"by": "bob", "node": "b"}]
    world = cluster.world()
    assert world.spec is not None
    plan = plan_maintenance(world, world.spec)
    checks = {n.name: n.checks[0] for n in plan.nodes}
    assert (checks["a"].name, checks["a"].holds) == ("approval", False)
    assert checks["a"].detail == f"waiting for approval of node a ({ASK} --node a)"
    assert (checks["b"].holds, checks["b"].detail) == (True, "approved by alice, bob")
    assert not plan.nodes[0].gates_hold
    assert plan.would_start == "b"
    del cluster.spec_raw["approvals"]
    world = cluster.world()
    assert world.spec is not None
    plan = plan_maintenance(world, world.spec)
    assert plan.would_start is None
    assert [n.checks[0].holds for n in plan.nodes] == [False, False]
    assert plan.next_step == f"waiting for approval of the Maintenance: {ASK}"
