"""Maintenance safety end to end: budgets, failure domains, crashes, deletion, bad input."""

from __future__ import annotations

import signal
import time
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import MERGE_PATCH, KubeApiError, api_path, request_json
from fixtures.ceph import CephTestbed
from fixtures.cluster import NodeSide, create_deployment, node_of, wait_pdb_allows, wait_running
from fixtures.kube import create_pdb_v1beta1
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    delete_maintenance,
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

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]


def _nothing_left(api: ApiClient, ceph: CephTestbed, nodes: list[str], identity: str) -> None:
    assert noout_osds(ceph) == set()
    assert ceph.ceph("osd", "dump").get("crush_node_flags", {}) == {}
    for node in nodes:
        assert not is_cordoned(api, node), f"{node} left cordoned"
        assert lease_holder(api, node) != identity, f"{node} Lease left held"


def _guarded_pod(api: ApiClient, namespace: str, node: str, image: str) -> None:
    """One replica of Deployment "db" running on ``node`` behind a budget (minAvailable 1) that
    the disruption controller computes to allow no disruption."""
    selector = create_deployment(api, namespace, "db", image, prefer=node)
    create_pdb_v1beta1(api, namespace, "db", {"app": "db"}, min_available=1)
    assert [node_of(p) for p in wait_running(api, namespace, selector, 1)] == [node]
    wait_pdb_allows(api, namespace, "db", 0)


def _allow_one_disruption(api: ApiClient, namespace: str) -> None:
    """Headroom, as a team would give it: a second replica (elsewhere: the node is cordoned),
    and the budget allows one disruption once both run."""
    path = api_path("/apis/apps/v1/namespaces/{}/deployments/{}", namespace, "db")
    request_json(api, "PATCH", path, body={"spec": {"replicas": 2}}, content_type=MERGE_PATCH)


