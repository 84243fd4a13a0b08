"""The operator as users run it: `helm install` of charts/caretaker with the image built from the
project's Dockerfile, on the testbed's kubelets, under the chart's own RBAC.

Values are the chart's defaults plus what this cluster needs to be reached: the local image, host
networking and the API server's address (there is no kube-proxy), Rook discovery for Ceph, the
Prometheus URL, ports free on this machine, the test's namespace to watch, the nodes to run on
that the story does not drain, and one replica: the testbed's kubelets all run on this one
machine, so host-network pods share one network namespace whatever their node, and a second
replica's ports would collide (on a real cluster the default two replicas, leader and standby,
sit on two nodes; two operator processes electing a leader are tested in
test_leader_election.py). The one replica still elects itself leader through the Lease. A
start-up crash fails `helm install --wait`.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.chart import CHART, HELM, unique_name
from fixtures.cluster import (
    NodeSide,
    create_deployment,
    list_pods,
    node_of,
    osd_pod_phases,
    wait_pdb_allows,
    wait_running,
)
from fixtures.kube import KubeTestbed, create_pdb_v1beta1
from fixtures.maintenance import (
    create_maintenance,
    noout_osds,
    osd_in,
    osd_up,
    patch_maintenance,
    wait_phase,
)
from fixtures.operator import wait_until
from fixtures.prom import PrometheusTestbed

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]
RELEASE = "caretaker"
OPERATOR_NODES = ("ct-node-b", "ct-node-c")  # the story drains ct-node-a
PORT_BASE = int(os.environ.get("CARETAKER_TESTBED_PORT_BASE", "20000"))
LIVENESS_PORT, METRICS_PORT = PORT_BASE + 180, PORT_BASE + 181
SCRAPE_JOB = "caretaker-pod"


@dataclass(frozen=True)
class Installed:
    namespace: str  # the release's
    watched: str  # the namespace the operator watches
    pod: dict[str, Any]  # the leader's


def helm(kube: KubeTestbed, *args: str) -> str:
    cmd = [str(HELM), "--kubeconfig", str(kube.kubeconfig), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done.stdout


def values_for_testbed(
    kube: KubeTestbed, node_side: NodeSide, prometheus_url: str, watched: str
) -> dict[str, Any]:
    repository, tag = node_side.images["CARETAKER"].rsplit(":", 1)
    api_port = kube.url.rsplit(":", 1)[1]
    return {
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "hostNetwork": True,
        "kubernetesApi": {"host": "127.0.0.1", "port": api_port},
        "rook": {"namespace": "rook-ceph"},
        "prometheus": {"url": prometheus_url},
        "liveness": {"port": LIVENESS_PORT},
        "metrics": {"port": METRICS_PORT},
        "watchNamespaces": [watched],
        "replicaCount": 1,
        "reconcileInterval": 1,
        "affinity": {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {
                                    "key": "kubernetes.io/hostname",
                                    "operator": "In",
                                    "values": list(OPERATOR_NODES),
                                }
                            ]
                        }
                    ]
                }
            },
        },
    }


def leads(pod: dict[str, Any]) -> bool:
    """The pod's caretaker_leader gauge (hostNetwork: its /metrics is on its node's address)."""
    url = f"http://{pod['status']['podIP']}:{METRICS_PORT}/metrics"
    with urllib.request.urlopen(url, timeout=5) as answer:
        found = re.search(r"^caretaker_leader ([0-9.]+)$", answer.read().decode(), re.MULTILINE)
    assert found, f"no caretaker_leader on {url}"
    return float(found.group(1)) == 1.0


@pytest.fixture
def installed(
    kube_testbed: KubeTestbed,
    kube_api: ApiClient,
    node_side: NodeSide,
    ceph_testbed: CephTestbed,
    ceph_prometheus: PrometheusTestbed,
    caretaker_crds: None,
    namespace: str,
    tmp_path: Path,
) -> Iterator[Installed]:
    release_ns = unique_name("caretaker-system")
    values = tmp_path / "values.yaml"
    values.write_text(
        yaml.safe_dump(values_for_testbed(kube_testbed, node_side, ceph_prometheus.url, namespace))
    )
    try:
        helm(
            kube_testbed,
            "install",
            RELEASE,
            str(CHART),
            "--namespace",
            release_ns,
            "--create-namespace",
            "--values",
            str(values),
            "--wait",
            "--timeout",
            "3m",
        )
        pods = list_pods(kube_api, release_ns, "app.kubernetes.io/name=caretaker")
        assert len(pods) == 1, [p["metadata"]["name"] for p in pods]
        (leader,) = pods
        wait_until(lambda: leads(leader), 60, "the pod to lead")
        # Prometheus scrapes the leader's /metrics (hostNetwork: the pod's IP is its node's)
        ceph_prometheus.add_target(SCRAPE_JOB, f"{leader['status']['podIP']}:{METRICS_PORT}")
        yield Installed(release_ns, namespace, leader)
    finally:
        ceph_prometheus.remove_target(SCRAPE_JOB)
        logs = subprocess.run(
            [
                "kubectl",
                "--kubeconfig",
                str(kube_testbed.kubeconfig),
                "-n",
                release_ns,
                "logs",
                "deployment/caretaker",
                "--tail",
                "80",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        print(f"--- operator pod log ---\n{logs.stdout}{logs.stderr}")
        pods_now = subprocess.run(
            [
                *("kubectl", "--kubeconfig", str(kube_testbed.kubeconfig), "-n", release_ns),
                *("describe", "pods"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        print(f"--- operator pods ---\n{pods_now.stdout[-6000:]}{pods_now.stderr}")
        helm(kube_testbed, "uninstall", RELEASE, "--namespace", release_ns, "--wait")
        wait_until(lambda: not list_pods(kube_api, release_ns), 120, "the operator pod to be gone")


def test_chart_installs_and_the_operator_pod_is_ready(
    installed: Installed, kube_api: ApiClient, ceph_prometheus: PrometheusTestbed
) -> None:
    """Default values plus connection values: the pod starts, takes the leader Lease, passes the
    kubelet's probes, and Prometheus scrapes its /metrics."""
    for pod in (installed.pod,):
        container = pod["spec"]["containers"][0]
        for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
            assert container[probe]["httpGet"]["path"] == "/healthz"
        assert pod["spec"]["enableServiceLinks"] is False
        statuses = pod["status"]["containerStatuses"]
        assert statuses[0]["ready"] is True
        assert statuses[0]["restartCount"] == 0, "the operator restarted: a start-up crash?"
    assert node_of(installed.pod) in OPERATOR_NODES
    wait_until(
        lambda: ceph_prometheus.instant(f'up{{job="{SCRAPE_JOB}"}} == 1'),
        60,
        "Prometheus to scrape the operator pod",
    )
    assert ceph_prometheus.instant(f'process_start_time_seconds{{job="{SCRAPE_JOB}"}}')


