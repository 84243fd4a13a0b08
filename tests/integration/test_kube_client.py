"""The Kubernetes client against a real kube-apiserver v1.20 without kubelets or controllers.

These tests play the controllers themselves (a budget's status, a pod's phase, owners that do not
exist), which real controllers would overwrite or garbage-collect: so this module runs on a bare
API server of its own (fixtures.kube.private_kube_server), not on the session's cluster. Drains
with real pods, real budgets and real kubelets are tested in tests/e2e. Every assertion reads the
effect back from the server.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from kubernetes.client import ApiClient, Configuration

from caretaker.clients.kube.api import (
    KubeApiError,
    api_path,
    close_api_client,
    load_api_client,
    request_json,
)
from caretaker.clients.kube.events import ObjectRef, post_event
from caretaker.clients.kube.eviction import (
    POLICY_V1BETA1,
    BlockedByBudget,
    Evicted,
    NotFound,
    choose_eviction_version,
    evict_pod,
    served_policy_versions,
)
from caretaker.clients.kube.lease import (
    acquire_lease,
    read_lease,
    release_lease,
    renew_lease,
)
from caretaker.clients.kube.nodes import (
    CORDONED_BY_ANNOTATION,
    Taint,
    add_taint,
    cordon_for,
    get_node,
    list_nodes,
    uncordon_for,
)
from caretaker.clients.kube.pods import pods_on_node
from fixtures.kube import (
    KubeTestbed,
    create_pdb_v1beta1,
    create_pod,
    private_kube_server,
    set_node_ready,
    set_pdb_status,
    set_pod_status,
)
from fixtures.kube_reads import get_pod, list_events
from fixtures.maintenance import set_unschedulable

pytestmark = pytest.mark.kube

MakeNode = Callable[..., str]
BARE_KUBE_PORT_OFFSET = 250  # +629/+630/+693: clear of the testbed and the chart tests' server


@pytest.fixture(scope="module")
def kube_testbed() -> Iterator[KubeTestbed]:
    """Overrides the session's API server for this module: a bare one."""
    with private_kube_server(BARE_KUBE_PORT_OFFSET) as testbed:
        yield testbed


@pytest.fixture(scope="module")
def kube_api(kube_testbed: KubeTestbed) -> Iterator[ApiClient]:
    api = load_api_client(kube_testbed.kubeconfig)
    yield api
    close_api_client(api)


def raw_node(api: ApiClient, name: str) -> dict[str, object]:
    spec: dict[str, object] = request_json(api, "GET", api_path("/api/v1/nodes/{}", name))["spec"]
    return spec


def raw_annotations(api: ApiClient, name: str) -> dict[str, str]:
    metadata = request_json(api, "GET", api_path("/api/v1/nodes/{}", name))["metadata"]
    return dict(metadata.get("annotations") or {})


# --- nodes ---


def test_list_nodes_by_label_and_get_missing_node(kube_api: ApiClient, make_node: MakeNode) -> None:
    group = secrets.token_hex(4)
    members = {make_node({"ct/group": group}), make_node({"ct/group": group})}
    make_node({"ct/group": "other"})

    listed = list_nodes(kube_api, f"ct/group={group}")

    assert {n.name for n in listed} == members
    assert all(n.labels["ct/group"] == group and not n.unschedulable for n in listed)
    assert get_node(kube_api, "ct-node-does-not-exist") is None


def test_owned_cordon_is_lifted_only_by_its_owner(kube_api: ApiClient, make_node: MakeNode) -> None:
    node = make_node()

    assert cordon_for(kube_api, node, "ns/maint-a")
    assert cordon_for(kube_api, node, "ns/maint-a")  # idempotent
    assert raw_node(kube_api, node).get("unschedulable") is True
    assert raw_annotations(kube_api, node)[CORDONED_BY_ANNOTATION] == "ns/maint-a"
    assert not cordon_for(kube_api, node, "ns/maint-b")
    assert not uncordon_for(kube_api, node, "ns/maint-b")
    info = get_node(kube_api, node)
    assert info is not None
    assert info.unschedulable
    assert info.cordoned_by == "ns/maint-a"

    assert uncordon_for(kube_api, node, "ns/maint-a")
    assert not raw_node(kube_api, node).get("unschedulable")
    assert CORDONED_BY_ANNOTATION not in raw_annotations(kube_api, node)
    assert uncordon_for(kube_api, node, "ns/maint-a")  # nothing left to lift


