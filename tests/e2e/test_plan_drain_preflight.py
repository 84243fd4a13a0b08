"""`caretaker plan`'s drain preflight on the real testbed (issue 11, item 6): real kubelets, the
disruption controller's own budget status, a server-side dry-run eviction. For the node to be
maintained it lists the pod a drain would evict, and the ones that would hold it up: a bare
pod, an emptyDir pod, a pod whose budget allows no disruption now (named), a pod stuck
Terminating; and it changes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes.client import ApiClient

import caretaker
from caretaker.clients.kube.api import api_path, request_json
from fixtures.ceph import CephTestbed
from fixtures.cluster import (
    NodeSide,
    create_bare_pod,
    create_deployment,
    list_pods,
    node_of,
    pdb_status,
    remove_finalizers,
    wait_pdb_allows,
    wait_running,
)
from fixtures.kube import KubeTestbed, create_pdb_v1beta1
from fixtures.kube_reads import get_pod

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

CODE = Path(caretaker.__file__).resolve().parents[1]  # this checkout's operator/
FINALIZER = "caretaker.dev/test-held"


def caretaker_plan(kube: KubeTestbed, ceph: CephTestbed, manifest: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    env["PYTHONPATH"] = str(CODE)
    cmd = [sys.executable, "-m", "caretaker.cli.main", "plan", "-f", str(manifest), "-o", "json"]
    cmd += ["--kubeconfig", str(kube.kubeconfig), "--ceph-conf", str(ceph.conf)]
    cmd += ["--ceph-keyring", str(ceph.keyring)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def by_name(entries: list[dict[str, Any]], prefix: str) -> dict[str, Any]:
    found = [e for e in entries if e["name"].startswith(prefix)]
    assert len(found) == 1, f"{prefix}: {entries}"
    return found[0]


def test_plan_lists_evicted_and_blocking_pods_of_each_node(
    kube_api: ApiClient,
    kube_testbed: KubeTestbed,
    ceph_testbed: CephTestbed,
    clean_nodes: dict[str, list[int]],
    caretaker_crds: None,
    node_side: NodeSide,
    namespace: str,
    tmp_path: Path,
) -> None:
    node = sorted(clean_nodes)[0]
    image = node_side.images["WORKLOAD"]
    create_deployment(kube_api, namespace, "web", image, prefer=node)
    create_deployment(kube_api, namespace, "db", image, prefer=node)
    create_pdb_v1beta1(kube_api, namespace, "db", {"app": "db"}, min_available=1)
    create_deployment(kube_api, namespace, "scratch", image, prefer=node, emptydir=True)
    create_bare_pod(kube_api, namespace, "bare", image, node)
    create_bare_pod(kube_api, namespace, "held", image, node, finalizers=(FINALIZER,))
    for app in ("web", "db", "scratch", "bare", "held"):
        assert [node_of(p) for p in wait_running(kube_api, namespace, f"app={app}", 1)] == [node]
    wait_pdb_allows(kube_api, namespace, "db", 0)  # computed by the disruption controller
    manifest = tmp_path / "m.yaml"
    body = {
        "apiVersion": "caretaker.dev/v1alpha1",
        "kind": "Maintenance",
        "metadata": {"name": "preflight", "namespace": namespace},
        "spec": {"nodes": [node]},
    }
    manifest.write_text(yaml.safe_dump(body))
    try:
        request_json(kube_api, "DELETE", api_path("/api/v1/namespaces/{}/pods/held", namespace))
        pods_before = sorted(p["metadata"]["name"] for p in list_pods(kube_api, namespace))

        plan = caretaker_plan(kube_testbed, ceph_testbed, manifest)

        drain = plan["nodes"][0]["drain"]
        assert drain["dryRun"] is True, "Kubernetes 1.20 answers dry-run evictions"
        mine = [e for e in drain["evict"] if e["namespace"] == namespace]
        assert [e["name"].split("-")[0] for e in mine] == ["web"]
        blocking = [e for e in drain["blocking"] if e["namespace"] == namespace]
        assert "no controller" in by_name(blocking, "bare")["reason"]
        assert "emptyDir" in by_name(blocking, "scratch-")["reason"]
        db = by_name(blocking, "db-")
        assert db["budgets"] == [f"{namespace}/db"]
        assert db["reason"].startswith(f"budget {namespace}/db allows no disruption now")
        assert "disruptionsAllowed 0" in db["reason"]
        terminating = [e["name"] for e in drain["terminating"] if e["namespace"] == namespace]
        assert terminating == ["held"]
        assert not drain["clear"]

        # read-only: every pod still there, the budget's status as it was
        assert sorted(p["metadata"]["name"] for p in list_pods(kube_api, namespace)) == pods_before
        assert pdb_status(kube_api, namespace, "db")["disruptionsAllowed"] == 0
        held = get_pod(kube_api, namespace, "held")
        assert held is not None
        assert held.terminating
    finally:
        remove_finalizers(kube_api, namespace, "held")
