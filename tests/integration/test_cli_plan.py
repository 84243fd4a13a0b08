"""`caretaker plan` against the real testbed (kube-apiserver, Ceph, Prometheus): the command as
installed, in a subprocess. What it reports is checked against the ceph CLI and the API server,
and nothing may change: no Lease, no cordon, no noout, no Maintenance."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import api_path, request_json
from caretaker.clients.kube.lease import acquire_lease, read_lease, release_lease
from fixtures.ceph import CephTestbed
from fixtures.kube import KubeTestbed
from fixtures.maintenance import create_maintenance, noout_osds, set_unschedulable
from fixtures.prom import PrometheusTestbed

pytestmark = [pytest.mark.kube, pytest.mark.ceph]

CARETAKER = Path(sys.executable).parent / "caretaker"
SELECTOR = {"caretaker.dev/test-storage": "true"}
OTHER = "elsewhere/other-maintenance"


@pytest.fixture
def plan(
    kube_testbed: KubeTestbed, ceph_testbed: CephTestbed, lease_namespace: str, tmp_path: Path
) -> Any:
    """plan(spec, *flags) -> (exit status, stdout, stderr) of `caretaker plan` on the testbed."""

    def run(
        spec: dict[str, Any], *flags: str, namespace: str = "storage-ops"
    ) -> tuple[int, str, str]:
        manifest = {
            "apiVersion": "caretaker.dev/v1alpha1",
            "kind": "Maintenance",
            "metadata": {"name": "nightly", "namespace": namespace},
            "spec": spec,
        }
        path = tmp_path / "nightly.yaml"
        path.write_text(yaml.safe_dump(manifest))
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
        cmd = [str(CARETAKER), "plan", "-f", str(path), "--kubeconfig"]
        cmd += [str(kube_testbed.kubeconfig), "--ceph-conf", str(ceph_testbed.conf)]
        cmd += ["--ceph-keyring", str(ceph_testbed.keyring), "--lease-namespace", lease_namespace]
        done = subprocess.run(
            [*cmd, *flags], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        return done.returncode, done.stdout, done.stderr

    return run


def crush_hosts(ceph: CephTestbed) -> dict[int, str]:
    """OSD id -> CRUSH host bucket, from the ceph CLI."""
    tree = ceph.ceph("osd", "tree")["nodes"]
    by_id = {n["id"]: n for n in tree}
    return {
        child: node["name"]
        for node in tree
        if node["type"] == "host"
        for child in node.get("children", [])
        if by_id[child]["type"] == "osd"
    }


def cluster_state(api: ApiClient, ceph: CephTestbed, nodes: list[str], lease_ns: str) -> Any:
    """What a plan must leave untouched: Nodes (spec, labels, annotations: their kubelets keep
    writing status), Leases, noout, Maintenances."""
    objects = {n: request_json(api, "GET", api_path("/api/v1/nodes/{}", n)) for n in nodes}
    leases = request_json(
        api, "GET", api_path("/apis/coordination.k8s.io/v1/namespaces/{}/leases", lease_ns)
    )
    return (
        {
            n: (o["spec"], o["metadata"].get("labels"), o["metadata"].get("annotations"))
            for n, o in objects.items()
        },
        sorted((i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in leases["items"]),
        noout_osds(ceph),
        sorted(ceph.ceph("osd", "dump")["flags_set"]),
    )


def test_plan_reads_nodes_osds_and_gates_and_changes_nothing(
    plan: Any,
    kube_api: ApiClient,
    ceph_testbed: CephTestbed,
    storage_nodes: dict[str, list[int]],
    lease_namespace: str,
    prometheus_testbed: PrometheusTestbed,
) -> None:
    ceph_testbed.wait_healthy()
    prometheus_testbed.wait_for_series('up{job="prometheus"}')
    names = sorted(storage_nodes)
    before = cluster_state(kube_api, ceph_testbed, names, lease_namespace)
    gates = [{"name": "prometheus-missing", "expr": 'absent(up{job="prometheus"})'}]
    spec = {"nodeSelector": SELECTOR, "gates": {"promql": gates}}
    code, out, err = plan(spec, "--prometheus-url", prometheus_testbed.url, "-o", "json")
    assert code == 0, err
    result = json.loads(out)
    hosts = crush_hosts(ceph_testbed)
    assert [n["name"] for n in result["nodes"]] == names
    for node in result["nodes"]:
        osds = storage_nodes[node["name"]]
        assert node["osds"] == osds
        assert node["failureDomain"] == hosts[osds[0]]
        assert node["gatesHold"], node["checks"]
        found = {c["name"]: c for c in node["checks"]}
        assert list(found) == [
            "ceph health",
            "PGs",
            "ok-to-stop",
            "PromQL prometheus-missing",
            "Lease",
        ]
        asked = ", ".join(f"osd.{i}" for i in osds)
        assert found["ok-to-stop"]["detail"].startswith(f"ok to stop {asked} ("), found
        assert found["PromQL prometheus-missing"]["detail"] == "no series"
    assert [n["batch"] for n in result["nodes"]] == list(range(1, len(names) + 1))
    assert result["wouldStart"] == names[0]
    assert result["nextStep"] == f"would start node {names[0]} now: its gates hold"
    assert result["window"]["kind"] == "none"
    assert result["existing"] is None
    assert cluster_state(kube_api, ceph_testbed, names, lease_namespace) == before


def wait_for_health_check(ceph: CephTestbed, check: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while check not in ceph.ceph("health")["checks"]:
        assert time.monotonic() < deadline, f"Ceph never reported {check}"
        time.sleep(0.5)


def test_plan_shows_each_gate_that_does_not_hold(
    plan: Any,
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    clean_nodes: dict[str, list[int]],
    lease_namespace: str,
    prometheus_testbed: PrometheusTestbed,
) -> None:
    first, second, *_ = sorted(clean_nodes)
    lease = f"caretaker-node-{first}"
    assert acquire_lease(kube_api, lease_namespace, lease, OTHER, duration_seconds=600)
    try:
        set_unschedulable(kube_api, second, True, owner=None)  # someone cordoned it by hand
        ceph_cluster.ceph("osd", "set", "noout")
        wait_for_health_check(ceph_cluster, "OSDMAP_FLAGS")
        prometheus_testbed.wait_for_series('up{job="prometheus"}')
        before = cluster_state(kube_api, ceph_cluster, sorted(clean_nodes), lease_namespace)
        gates = [{"name": "prometheus-up", "expr": 'up{job="prometheus"} == 1'}]
        spec = {"nodes": [first, second], "gates": {"promql": gates}}
        code, out, err = plan(spec, "--prometheus-url", prometheus_testbed.url)
        assert code == 0, err
        assert cluster_state(kube_api, ceph_cluster, sorted(clean_nodes), lease_namespace) == before
    finally:
        release_lease(kube_api, lease_namespace, lease, OTHER)
    lines = [" ".join(line.split()) for line in out.splitlines()]  # columns vary in width
    assert "WAIT ceph health Ceph reports HEALTH_WARN (OSDMAP_FLAGS: noout flag(s) set)" in lines
    assert f"WAIT Lease held by {OTHER}" in lines
    cordon = "note cordon already cordoned, not by Caretaker: it stays cordoned afterwards"
    assert cordon in lines
    assert any(
        line.startswith("WAIT PromQL prometheus-up 1 series: {") and "'job': 'prometheus'" in line
        for line in lines
    ), out
    assert lines[-1].startswith(
        f"Next step: node {first}: waiting for gate: Ceph reports HEALTH_WARN"
    )
    assert read_lease(kube_api, lease_namespace, lease) is not None


def test_plan_of_a_window_in_its_time_zone_and_of_an_existing_maintenance(
    plan: Any,
    kube_api: ApiClient,
    storage_nodes: dict[str, list[int]],
    caretaker_crds: None,
    namespace: str,
) -> None:
    spec = {
        "nodes": sorted(storage_nodes)[:1],
        "window": {"schedule": "0 22 * * 1-5", "duration": "6h", "timeZone": "Europe/Berlin"},
        "strategy": {"nodeDurationEstimate": "45m"},
    }
    create_maintenance(kube_api, namespace, "nightly", spec)  # no operator runs: no status
    code, out, err = plan(spec, "--at", "2026-11-21T10:00:00Z", namespace=namespace)
    assert code == 0, err
    lines = [" ".join(line.split()) for line in out.splitlines()]
    assert lines[:2] == [
        f"Plan for Maintenance {namespace}/nightly at 2026-11-21T10:00:00Z "
        "(read-only: nothing was changed)",
        "Note: it exists in the cluster (phase Pending, progress -); this plan is for a fresh "
        "start and ignores that progress.",
    ]
    assert "Window: '0 22 * * 1-5' for 6h in Europe/Berlin" in lines
    assert "now: closed" in lines  # a Saturday
    assert "next opening: Mon 2026-11-23 22:00 CET (2026-11-23T21:00:00Z)" in lines
    assert "a node may start: Mon 2026-11-23 22:00 CET (2026-11-23T21:00:00Z)" in lines
    assert lines[-1] == "Next step: waiting for the maintenance window at 2026-11-23T21:00:00Z"


def test_an_invalid_manifest_is_not_planned(plan: Any) -> None:
    code, out, err = plan({"nodes": ["ct-node-a"], "window": {"schedule": "0 22 * * *"}})
    assert (code, out) == (1, "")
    assert "Maintenance/nightly: spec.window.duration: required with a window" in err
