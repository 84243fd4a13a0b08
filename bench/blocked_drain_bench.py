"""Blocked-drain benchmark: what the operator costs the API server and Ceph while a
PodDisruptionBudget blocks a drain, for the code before the backoff and for this code.

Runs the real operator process (like the end-to-end tests) against the local testbed
(kube-apiserver, kubelets, controllers, Ceph with OSDs as pods). One pod runs behind a budget
that allows no disruption (computed by the disruption controller); a Maintenance drains only that
pod, so the drain stays blocked. For each code version the operator runs alone for ``--seconds``
while blocked, and the benchmark counts:

- reconciles per second (the operator's ``controller_runtime_reconcile_total``);
- Ceph commands per second (the operator's ``caretaker_ceph_command_seconds_count``);
- API requests per second: the API server's ``apiserver_request_total`` over the window, minus
  the same count over a window with no operator running (kubelets and controllers).

    .venv/bin/python bench/blocked_drain_bench.py [--before 1ae8d03] [--seconds 20]

``--before`` is a commit of this repository whose operator is measured first (a temporary git
worktree); the figures are compared within one run, as the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    REPO,
    apiserver_requests,
    baseline_rate,
    install_crds,
    operator_metric,
    script,
)
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import load_api_client, request_json
from fixtures.cluster import (
    create_deployment,
    read_images,
    wait_pdb_allows,
    wait_running,
)
from fixtures.kube import create_pdb_v1beta1
from fixtures.maintenance import create_maintenance, get_maintenance, status_of
from fixtures.operator import operator_process

NAMESPACE = "bench"
METRICS_PORT = 30096


def _setup(api: ApiClient, state: Path) -> str:
    install_crds(api)
    for ns in (NAMESPACE, "caretaker-system"):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
        request_json(api, "POST", "/api/v1/namespaces", body=body)
    hosts = sorted(
        line.split()[1]
        for line in (state / "ceph" / "hosts").read_text().split("\n")
        if line.strip()
    )
    node = hosts[0]
    images = read_images(state / "nodes" / "images.env")
    selector = create_deployment(api, NAMESPACE, "db", images["WORKLOAD"], prefer=node)
    create_pdb_v1beta1(api, NAMESPACE, "db", {"app": "db"}, min_available=1)
    wait_running(api, NAMESPACE, selector, 1)
    wait_pdb_allows(api, NAMESPACE, "db", 0)
    return node


def _measure(
    api: ApiClient, state: Path, node: str, code: tuple[str, str], seconds: float
) -> dict[str, float]:
    """``code``: (label, the operator/ directory to run)."""
    label, pythonpath = code
    kubeconfig = state / "kube" / "kubeconfig"
    env = {"KUBECONFIG": str(kubeconfig), "PYTHONPATH": pythonpath}
    args = [
        *("--namespace", NAMESPACE, "--reconcile-interval", "1"),
        *("--metrics-port", str(METRICS_PORT)),
        *("--ceph-conf", str(state / "ceph" / "ceph.conf")),
        *("--ceph-keyring", str(state / "ceph" / "keyring")),
        *("--lease-namespace", "caretaker-system"),
    ]
    name = f"blocked-{label}"
    spec = {"nodes": [node], "drain": {"podSelector": {"app": "db"}}, "hold": {"mode": "manual"}}
    with operator_process(env, args, state / f"operator-{label}.log"):
        create_maintenance(api, NAMESPACE, name, spec)
        deadline = time.monotonic() + 120
        while "disruption budget" not in status_of(api, NAMESPACE, name).get("message", ""):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{name} never reported the blocked drain")
            time.sleep(0.5)
        time.sleep(2)
        start = (
            time.monotonic(),
            operator_metric(METRICS_PORT, "controller_runtime_reconcile_total"),
            operator_metric(METRICS_PORT, "caretaker_ceph_command_seconds_count"),
            apiserver_requests(kubeconfig),
        )
        time.sleep(seconds)
        end = (
            time.monotonic(),
            operator_metric(METRICS_PORT, "controller_runtime_reconcile_total"),
            operator_metric(METRICS_PORT, "caretaker_ceph_command_seconds_count"),
            apiserver_requests(kubeconfig),
        )
        patch = {"spec": {"abort": True}}
        path = f"/apis/caretaker.dev/v1alpha1/namespaces/{NAMESPACE}/maintenances/{name}"
        request_json(api, "PATCH", path, body=patch, content_type="application/merge-patch+json")
        while status_of(api, NAMESPACE, name).get("phase") != "Aborted":
            time.sleep(0.5)
        # gone before the next code runs: an idle Maintenance would count in its figures
        request_json(api, "DELETE", path)
        while get_maintenance(api, NAMESPACE, name) is not None:
            time.sleep(0.5)
    elapsed = end[0] - start[0]
    return {
        "reconciles": (end[1] - start[1]) / elapsed,
        "ceph": (end[2] - start[2]) / elapsed,
        "api_total": (end[3] - start[3]) / elapsed,
    }


def run(before: str, seconds: float) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="caretaker-bench-", dir="/dev/shm"))
    old = Path(tempfile.mkdtemp(prefix="caretaker-before-"))
    os.environ.setdefault("CARETAKER_TESTBED_PORT_BASE", "30000")
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(old), before], check=True
    )
    components = ("kube.sh", "nodes.sh", "ceph.sh")
    try:
        for component in components:
            script(component, "start", str(state))
        api = load_api_client(state / "kube" / "kubeconfig")
        node = _setup(api, state)
        results = {
            "baseline_api": baseline_rate(state / "kube" / "kubeconfig", seconds),
            "before": _measure(api, state, node, ("before", str(old / "operator")), seconds),
            "after": _measure(api, state, node, ("after", str(REPO / "operator")), seconds),
        }
        results["baseline_api_end"] = baseline_rate(state / "kube" / "kubeconfig", seconds)
        return results
    finally:
        for component in reversed(components):
            script(component, "stop", str(state))
        shutil.rmtree(state, ignore_errors=True)
        subprocess.run(
            ["git", "-C", str(REPO), "worktree", "remove", "--force", str(old)], check=False
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="1ae8d03", help="commit measured as 'before'")
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    result = run(args.before, args.seconds)
    base = (result["baseline_api"] + result["baseline_api_end"]) / 2
    print(f"API server requests/s with no operator: {base:.1f}")
    for label in ("before", "after"):
        r = result[label]
        print(
            f"{label} ({args.before if label == 'before' else 'this code'}): "
            f"{r['reconciles']:.1f} reconciles/s, {r['api_total'] - base:.1f} API requests/s, "
            f"{r['ceph']:.1f} Ceph commands/s while one budget blocks the drain"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