def test_budget_blocks_the_drain_until_it_allows(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    node_side: NodeSide,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    _guarded_pod(kube_api, namespace, node, node_side.images["WORKLOAD"])
    create_maintenance(
        kube_api,
        namespace,
        "disk",
        {"nodes": [node], "hold": {"mode": "duration", "duration": "1s"}},
    )
    with run_operator():

        def blocked() -> dict[str, Any] | None:
            status = status_of(kube_api, namespace, "disk")
            ok = status.get("phase") == "Draining" and "disruption budget" in status.get(
                "message", ""
            )
            return status if ok else None

        try:
            status = wait_until(blocked, 60, "drain held by the budget")
        except AssertionError as error:
            raise AssertionError(f"{error}: {status_of(kube_api, namespace, 'disk')}") from None
        assert isinstance(status, dict)
        assert f"{namespace}/db-" in status["message"]
        time.sleep(3)
        assert status_of(kube_api, namespace, "disk")["phase"] == "Draining"
        assert [node_of(p) for p in wait_running(kube_api, namespace, "app=db", 1)] == [node]
        _allow_one_disruption(kube_api, namespace)
        wait_phase(kube_api, namespace, "disk", "Completed", timeout=180)
    assert node not in {node_of(p) for p in wait_running(kube_api, namespace, "app=db", 2)}
    _nothing_left(kube_api, ceph_cluster, [node], f"{namespace}/disk")


def test_two_failure_domains_one_after_the_other(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    first, second = sorted(clean_nodes)[:2]
    create_maintenance(
        kube_api,
        namespace,
        "roll",
        {
            "nodes": [first, second],
            "strategy": {"maxUnavailable": 1},
            "hold": {"mode": "duration", "duration": "1s"},
        },
    )
    seen_active: list[set[str]] = []
    with run_operator():
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            status = status_of(kube_api, namespace, "roll")
            active = set(filter(None, (status.get("currentNode") or "").split(",")))
            seen_active.append(active)
            assert len(active) <= 1, f"two failure domains at once: {active}"
            if status.get("phase") == "Completed":
                break
            time.sleep(0.2)
    assert status.get("phase") == "Completed", status
    a, b = node_status(status, first), node_status(status, second)
    assert a["failureDomain"] != b["failureDomain"]
    assert b["startedAt"] >= a["finishedAt"], "the second node started before the first ended"
    assert {first} in seen_active or {second} in seen_active
    _nothing_left(kube_api, ceph_cluster, [first, second], f"{namespace}/roll")


@pytest.mark.parametrize("phase", ["Draining", "InMaintenance", "Restoring"])
def test_operator_killed_in_a_phase_resumes(
    phase: str,
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    node_side: NodeSide,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[2]
    osds = clean_nodes[node]
    _guarded_pod(kube_api, namespace, node, node_side.images["WORKLOAD"])
    create_maintenance(kube_api, namespace, "crash", {"nodes": [node], "hold": {"mode": "manual"}})
    with run_operator() as operator:
        if phase != "Draining":
            _allow_one_disruption(kube_api, namespace)
        if phase == "Restoring":
            # the drain evicted the OSD pod: restoring waits while it comes back after the
            # uncordon, time enough to be killed in
            wait_phase(kube_api, namespace, "crash", "InMaintenance")
            patch_maintenance(kube_api, namespace, "crash", {"spec": {"release": [node]}})
        wait_phase(kube_api, namespace, "crash", phase)
        operator.send_signal(signal.SIGKILL)
        operator.wait()
    # the world moves on while no operator runs
    if phase == "Draining":
        _allow_one_disruption(kube_api, namespace)
    patch_maintenance(kube_api, namespace, "crash", {"spec": {"release": [node]}})
    with run_operator():
        status = wait_phase(kube_api, namespace, "crash", "Completed", timeout=180)
    record = node_status(status, node)
    assert record["noout"]["state"] == "Lifted", record
    assert record["podsEvicted"] >= 1 + len(osds), record  # db and the OSD pods
    _nothing_left(kube_api, ceph_cluster, [node], f"{namespace}/crash")


def test_deleting_midway_restores_everything(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    create_maintenance(kube_api, namespace, "gone", {"nodes": [node], "ceph": {"noout": "host"}})
    with run_operator():
        wait_phase(kube_api, namespace, "gone", "InMaintenance")
        assert ceph_cluster.ceph("osd", "dump")["crush_node_flags"], "host noout expected"
        assert is_cordoned(kube_api, node)
        delete_maintenance(kube_api, namespace, "gone")
        wait_until(
            lambda: get_maintenance(kube_api, namespace, "gone") is None,
            60,
            "the Maintenance to be gone",
        )
    _nothing_left(kube_api, ceph_cluster, [node], f"{namespace}/gone")


BAD_SPECS = [
    ({"nodes": ["no-such-node"]}, "TargetsNotFound", "no-such-node"),
    ({"nodeSelector": {"rack": "r99"}}, "TargetsNotFound", "matches no node"),
    ({"nodes": ["a", "a"]}, "InvalidSpec", "listed twice"),
    (
        {"nodes": ["x"], "window": {"schedule": "61 * * * *", "duration": "2h"}},
        "InvalidSpec",
        "not a valid cron",
    ),
    (
        {
            "nodes": ["x"],
            "window": {"schedule": "0 2 * * *", "duration": "2h", "timeZone": "Mars/Olympus"},
        },
        "InvalidSpec",
        "unknown time zone",
    ),
    (
        {"nodes": ["x"], "window": {"start": "2020-01-01T00:00:00Z", "duration": "10m"}},
        "InvalidSpec",
        "shorter than spec.strategy.nodeDurationEstimate",
    ),
    (
        {"nodes": ["{node}"], "window": {"start": "2020-01-01T00:00:00Z", "duration": "1h"}},
        "WindowOver",
        "window ended",
    ),
    ({"nodes": ["x"], "drain": {"timeout": "0s"}}, "InvalidSpec", "longer than zero"),
    ({"nodes": ["x"], "nodeSelector": {"a": "b"}}, "InvalidSpec", "not both"),
]


def test_bad_specs_stall_with_a_message_and_touch_nothing(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[0]
    for index, (spec, _reason, _text) in enumerate(BAD_SPECS):
        nodes = [n.replace("{node}", node) for n in spec.get("nodes", [])]
        create_maintenance(
            kube_api, namespace, f"bad-{index}", {**spec, **({"nodes": nodes} if nodes else {})}
        )
    with run_operator():
        for index, (_spec, reason, text) in enumerate(BAD_SPECS):

            def stalled(name: str = f"bad-{index}") -> dict[str, Any] | None:
                conditions = status_of(kube_api, namespace, name).get("conditions") or []
                return next(
                    (c for c in conditions if c["type"] == "Stalled" and c["status"] == "True"),
                    None,
                )

            condition = wait_until(stalled, 30, f"bad-{index} Stalled")
            assert isinstance(condition, dict)
            assert condition["reason"] == reason, (index, condition)
            assert text in condition["message"], (index, condition)
    assert noout_osds(ceph_cluster) == set()
    assert not any(is_cordoned(kube_api, n) for n in clean_nodes)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"nodes": "node-a"}, "spec.nodes"),
        ({"nodes": ["a"], "strategy": {"maxUnavailable": 0}}, "spec.strategy.maxUnavailable"),
        ({"nodes": ["a"], "ceph": {"noout": "rack"}}, "spec.ceph.noout"),
        ({"nodes": ["a"], "hold": {"mode": "forever"}}, "spec.hold.mode"),
        ({"nodes": ["a"], "window": {"duration": "two hours"}}, "spec.window.duration"),
    ],
)
def test_schema_rejects_what_it_can(
    kube_api: ApiClient, caretaker_crds: None, namespace: str, spec: dict[str, Any], field: str
) -> None:
    with pytest.raises(KubeApiError) as caught:
        create_maintenance(kube_api, namespace, "rejected", spec)
    assert caught.value.status == 422
    assert field in str(caught.value)