def test_cordon_by_someone_else_is_left_alone(kube_api: ApiClient, make_node: MakeNode) -> None:
    node = make_node()
    set_unschedulable(kube_api, node, True, owner=None)  # an administrator's cordon

    assert not cordon_for(kube_api, node, "ns/maint-a")
    assert not uncordon_for(kube_api, node, "ns/maint-a")
    assert raw_node(kube_api, node).get("unschedulable") is True
    assert CORDONED_BY_ANNOTATION not in raw_annotations(kube_api, node)


def test_node_ready_comes_from_the_ready_condition(
    kube_api: ApiClient, make_node: MakeNode
) -> None:
    node = make_node()
    info = get_node(kube_api, node)
    assert info is not None
    assert info.ready is None  # no kubelet: no conditions

    for status, ready in (("True", True), ("Unknown", False)):
        set_node_ready(kube_api, node, status)
        info = get_node(kube_api, node)
        assert info is not None
        assert info.ready is ready


def test_taint_is_idempotent_updates_the_value_and_keeps_foreign_taints(
    kube_api: ApiClient, make_node: MakeNode
) -> None:
    foreign = {"key": "vendor/other", "value": "x", "effect": "NoSchedule"}
    node = make_node(taints=[foreign])
    ours = Taint("caretaker.io/maintenance", "NoSchedule", "drain")

    assert add_taint(kube_api, node, ours) is True
    assert add_taint(kube_api, node, ours) is False
    assert raw_node(kube_api, node)["taints"] == [
        foreign,
        {"key": ours.key, "value": "drain", "effect": "NoSchedule"},
    ]

    assert add_taint(kube_api, node, Taint(ours.key, "NoSchedule", "repair")) is True
    info = get_node(kube_api, node)
    assert info is not None
    assert [t.value for t in info.taints if t.key == ours.key] == ["repair"]


def test_no_execute_taint_gets_time_added(kube_api: ApiClient, make_node: MakeNode) -> None:
    node = make_node()

    assert add_taint(kube_api, node, Taint("caretaker.io/evict", "NoExecute"))
    taints = raw_node(kube_api, node)["taints"]
    assert isinstance(taints, list)
    (written,) = taints
    assert written["effect"] == "NoExecute"
    assert written["timeAdded"]


def test_taint_of_missing_node_is_a_404(kube_api: ApiClient) -> None:
    with pytest.raises(KubeApiError) as raised:
        add_taint(kube_api, "ct-node-missing", Taint("k", "NoSchedule"))
    assert raised.value.status == 404


def test_pods_on_node_with_kinds(kube_api: ApiClient, namespace: str, make_node: MakeNode) -> None:
    node, elsewhere = make_node(), make_node()
    create_pod(kube_api, namespace, "plain", node=node)
    create_pod(kube_api, namespace, "ds", node=node, owner_kind="DaemonSet")
    create_pod(
        kube_api,
        namespace,
        "rs",
        node=node,
        owner_kind="ReplicaSet",
        emptydir=True,
        labels={"app": "web"},
    )
    create_pod(
        kube_api, namespace, "static", node=node, annotations={"kubernetes.io/config.mirror": "abc"}
    )
    create_pod(kube_api, namespace, "other", node=elsewhere)
    create_pod(kube_api, namespace, "unbound")

    pods = {p.name: p for p in pods_on_node(kube_api, node)}

    assert set(pods) == {"plain", "ds", "rs", "static"}
    assert all(p.node == node and p.namespace == namespace for p in pods.values())
    assert all(p.phase == "Pending" for p in pods.values())
    assert pods["ds"].is_daemonset
    assert pods["ds"].owner_kinds == ("DaemonSet",)
    assert pods["rs"].has_emptydir
    assert not pods["rs"].is_daemonset
    assert pods["rs"].controller_kind == "ReplicaSet"
    assert pods["rs"].labels == {"app": "web"}
    assert pods["static"].is_mirror
    assert not pods["plain"].is_mirror
    assert pods["plain"].owner_kinds == ()
    assert not pods["plain"].has_emptydir
    assert pods["plain"].controller_kind is None


