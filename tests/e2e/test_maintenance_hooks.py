"""spec.hooks end to end: the real operator, API server, kubelets and Ceph.

A preNode HTTP hook goes to a real HTTP receiver (tests/fixtures/receivers.py) that answers with a
ticket number, and a postNode Job hook runs a real pod (the testbed's workload image) that checks
the variables Caretaker gave it; the node is Completed only after the Job completed. A preNode
hook answered with HTTP 500 blocks: the node is never cordoned, nothing of Caretaker's is left
on it, the status says why; after the spec is edited the hook runs again and the node goes on.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import api_path, request_json
from caretaker.clients.kube.events import ObjectRef
from fixtures.ceph import CephTestbed
from fixtures.cluster import NodeSide
from fixtures.kube_reads import list_events
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    disruption_claims,
    get_maintenance,
    is_cordoned,
    lease_holder,
    node_status,
    noout_osds,
    patch_maintenance,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until
from fixtures.receivers import MakeReceiver, Reply

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]
# Nothing of the node is evicted (no pod has this label): the OSD pod stays, so the node's
# restore does not wait for Rook's pod to come back; noout, the cordon and the Lease are real.
QUICK = {
    "drain": {"podSelector": {"app": "no-such-app"}},
    "hold": {"mode": "duration", "duration": "1s"},
}


def _hooks(status: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(h["stage"], h["name"]): h for h in status.get("hooks") or []}


def _reasons(api: ApiClient, namespace: str, name: str) -> list[tuple[str, str]]:
    obj = get_maintenance(api, namespace, name)
    assert obj is not None
    ref = ObjectRef(
        "caretaker.dev/v1alpha1", "Maintenance", name, namespace, obj["metadata"]["uid"]
    )
    return [(e.reason, e.message) for e in list_events(api, ref)]


def _job(api: ApiClient, namespace: str, name: str) -> dict[str, Any]:
    path = api_path("/apis/batch/v1/namespaces/{}/jobs/{}", namespace, name)
    job: dict[str, Any] = request_json(api, "GET", path)
    return job


def test_a_ticket_from_the_pre_node_hook_and_a_post_node_job_before_the_node_completes(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    node_side: NodeSide,
    run_operator: OperatorFactory,
    namespace: str,
    make_receiver: MakeReceiver,
) -> None:
    node = sorted(clean_nodes)[0]
    receiver = make_receiver(Reply(201, {"result": {"number": "CHG0042", "state": "new"}}))
    check = f'test "$CARETAKER_NODE" = "{node}" && test "$CARETAKER_STAGE" = postNode'
    smoke = {
        "template": {
            "spec": {
                "containers": [
                    {
                        "name": "check",
                        "image": node_side.images["WORKLOAD"],
                        "imagePullPolicy": "Never",
                        "command": ["sh", "-c", f"{check} && sleep 3"],
                    }
                ]
            }
        },
        "timeout": "3m",
    }
    spec = {
        "nodes": [node],
        **QUICK,
        "hooks": {
            "preNode": [
                {
                    "name": "ticket",
                    "http": {
                        "url": f"{receiver.url}/api/change",
                        "ticketField": "result.number",
                        "retries": 0,
                    },
                }
            ],
            "postNode": [{"name": "smoke", "job": smoke}],
        },
    }
    create_maintenance(kube_api, namespace, "hooked", spec)
    with run_operator():
        status = wait_phase(kube_api, namespace, "hooked", "Completed", timeout=240)
    hooks = _hooks(status)
    ticket, job_hook = hooks[("preNode", "ticket")], hooks[("postNode", "smoke")]
    assert (ticket["state"], ticket["ticket"], ticket["node"]) == ("Succeeded", "CHG0042", node)
    assert job_hook["state"] == "Succeeded"
    (request,) = receiver.requests
    assert request.path == "/api/change"
    assert request.json["stage"] == "preNode"
    assert request.json["node"] == node
    assert request.json["osds"] == clean_nodes[node]
    uid = get_maintenance(kube_api, namespace, "hooked")["metadata"]["uid"]  # type: ignore[index]
    assert request.json["maintenance"] == {"namespace": namespace, "name": "hooked", "uid": uid}
    assert request.header("Idempotency-Key") == f"{uid}-preNode-{node}-ticket"
    # The Job ran on a real kubelet and completed (its command checked the variables) ...
    job = _job(kube_api, namespace, job_hook["job"])
    conditions = {c["type"]: c["status"] for c in job["status"].get("conditions") or []}
    assert conditions.get("Complete") == "True"
    (owner,) = job["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Maintenance", "hooked", uid)
    assert job["metadata"]["labels"]["caretaker.dev/maintenance"] == "hooked"
    # ... before the node was Completed; the ticket was opened before anything changed on it
    finished = node_status(status, node)["finishedAt"]
    assert job["status"]["completionTime"] <= finished
    reasons = [r for r, _ in _reasons(kube_api, namespace, "hooked")]
    assert reasons.index("HookSucceeded") < reasons.index("NooutSet") < reasons.index("Cordoned")
    last_hook = len(reasons) - 1 - reasons[::-1].index("HookSucceeded")
    assert reasons.index("Uncordoned") < last_hook < reasons.index("NodeCompleted")
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["HooksSucceeded"]["status"] == "True"
    assert not is_cordoned(kube_api, node)
    assert noout_osds(ceph_cluster) == set()


def test_a_failed_pre_node_hook_blocks_and_says_why_until_the_spec_is_edited(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
    make_receiver: MakeReceiver,
) -> None:
    node = sorted(clean_nodes)[0]
    receiver = make_receiver(Reply.text(500, "change freeze in effect"))
    hook = {"name": "ticket", "http": {"url": f"{receiver.url}/api/change", "retries": 0}}
    spec = {"nodes": [node], **QUICK, "hooks": {"preNode": [hook]}}
    create_maintenance(kube_api, namespace, "blocked", spec)
    identity = f"{namespace}/blocked"
    cordoned: list[bool] = []

    def given_back() -> dict[str, Any] | None:
        cordoned.append(is_cordoned(kube_api, node))
        status = status_of(kube_api, namespace, "blocked")
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        stalled = conditions.get("Stalled", {}).get("status") == "True"
        pending = any(n["phase"] == "Pending" for n in status.get("nodes") or [])
        return status if stalled and pending and lease_holder(kube_api, node) != identity else None

    with run_operator():
        status = wait_until(given_back, 120, "the failed hook to give the node back")
        assert isinstance(status, dict)
        time.sleep(5)  # several reconciles: the failed hook is not called again, nothing starts
        assert len(receiver.requests) == 1
        assert status_of(kube_api, namespace, "blocked")["nodes"][0]["phase"] == "Pending"
        assert not any(cordoned)
        assert not is_cordoned(kube_api, node)
        assert noout_osds(ceph_cluster) == set()
        assert not [c for c in disruption_claims(kube_api) if identity in c]
        entry = _hooks(status)[("preNode", "ticket")]
        assert entry["state"] == "Failed"
        assert "HTTP 500: change freeze in effect" in entry["message"]
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Stalled"]["reason"] == "HookFailed"
        assert "preNode hook ticket of node" in conditions["Stalled"]["message"]
        assert "HTTP 500: change freeze in effect" in conditions["Stalled"]["message"]
        assert conditions["HooksSucceeded"]["status"] == "False"
        warnings = [m for r, m in _reasons(kube_api, namespace, "blocked") if r == "HookFailed"]
        assert warnings
        assert "change freeze in effect" in warnings[0]
        # The change freeze is over, and the spec is edited: the hook runs again, the node goes on.
        receiver.answer_with(Reply(200, {}))
        patch_maintenance(kube_api, namespace, "blocked", {"spec": {"hold": {"duration": "2s"}}})
        status = wait_phase(kube_api, namespace, "blocked", "Completed", timeout=180)
    assert len(receiver.requests) == 2
    assert _hooks(status)[("preNode", "ticket")]["state"] == "Succeeded"
    assert _hooks(status)[("preNode", "ticket")]["attempts"] == 2
    assert not is_cordoned(kube_api, node)
    assert noout_osds(ceph_cluster) == set()