def test_seed_story_with_the_operator_installed_by_the_chart(
    installed: Installed,
    kube_api: ApiClient,
    ceph_prometheus: PrometheusTestbed,
    ceph_cluster: CephTestbed,
    node_side: NodeSide,
    storage_nodes: dict[str, list[int]],
) -> None:
    """A failing server is drained (its workload moves, its OSD pod stays Pending), noout keeps
    its OSDs in, the technician is waited for; after the release the OSDs return, PGs are clean
    and the Maintenance is Completed: all done by the operator pod under the chart's RBAC."""
    node, namespace = "ct-node-a", installed.watched
    osds = storage_nodes[node]
    web = create_deployment(
        kube_api,
        namespace,
        "web",
        node_side.images["WORKLOAD"],
        replicas=2,
        prefer=node,
        stop_seconds=3,
    )
    create_pdb_v1beta1(kube_api, namespace, "web", {"app": "web"}, min_available=1)
    wait_running(kube_api, namespace, web, 2)
    wait_pdb_allows(kube_api, namespace, "web", 1)
    create_maintenance(kube_api, namespace, "fans", {"nodes": [node], "hold": {"mode": "manual"}})
    wait_phase(kube_api, namespace, "fans", "InMaintenance", timeout=180)
    assert noout_osds(ceph_cluster) == set(osds)
    assert node not in {node_of(p) for p in wait_running(kube_api, namespace, web, 2)}
    for osd in osds:
        wait_until(lambda o=osd: not osd_up(ceph_cluster, o), 30, f"osd.{osd} down")
        assert osd_pod_phases(kube_api, osd) == ["Pending"]
        assert osd_in(ceph_cluster, osd)
    time.sleep(2)
    patch_maintenance(
        kube_api, namespace, "fans", {"metadata": {"annotations": {"caretaker.dev/release": node}}}
    )
    wait_phase(kube_api, namespace, "fans", "Completed", timeout=180)
    for osd in osds:
        assert osd_pod_phases(kube_api, osd) == ["Running"]
    ceph_cluster.wait_healthy(timeout=120)
    assert noout_osds(ceph_cluster) == set()
    reconciles = (
        f'controller_runtime_reconcile_total{{job="{SCRAPE_JOB}", controller="maintenance"}}'
    )
    wait_until(lambda: ceph_prometheus.instant(reconciles), 30, "the pod's reconcile counts")
