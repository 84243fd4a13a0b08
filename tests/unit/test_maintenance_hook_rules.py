"""spec.hooks: blocking pre- and post-hooks, run by the shipped executor against the fake cluster
(``maintenance_worlds``): its HTTP hook answers are scripted, its Jobs finish one tick after
they are created (``Cluster.job_outcome``)."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from maintenance_worlds import IDENTITY, Cluster

from caretaker.clients.hooks.http import HookAnswer
from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.jobs import job_state
from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.domain.common.reasons import WARNING
from caretaker.domain.maintenance.actions import (
    AcquireLease,
    ClaimDomain,
    Cordon,
    ReleaseClaim,
    ReleaseLease,
    SetNoout,
    Uncordon,
    UnsetNoout,
)
from caretaker.domain.maintenance.hook_record import HookState
from caretaker.domain.maintenance.hooks import ticket_of
from caretaker.domain.maintenance.spec import read_maintenance_spec
from caretaker.domain.maintenance.status import NodePhase

URL = "https://tickets.example.com/api/change"
TEMPLATE: dict[str, Any] = {
    "spec": {"containers": [{"name": "check", "image": "busybox", "command": ["true"]}]}
}


def http(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "http": {"url": URL, **extra}}


def job(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "job": {"template": copy.deepcopy(TEMPLATE), **extra}}


def hooked(hooks: dict[str, Any], nodes: tuple[str, ...] = ("a",)) -> Cluster:
    spec = {
        "nodes": list(nodes),
        "hooks": hooks,
        "release": ["*"],
        "hold": {"mode": "auto"},
        "gates": {"allowedWarnings": ["OSD_FLAGS"]},
    }
    return Cluster(spec, {n: (i,) for i, n in enumerate(nodes)})


def entries(cluster: Cluster) -> dict[tuple[str, str, str], Any]:
    return {h.key: h for h in cluster.status.hooks}


def condition(cluster: Cluster, kind: str) -> dict[str, Any]:
    (found,) = [c for c in cluster.status_doc["conditions"] if c["type"] == kind]
    return dict(found)


# -- the spec ---------------------------------------------------------------------------------


def test_defaults() -> None:
    spec, errors = read_maintenance_spec(
        {"nodes": ["a"], "hooks": {"preNode": [http("ticket")], "postNode": [job("check")]}}
    )
    assert errors == []
    assert spec is not None
    (pre,) = spec.hooks.pre_node
    assert pre.http is not None
    assert (pre.http.method, pre.http.timeout, pre.http.retries) == (
        "POST",
        timedelta(seconds=10),
        3,
    )
    (post,) = spec.hooks.post_node
    assert post.job is not None
    assert (post.job.timeout, post.job.backoff_limit) == (timedelta(minutes=30), 0)


@pytest.mark.parametrize(
    ("hooks", "path", "words"),
    [
        ({"preNode": [{"name": "x"}]}, "spec.hooks.preNode[0]", "exactly one of http or job"),
        (
            {"preNode": [{**http("x"), "job": {"template": TEMPLATE}}]},
            "spec.hooks.preNode[0]",
            "exactly one",
        ),
        ({"preNode": [http("Bad_Name")]}, "spec.hooks.preNode[0].name", "lower-case"),
        ({"preNode": [http("x"), http("x")]}, "spec.hooks.preNode[1].name", "listed twice"),
        (
            {"preNode": [{"name": "x", "http": {}}]},
            "spec.hooks.preNode[0].http",
            "url or urlSecret",
        ),
        (
            {"preNode": [{"name": "x", "http": {"url": "ftp://h/x"}}]},
            "spec.hooks.preNode[0].http.url",
            "http",
        ),
        (
            {"preNode": [http("x", method="GET")]},
            "spec.hooks.preNode[0].http.method",
            "POST or PUT",
        ),
        (
            {"preNode": [http("x", timeout="2m")]},
            "spec.hooks.preNode[0].http.timeout",
            "at most 60s",
        ),
        (
            {"preNode": [http("x", timeout="0s")]},
            "spec.hooks.preNode[0].http.timeout",
            "longer than zero",
        ),
        ({"preNode": [http("x", retries=9)]}, "spec.hooks.preNode[0].http.retries", "at most 5"),
        ({"preNode": [http("x", retries=-1)]}, "spec.hooks.preNode[0].http.retries", "at least 0"),
        (
            {"preNode": [http("x", ticketField="a..b")]},
            "spec.hooks.preNode[0].http.ticketField",
            "dotted path",
        ),
        (
            {"preNode": [http("x", headers={"Idempotency-Key": "1"})]},
            'spec.hooks.preNode[0].http.headers["Idempotency-Key"]',
            "set by Caretaker",
        ),
        (
            {
                "preNode": [
                    {"name": "x", "http": {"url": URL, "urlSecret": {"name": "s", "key": "k"}}}
                ]
            },
            "spec.hooks.preNode[0].http",
            "exactly one of url or urlSecret",
        ),
        (
            {"preNode": [{"name": "x", "http": {"urlSecret": {"name": "s"}}}]},
            "spec.hooks.preNode[0].http.urlSecret.key",
            "required",
        ),
        (
            {"postNode": [{"name": "x", "job": {"template": {}}}]},
            "spec.hooks.postNode[0].job.template",
            "containers",
        ),
        (
            {"postNode": [job("x", timeout="48h")]},
            "spec.hooks.postNode[0].job.timeout",
            "at most 24h",
        ),
        (
            {"postNode": [job("x", backoffLimit=11)]},
            "spec.hooks.postNode[0].job.backoffLimit",
            "at most 10",
        ),
        ({"duringNode": []}, "spec.hooks.duringNode", "unknown field"),
        ({"preNode": "x"}, "spec.hooks.preNode", "list"),
    ],
)
def test_bad_hooks_are_refused_naming_the_field(
    hooks: dict[str, Any], path: str, words: str
) -> None:
    _, errors = read_maintenance_spec({"nodes": ["a"], "hooks": hooks})
    assert any(e.path == path and words in e.message for e in errors), errors
    assert all("Error" not in e.message for e in errors)


@given(st.lists(st.sampled_from(["result", "number", "0", "1", "x-y"]), min_size=1, max_size=4))
def test_ticket_field_reads_a_dotted_path(parts: list[str]) -> None:
    document: Any = "T-1"
    for part in reversed(parts):
        document = [document] * 2 if part.isdigit() else {part: document}
    assert ticket_of(document, ".".join(parts)) == "T-1"
    assert ticket_of({"other": 1}, ".".join(parts)) == ""


# -- the executor -----------------------------------------------------------------------------


def test_every_stage_runs_in_its_place_and_the_ticket_is_kept() -> None:
    cluster = hooked(
        {
            "preMaintenance": [http("open-change")],
            "preNode": [http("ticket", ticketField="result.number", headers={"X-Team": "storage"})],
            "postNode": [job("smoke")],
            "postMaintenance": [http("close-change", method="PUT")],
        }
    )
    cluster.hooks.answers["ticket"] = [HookAnswer(201, {"result": {"number": "CHG0042"}}, 1)]
    marks: dict[str, int] = {}
    for _ in range(300):
        calls, actions, jobs = (
            len(cluster.hooks.calls),
            len(cluster.actions),
            len(cluster.hooks.jobs),
        )
        cluster.step()
        if len(cluster.hooks.calls) > calls:
            marks[cluster.hooks.calls[-1].record.name] = actions
        if len(cluster.hooks.jobs) > jobs:
            marks["smoke"] = actions
        if cluster.finished():
            break
    assert cluster.steps[-1].summary.phase == "Completed"
    done = cluster.actions
    assert marks["open-change"] == 0  # before the node's Lease
    assert done[: marks["ticket"]] == [AcquireLease("a"), ClaimDomain("a", "rack-a", (0,))]
    assert done[marks["ticket"]] == SetNoout("a", (0,))  # before noout and the cordon
    assert {Uncordon("a"), UnsetNoout("a", (0,)), ReleaseClaim("a"), ReleaseLease("a")} <= set(
        done[: marks["smoke"]]
    )
    assert marks["close-change"] == len(done)
    assert [c.record.name for c in cluster.hooks.calls] == ["open-change", "ticket", "close-change"]
    found = entries(cluster)
    assert {h.state for h in found.values()} == {HookState.SUCCEEDED}
    assert found[("preNode", "a", "ticket")].ticket == "CHG0042"
    assert found[("postNode", "a", "smoke")].job in cluster.hooks.jobs
    ticket_call = cluster.hooks.calls[1]
    assert ticket_call.body["maintenance"] == {
        "namespace": "ops",
        "name": "nightly",
        "uid": "9f1c-uid",
    }
    assert (ticket_call.body["stage"], ticket_call.body["node"], ticket_call.body["osds"]) == (
        "preNode",
        "a",
        [0],
    )
    assert ticket_call.idempotency_key == "9f1c-uid-preNode-a-ticket"
    assert ticket_call.headers == (("X-Team", "storage"),)
    close = cluster.hooks.calls[2]
    assert (close.method, close.body["outcome"], close.body["node"]) == ("PUT", "Completed", None)
    assert condition(cluster, "HooksSucceeded")["status"] == "True"
    reasons = cluster.reasons()
    assert reasons.count("HookSucceeded") == 4
    smoke = next(i for i, n in enumerate(cluster.notes) if "postNode hook smoke" in n.message)
    assert smoke < reasons.index("NodeCompleted")  # the node is Completed after its postNode
    assert cluster.leftovers() == []
    assert cluster.violations == []


def test_the_job_names_the_maintenance_carries_the_variables_and_is_owned() -> None:
    cluster = hooked({"postNode": [job("smoke")]}, nodes=("node-a.example.com",))
    cluster.run_until(lambda c: bool(c.hooks.jobs))
    (name,) = cluster.hooks.jobs
    assert len(name) <= 63
    assert name.startswith("nightly-smoke-node-a-example-com-")
    manifest = cluster.hooks.jobs[name]["manifest"]
    assert manifest["metadata"]["labels"] == {
        "caretaker.dev/maintenance": "nightly",
        "caretaker.dev/hook": "smoke",
    }
    (owner,) = manifest["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Maintenance", "nightly", "9f1c-uid")
    spec = manifest["spec"]
    assert (spec["backoffLimit"], spec["activeDeadlineSeconds"]) == (0, 1800)
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    (container,) = spec["template"]["spec"]["containers"]
    assert {e["name"]: e["value"] for e in container["env"]} == {
        "CARETAKER_STAGE": "postNode",
        "CARETAKER_NODE": "node-a.example.com",
        "CARETAKER_MAINTENANCE": IDENTITY,
    }
    assert cluster.phase("node-a.example.com") == NodePhase.RESTORING  # waits for the Job
    cluster.settle()
    assert cluster.phase("node-a.example.com") == NodePhase.COMPLETED


def test_a_failed_pre_node_hook_blocks_and_leaves_nothing_on_the_node() -> None:
    cluster = hooked({"preNode": [http("ticket", retries=0)]}, nodes=("a", "b"))
    refusal = DeliveryFailed(
        "hook ticket (tickets.example.com) answered HTTP 500: boom", retryable=True, status=500
    )
    cluster.hooks.answers["ticket"] = [refusal]
    step = cluster.settle()
    assert Cordon("a") not in cluster.actions
    assert SetNoout("a", (0,)) not in cluster.actions
    assert cluster.actions == [
        AcquireLease("a"),
        ClaimDomain("a", "rack-a", (0,)),
        ReleaseClaim("a"),
        ReleaseLease("a"),
    ]
    assert cluster.leftovers() == []
    assert (cluster.phase("a"), cluster.phase("b")) == (NodePhase.PENDING, NodePhase.PENDING)
    assert len(cluster.hooks.calls) == 1  # not called again until the spec changes
    assert step.summary.reason == "HookFailed"
    assert step.summary.stalled
    assert "preNode hook ticket of node a failed" in step.summary.message
    assert "HTTP 500: boom" in step.summary.message
    assert "HTTP 500: boom" in cluster.record("a").message
    assert condition(cluster, "Stalled")["status"] == "True"
    assert condition(cluster, "HooksSucceeded")["reason"] == "HookFailed"
    assert [n.type for n in cluster.notes if n.reason == "HookFailed"] == [WARNING]
    # fixed at the receiver, and the spec edited: the hook runs again and the nodes go on
    cluster.hooks.answers["ticket"] = [HookAnswer(200, {}, 1)]
    cluster.generation += 1
    cluster.settle()
    assert cluster.steps[-1].summary.phase == "Completed"
    assert entries(cluster)[("preNode", "a", "ticket")].attempts == 2
    assert cluster.violations == []


def test_a_failed_pre_maintenance_hook_starts_no_node() -> None:
    cluster = hooked({"preMaintenance": [job("approve")]})
    cluster.hooks.job_outcome = "Failed"
    step = cluster.settle()
    assert cluster.actions == []
    assert cluster.phase() == NodePhase.PENDING
    assert step.summary.reason == "HookFailed"
    assert "preMaintenance hook approve failed: Job" in step.summary.message
    assert "BackoffLimitExceeded" in step.summary.message


def test_a_failed_post_node_hook_is_reported_and_the_maintenance_completes() -> None:
    cluster = hooked({"postNode": [job("smoke")], "postMaintenance": [http("close")]})
    cluster.hooks.job_outcome = "Failed"
    step = cluster.settle()
    assert step.summary.phase == "Completed"
    assert cluster.phase() == NodePhase.COMPLETED
    assert entries(cluster)[("postNode", "a", "smoke")].state == HookState.FAILED
    assert entries(cluster)[("postMaintenance", "", "close")].state == HookState.SUCCEEDED
    hooks = condition(cluster, "HooksSucceeded")
    assert (hooks["status"], hooks["reason"]) == ("False", "HookFailed")
    assert "postNode hook smoke of node a" in hooks["message"]
    assert "HookFailed" in cluster.reasons()
    assert cluster.leftovers() == []


def test_a_job_that_does_not_finish_in_time_fails_the_hook() -> None:
    cluster = hooked({"preNode": [job("slow", timeout="1m")]})
    cluster.hooks.job_outcome = ""  # never finishes
    cluster.run_until(lambda c: c.phase() == NodePhase.PENDING and bool(c.hooks.jobs), max_steps=60)
    cluster.settle()
    record = entries(cluster)[("preNode", "a", "slow")]
    assert record.state == HookState.FAILED
    assert "did not complete within 1m" in record.message
    assert Cordon("a") not in cluster.actions
    assert cluster.leftovers() == []


def test_a_lost_status_write_sends_the_request_again_with_the_same_key() -> None:
    cluster = hooked({"preNode": [http("ticket")]})
    cluster.run_until(
        lambda c: c.phase() == NodePhase.PREFLIGHT and ClaimDomain("a", "rack-a", (0,)) in c.actions
    )
    while not cluster.hooks.calls:
        cluster.step(crash="unsaved")  # the call is made, the operator dies at the write
    cluster.settle()
    keys = {c.idempotency_key for c in cluster.hooks.calls}
    assert len(cluster.hooks.calls) == 2
    assert keys == {"9f1c-uid-preNode-a-ticket"}
    assert cluster.steps[-1].summary.phase == "Completed"
    # once recorded, a restart never sends it again
    assert len(cluster.hooks.calls) == 2


def test_a_job_refused_for_good_fails_the_hook_and_a_lost_create_is_tried_again() -> None:
    cluster = hooked({"postNode": [job("smoke")]})
    cluster.hooks.create_errors = [KubeApiError(0, "", "connection reset")]
    cluster.settle()
    assert entries(cluster)[("postNode", "a", "smoke")].state == HookState.SUCCEEDED
    assert len(cluster.hooks.jobs) == 1

    refused = hooked({"preNode": [job("smoke")]})
    invalid = 'Job.batch "x" is invalid: spec.template.spec.containers[0].image: Required value'
    refused.hooks.create_errors = [KubeApiError(422, "Invalid", invalid)]
    refused.settle()
    record = entries(refused)[("preNode", "a", "smoke")]
    assert record.state == HookState.FAILED
    assert "HTTP 422 Invalid" in record.message
    assert "image: Required value" in record.message
    assert Cordon("a") not in refused.actions
    assert refused.leftovers() == []


def test_job_state_reads_the_conditions() -> None:
    failed = {
        "metadata": {"name": "j"},
        "status": {
            "conditions": [
                {
                    "type": "Failed",
                    "status": "True",
                    "reason": "DeadlineExceeded",
                    "message": "Job was active longer than specified deadline",
                }
            ]
        },
    }
    state = job_state(failed)
    assert (state.complete, state.failed) == (False, True)
    assert state.message == "DeadlineExceeded: Job was active longer than specified deadline"
    done = {
        "metadata": {"name": "j"},
        "status": {"conditions": [{"type": "Complete", "status": "True"}]},
    }
    assert (job_state(done).complete, job_state(done).failed) == (True, False)
    running = {"metadata": {"name": "j"}, "status": {"active": 1}}
    assert (job_state(running).complete, job_state(running).failed) == (False, False)


@given(
    kills=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=40),
    job_first=st.booleans(),
)
def test_crashes_anywhere_never_repeat_a_finished_hook_nor_leave_anything(
    kills: list[int], job_first: bool
) -> None:
    """The operator dies at a random port call in many rounds: every hook still runs to
    success, a Job is created once per hook run, and nothing of Caretaker's is left."""
    pre = [job("approve")] if job_first else [http("ticket")]
    cluster = hooked({"preNode": pre, "postNode": [job("smoke"), http("close")]}, ("a", "b"))
    for kill in kills:
        cluster.step(kill_at=kill)
    cluster.settle()
    assert cluster.steps[-1].summary.phase == "Completed"
    found = entries(cluster)
    assert len(found) == 6
    assert {h.state for h in found.values()} == {HookState.SUCCEEDED}
    assert len(cluster.hooks.jobs) == sum(h.kind == "job" for h in found.values())
    assert all(h.attempts == 1 for h in found.values() if h.kind == "job")
    assert cluster.leftovers() == []
    assert cluster.violations == []