# --- eviction (this server serves policy/v1beta1 only) ---


def test_discovery_picks_v1beta1_on_this_server(kube_api: ApiClient) -> None:
    served = served_policy_versions(kube_api)
    assert "policy/v1" not in served
    assert choose_eviction_version(served) == POLICY_V1BETA1


def test_evict_pod_without_budget(kube_api: ApiClient, namespace: str, make_node: MakeNode) -> None:
    create_pod(kube_api, namespace, "victim", node=make_node())

    assert evict_pod(kube_api, namespace, "victim", grace_period_seconds=0) == Evicted(
        namespace, "victim"
    )
    assert get_pod(kube_api, namespace, "victim") is None
    assert evict_pod(kube_api, namespace, "victim") == NotFound(namespace, "victim")


def test_budget_blocks_eviction_until_it_allows_one(
    kube_api: ApiClient, namespace: str, make_node: MakeNode
) -> None:
    node = make_node()
    create_pod(kube_api, namespace, "guarded", node=node, labels={"app": "mon"})
    set_pod_status(kube_api, namespace, "guarded", phase="Running", ready=True)
    create_pdb_v1beta1(kube_api, namespace, "mon-pdb", {"app": "mon"}, min_available=1)
    set_pdb_status(kube_api, namespace, "mon-pdb", disruptions_allowed=0, healthy=1)

    blocked = evict_pod(kube_api, namespace, "guarded", grace_period_seconds=0)

    assert isinstance(blocked, BlockedByBudget)
    assert "disruption budget" in blocked.message
    assert "mon-pdb" in blocked.message
    still_there = get_pod(kube_api, namespace, "guarded")
    assert still_there is not None
    assert not still_there.terminating

    set_pdb_status(kube_api, namespace, "mon-pdb", disruptions_allowed=1, healthy=2)
    assert evict_pod(kube_api, namespace, "guarded", grace_period_seconds=0) == Evicted(
        namespace, "guarded"
    )
    assert get_pod(kube_api, namespace, "guarded") is None


# --- events ---


def test_events_about_node_and_pod_are_readable(
    kube_api: ApiClient, namespace: str, make_node: MakeNode
) -> None:
    node = ObjectRef("v1", "Node", make_node())
    create_pod(kube_api, namespace, "p1")
    pod = ObjectRef("v1", "Pod", "p1", namespace)

    post_event(kube_api, node, "MaintenanceStarted", "draining for maintenance")
    post_event(kube_api, node, "OsdNotSafe", "osd.3 not ok-to-stop", "Warning")
    name = post_event(kube_api, pod, "Evicting", "evicting p1")

    node_events = list_events(kube_api, node)
    assert [(e.reason, e.type) for e in node_events] == [
        ("MaintenanceStarted", "Normal"),
        ("OsdNotSafe", "Warning"),
    ]
    assert all(e.component == "caretaker" for e in node_events)
    raw = request_json(
        kube_api, "GET", api_path("/api/v1/namespaces/{}/events/{}", namespace, name)
    )
    assert raw["involvedObject"]["name"] == "p1"
    assert raw["message"] == "evicting p1"
    assert [e.name for e in list_events(kube_api, pod)] == [name]


# --- leases ---


