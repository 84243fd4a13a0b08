"""Failure domains and OSDs from Ceph itself (issue 9, item 2), on the real testbed.

- A pool whose CRUSH rule spreads over racks makes the two hosts of one rack one failure domain:
  both nodes may be away together (the pool "rbd", by host, does not make them two).
- A node whose OSD reports a hostname other than the node's name (an FQDN) is mapped to its OSD
  through its CRUSH host and its Rook pod, and drained with noout on it, never as diskless.
- A node that an OSD pod puts an OSD on while Ceph places it on another node is refused with the
  evidence (Stalled, NodeRefused), and starts once the evidence agrees.

Every change to the shared testbed (CRUSH buckets and rule, a pool, an OSD Deployment, a fake
OSD pod) is undone in a fixture's teardown, also when the test fails.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError, api_path, request_json
from caretaker.clients.kube.events import ObjectRef
from fixtures.ceph import CephTestbed
from fixtures.cluster import ROOK_NAMESPACE, NodeSide, running_pods
from fixtures.kube import create_pod
from fixtures.kube_reads import list_events
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    is_cordoned,
    lease_holder,
    node_status,
    noout_osds,
    set_unschedulable,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

RULE = "caretaker-by-rack"
POOL = "caretaker-racked"
DEPLOYMENTS = "/apis/apps/v1/namespaces/{}/deployments/{}"
JSON_PATCH = "application/json-patch+json"
QUICK = {"hold": {"mode": "duration", "duration": "5s"}}


def _nodes_by_osd(ceph: CephTestbed) -> list[tuple[str, int]]:
    return sorted((host, osd) for osd, host in ceph.osd_hosts.items())


@pytest.fixture
def racks(ceph_cluster: CephTestbed, node_side: NodeSide) -> Iterator[dict[str, str]]:
    """Hosts a and b in rack-ab, c in rack-c, and a pool (size 2) spread over racks; the CRUSH
    map and the pools are as before afterwards. Yields host -> its rack."""
    ceph = ceph_cluster
    (a, _), (b, _), (c, _) = _nodes_by_osd(ceph)
    layout = {a: "rack-ab", b: "rack-ab", c: "rack-c"}
    try:
        for rack in sorted(set(layout.values())):
            ceph.ceph("osd", "crush", "add-bucket", rack, "rack")
            ceph.ceph("osd", "crush", "move", rack, "root=default")
        for host, rack in layout.items():
            ceph.ceph("osd", "crush", "move", host, f"rack={rack}")
        ceph.ceph("osd", "crush", "rule", "create-replicated", RULE, "default", "rack")
        ceph.ceph("osd", "pool", "create", POOL, "8", "8", "replicated", RULE)
        ceph.ceph("osd", "pool", "set", POOL, "size", "2")
        ceph.ceph("osd", "pool", "set", POOL, "min_size", "1")
        ceph.ceph("osd", "pool", "application", "enable", POOL, "rbd")
        ceph.wait_healthy(timeout=180)
        yield layout
    finally:
        undo = [("osd", "pool", "rm", POOL, POOL, "--yes-i-really-really-mean-it")]
        undo += [("osd", "crush", "rule", "rm", RULE)]
        undo += [("osd", "crush", "move", host, "root=default") for host in layout]
        undo += [("osd", "crush", "rm", rack) for rack in sorted(set(layout.values()))]
        for args in undo:
            with contextlib.suppress(AssertionError):  # nothing to undo: the CLI fails
                ceph.ceph(*args)
        tree = ceph.ceph("osd", "tree")
        left = [n["name"] for n in tree["nodes"] if n["type"] == "rack"]
        pools = [p["pool_name"] for p in ceph.ceph("osd", "pool", "ls", "detail")]
        assert (left, pools) == ([], ["rbd"]), "the testbed's CRUSH map was not restored"


def test_two_hosts_of_one_rack_are_one_failure_domain(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    racks: dict[str, str],
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    a, b = sorted(racks)[:2]
    spec = {"nodes": [a, b], "strategy": {"maxUnavailable": 2}, **QUICK}
    create_maintenance(kube_api, namespace, "racked", spec)
    with run_operator():
        wait_phase(kube_api, namespace, "racked", "InMaintenance", timeout=120)

        def b_started() -> dict[str, Any] | None:
            status = status_of(kube_api, namespace, "racked")
            first = node_status(status, a)
            if first["phase"] not in ("Preflight", "Draining", "InMaintenance", "Restoring"):
                raise AssertionError(f"{a} finished before {b} started: {status}")
            return status if node_status(status, b)["phase"] != "Pending" else None

        # b starts while a is away: the same failure domain (its gates may still hold it back)
        status = wait_until(b_started, 60, f"{b} to start while {a} is away")
        assert isinstance(status, dict)
        assert node_status(status, a)["failureDomain"] == "rack-ab"
        assert node_status(status, b)["failureDomain"] == "rack-ab"
        final = wait_phase(kube_api, namespace, "racked", "Completed", timeout=300)
    assert [node_status(final, n)["failureDomain"] for n in (a, b)] == ["rack-ab"] * 2


@pytest.fixture
def fqdn_osd(
    kube_api: ApiClient, ceph_cluster: CephTestbed, node_side: NodeSide
) -> Iterator[tuple[str, int, str]]:
    """The OSD of the first node reports its hostname as an FQDN (as an OSD on a host whose
    hostname is the FQDN does), its CRUSH host stays the node's name. Yields (node, OSD, FQDN);
    the Deployment is as before afterwards."""
    node, osd = _nodes_by_osd(ceph_cluster)[0]
    fqdn = f"{node}.caretaker.test"
    path = api_path(DEPLOYMENTS, ROOK_NAMESPACE, f"rook-ceph-osd-{osd}")
    template = request_json(kube_api, "GET", path)["spec"]["template"]
    container = template["spec"]["containers"][0]
    env = [e for e in container["env"] if e["name"] != "NODE_NAME"]
    args = [a.replace("$(NODE_NAME)", node) for a in container["args"]]
    changed = {**container, "env": [*env, {"name": "NODE_NAME", "value": fqdn}], "args": args}
    patch = [{"op": "replace", "path": "/spec/template/spec/containers/0", "value": changed}]
    try:
        request_json(kube_api, "PATCH", path, body=patch, content_type=JSON_PATCH)
        _wait_metadata_hostname(ceph_cluster, osd, fqdn)
        ceph_cluster.wait_healthy(timeout=180)
        yield node, osd, fqdn
    finally:
        set_unschedulable(kube_api, node, False, owner=None)  # its OSD pod must come back
        back = [{"op": "replace", "path": "/spec/template", "value": template}]
        request_json(kube_api, "PATCH", path, body=back, content_type=JSON_PATCH)
        _wait_metadata_hostname(ceph_cluster, osd, node)


def _wait_metadata_hostname(ceph: CephTestbed, osd: int, hostname: str) -> None:
    def reported() -> bool:
        try:
            return bool(ceph.ceph("osd", "metadata", str(osd)).get("hostname") == hostname)
        except AssertionError:
            return False  # an OSD that has not booted yet has no metadata

    wait_until(reported, 120, f"osd.{osd} to report hostname {hostname}", interval=1)


def test_an_fqdn_osd_hostname_is_mapped_never_diskless(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    fqdn_osd: tuple[str, int, str],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node, osd, _fqdn = fqdn_osd
    create_maintenance(kube_api, namespace, "fqdn", {"nodes": [node], **QUICK})
    with run_operator("--rook-namespace", ROOK_NAMESPACE):
        status = wait_phase(kube_api, namespace, "fqdn", "InMaintenance", timeout=120)
        record = node_status(status, node)
        assert record["osds"] == [osd], f"{node} treated as diskless: {record}"
        assert record["failureDomain"] == node
        assert noout_osds(ceph_cluster) == {osd}
        wait_phase(kube_api, namespace, "fqdn", "Completed", timeout=180)
    assert noout_osds(ceph_cluster) == set()


@pytest.fixture
def stray_osd_pod(kube_api: ApiClient, ceph_testbed: CephTestbed) -> Iterator[Callable[..., str]]:
    """Factory: a pod labelled as Rook's pod of an OSD, bound to a node (it never runs);
    force-deleted afterwards (no kubelet confirms the deletion)."""
    made: list[str] = []

    def make(node: str, osd: int) -> str:
        name = f"rook-ceph-osd-{osd}-stray-{len(made)}"
        labels = {"app": "rook-ceph-osd", "ceph-osd-id": str(osd)}
        create_pod(kube_api, ROOK_NAMESPACE, name, node=node, labels=labels)
        made.append(name)
        return name

    yield make
    for name in made:
        _force_delete_pod(kube_api, name)


def _force_delete_pod(api: ApiClient, name: str) -> None:
    path = api_path("/api/v1/namespaces/{}/pods/{}", ROOK_NAMESPACE, name)
    try:
        request_json(api, "DELETE", path, body={"gracePeriodSeconds": 0})
    except KubeApiError as error:
        if not error.not_found:
            raise


def test_a_node_an_osd_pod_puts_an_osd_on_against_ceph_is_refused(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    make_node: Callable[..., str],
    stray_osd_pod: Callable[..., str],
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    host, osd = _nodes_by_osd(ceph_cluster)[0]
    node = make_node()  # its name matches no Ceph host
    pod = stray_osd_pod(node, osd)
    assert running_pods(kube_api, ROOK_NAMESPACE, f"ceph-osd-id={osd}"), "the real OSD pod runs"
    create_maintenance(kube_api, namespace, "stray", {"nodes": [node], **QUICK})
    with run_operator("--rook-namespace", ROOK_NAMESPACE):

        def refused() -> dict[str, Any] | None:
            status = status_of(kube_api, namespace, "stray")
            if status.get("nodes") and node_status(status, node)["phase"] != "Pending":
                raise AssertionError(f"{node} was started as a node without OSDs: {status}")
            conditions = status.get("conditions") or []
            stalled = [c for c in conditions if c["type"] == "Stalled" and c["status"] == "True"]
            return status if stalled and stalled[0]["reason"] == "NodeRefused" else None

        status = wait_until(refused, 60, f"{node} refused")
        assert isinstance(status, dict)
        message = status["message"]
        assert message.startswith(f"not touching node {node}: cannot tell which OSDs it carries")
        assert f"osd.{osd} matches nodes" in message
        assert f"CRUSH host {host}" in message
        assert f"pod {ROOK_NAMESPACE}/{pod} on {node}" in message
        time.sleep(3)  # a few more reconciles: still nothing done to the node
        assert not is_cordoned(kube_api, node)
        assert lease_holder(kube_api, node) is None
        ref = ObjectRef("caretaker.dev/v1alpha1", "Maintenance", "stray", namespace)
        events = [e for e in list_events(kube_api, ref) if e.reason == "NodeRefused"]
        assert len(events) == 1, events  # posted once, not per reconcile

        _force_delete_pod(kube_api, pod)  # the evidence agrees again: a node without OSDs
        final = wait_phase(kube_api, namespace, "stray", "Completed", timeout=120)
    assert node_status(final, node)["osds"] == []
    assert node_status(final, node)["failureDomain"] == f"node/{node}"