def test_lease_acquire_renew_contention_release(kube_api: ApiClient, namespace: str) -> None:
    assert acquire_lease(kube_api, namespace, "maint", "alice", duration_seconds=30)
    first = read_lease(kube_api, namespace, "maint")
    assert first is not None
    assert first.holder == "alice"
    assert first.transitions == 0

    assert acquire_lease(kube_api, namespace, "maint", "alice", duration_seconds=30)  # renews
    assert not acquire_lease(kube_api, namespace, "maint", "bob", duration_seconds=30)
    assert not renew_lease(kube_api, namespace, "maint", "bob")
    assert renew_lease(kube_api, namespace, "maint", "alice")
    renewed = read_lease(kube_api, namespace, "maint")
    assert renewed is not None
    assert renewed.holder == "alice"
    assert renewed.renew_time is not None
    assert first.renew_time is not None
    assert renewed.renew_time > first.renew_time
    assert renewed.acquire_time == first.acquire_time

    assert not release_lease(kube_api, namespace, "maint", "bob")
    assert release_lease(kube_api, namespace, "maint", "alice")
    released = read_lease(kube_api, namespace, "maint")
    assert released is not None
    assert released.holder is None
    assert not renew_lease(kube_api, namespace, "maint", "alice")

    assert acquire_lease(kube_api, namespace, "maint", "bob", duration_seconds=30)
    taken = read_lease(kube_api, namespace, "maint")
    assert taken is not None
    assert taken.holder == "bob"
    assert taken.transitions == 1


def test_expired_lease_can_be_taken(kube_api: ApiClient, namespace: str) -> None:
    assert acquire_lease(kube_api, namespace, "short", "alice", duration_seconds=1)
    assert not acquire_lease(kube_api, namespace, "short", "bob", duration_seconds=1)
    time.sleep(1.2)

    assert acquire_lease(kube_api, namespace, "short", "bob", duration_seconds=30)
    lease = read_lease(kube_api, namespace, "short")
    assert lease is not None
    assert lease.holder == "bob"
    assert lease.transitions == 1
    assert not renew_lease(kube_api, namespace, "short", "alice")
    assert not release_lease(kube_api, namespace, "short", "alice")


def test_only_one_of_many_racing_contenders_wins(kube_api: ApiClient, namespace: str) -> None:
    contenders = [f"holder-{i}" for i in range(8)]
    start = threading.Barrier(len(contenders))

    def contend(holder: str) -> bool:
        start.wait()
        return acquire_lease(kube_api, namespace, "race", holder, duration_seconds=30)

    with ThreadPoolExecutor(len(contenders)) as pool:
        won = dict(zip(contenders, pool.map(contend, contenders), strict=True))

    winners = [holder for holder, ok in won.items() if ok]
    lease = read_lease(kube_api, namespace, "race")
    assert len(winners) == 1
    assert lease is not None
    assert lease.holder == winners[0]


def test_lease_clock_decides_expiry(kube_api: ApiClient, namespace: str) -> None:
    assert acquire_lease(kube_api, namespace, "clocked", "alice", duration_seconds=60)
    lease = read_lease(kube_api, namespace, "clocked")
    assert lease is not None
    assert lease.renew_time is not None
    assert not lease.expired(datetime.now(UTC))
    assert lease.expired(lease.renew_time.replace(year=lease.renew_time.year + 1))


# --- errors and retries ---


def test_forbidden_is_raised_at_once(kube_testbed: KubeTestbed) -> None:
    api = load_api_client(kube_testbed.caretaker_kubeconfig)
    started = time.monotonic()
    with pytest.raises(KubeApiError) as raised:
        list_nodes(api)
    assert raised.value.status == 403
    assert time.monotonic() - started < 1.0  # not retried
    close_api_client(api)


def test_unreachable_server_is_retried_then_status_0() -> None:
    configuration = Configuration(host="https://127.0.0.1:9")  # discard port: refused
    configuration.verify_ssl = False
    api = ApiClient(configuration)
    started = time.monotonic()
    with pytest.raises(KubeApiError) as raised:
        request_json(api, "GET", "/version")
    assert raised.value.status == 0
    assert time.monotonic() - started > 2.0  # backed off between attempts
