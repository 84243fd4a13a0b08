"""Maintenance benchmark: the operator's own overhead per node, and draining 100 real pods.

Runs the real operator process against the local testbed (kube-apiserver, kubelets, controllers,
Ceph with its OSDs as pods), like the end-to-end tests, and measures from outside by polling the
Maintenance status every 20 ms.

    .venv/bin/python bench/maintenance_bench.py [--runs 3] [--pods 100]

Overhead per node = time in Preflight + Draining (no pods) + Restoring for a node whose OSDs
stay up (the drain's podSelector leaves the OSD pod alone), with ``hold: duration 1s``; that
excludes the waits the spec asks for (the hold) and there is nothing for Ceph to recover, so
what remains is Caretaker's own work: gates, ok-to-stop, Lease, noout, cordon, uncordon, lifting
noout, health checks and status writes. The drain figure is for a Deployment's pods that run on
one kubelet and stop at once on SIGTERM: evictions, real terminations and the status writes
(a kubelet runs at most 110 pods).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "tests"), str(REPO / "operator")]

from kubernetes.client import ApiClient  # noqa: E402

from caretaker.clients.kube.api import KubeApiError, load_api_client  # noqa: E402
from fixtures.cluster import create_deployment, node_of, read_images, wait_running  # noqa: E402
from fixtures.maintenance import create_maintenance, status_of  # noqa: E402
from fixtures.operator import apply_crd, operator_process  # noqa: E402

POLL_SECONDS = 0.02


def _script(name: str, *args: str) -> None:
    subprocess.run(
        [str(REPO / "hack" / "testbed" / name), *args], check=True, stdout=subprocess.DEVNULL
    )


def _phases(api: ApiClient, namespace: str, name: str, timeout: float) -> dict[str, float]:
    """Polls the status; returns the monotonic time each phase was first seen."""
    seen: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        phase = status_of(api, namespace, name).get("phase")
        if phase and phase not in seen:
            seen[phase] = time.monotonic()
        if phase in ("Completed", "Failed"):
            return seen
        time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{name} did not finish: {seen}")


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        text = answer.read().decode()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith(name) and 'controller="maintenance"' in line
    )


def _namespace(api: ApiClient, name: str) -> None:
    from caretaker.clients.kube.api import request_json  # noqa: PLC0415

    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    try:
        request_json(api, "POST", "/api/v1/namespaces", body=body)
    except KubeApiError as error:
        if not error.conflict:
            raise


def run(runs: int, pods: int) -> dict[str, Any]:
    state = Path(tempfile.mkdtemp(prefix="caretaker-bench-", dir="/dev/shm"))
    os.environ.setdefault("CARETAKER_TESTBED_PORT_BASE", "30000")
    components = ("kube.sh", "nodes.sh", "ceph.sh")
    try:
        for script in components:
            _script(script, "start", str(state))
        return _measure(state, runs, pods)
    finally:
        for script in reversed(components):
            _script(script, "stop", str(state))


def _measure(state: Path, runs: int, pods: int) -> dict[str, Any]:
    api = load_api_client(state / "kube" / "kubeconfig")
    for crd in sorted((REPO / "crds").glob("*.yaml")):
        import yaml  # noqa: PLC0415

        for doc in yaml.safe_load_all(crd.read_text()):
            apply_crd(api, doc)
    hosts = dict(
        line.split()[::-1]
        for line in (state / "ceph" / "hosts").read_text().split("\n")
        if line.strip()
    )
    node = sorted(hosts)[0]
    images = read_images(state / "nodes" / "images.env")
    for ns in ("bench", "caretaker-system"):
        _namespace(api, ns)
    metrics_port = 30095
    env = {"KUBECONFIG": str(state / "kube" / "kubeconfig")}
    args = [
        "--namespace",
        "bench",
        "--reconcile-interval",
        "1",
        "--metrics-port",
        str(metrics_port),
        "--ceph-conf",
        str(state / "ceph" / "ceph.conf"),
        "--ceph-keyring",
        str(state / "ceph" / "keyring"),
        "--lease-namespace",
        "caretaker-system",
    ]
    overhead: list[float] = []
    reconcile_seconds: list[float] = []
    with operator_process(env, args, state / "operator.log"):
        for index in range(runs):
            before = _metric(metrics_port, "controller_runtime_reconcile_time_seconds_sum")
            name = f"overhead-{index}"
            create_maintenance(
                api,
                "bench",
                name,
                {
                    "nodes": [node],
                    "drain": {"podSelector": {"app": "web"}},
                    "hold": {"mode": "duration", "duration": "1s"},
                },
            )
            seen = _phases(api, "bench", name, 120)
            held = seen["Restoring"] - seen["InMaintenance"]
            overhead.append(seen["Completed"] - min(seen.values()) - held)
            reconcile_seconds.append(
                _metric(metrics_port, "controller_runtime_reconcile_time_seconds_sum") - before
            )
        web = create_deployment(api, "bench", "web", images["WORKLOAD"], replicas=pods, prefer=node)
        running = wait_running(api, "bench", web, pods, timeout=600)
        on_node = sum(node_of(pod) == node for pod in running)  # the scheduler also spreads
        create_maintenance(
            api,
            "bench",
            "drain",
            {
                "nodes": [node],
                "drain": {"podSelector": {"app": "web"}},
                "hold": {"mode": "duration", "duration": "1s"},
            },
        )
        seen = _phases(api, "bench", "drain", 600)
        drain = seen["InMaintenance"] - seen["Draining"]
    return {
        "runs": runs,
        "overhead": overhead,
        "reconcile_seconds": reconcile_seconds,
        "pods": on_node,
        "drain_seconds": drain,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pods", type=int, default=100)
    args = parser.parse_args()
    result = run(args.runs, args.pods)
    over = result["overhead"]
    print(
        f"operator overhead per node (wall, {result['runs']} runs): "
        f"median {statistics.median(over):.2f} s, min {min(over):.2f} s, max {max(over):.2f} s"
    )
    print(
        "  of which inside reconcile calls (CPU + API/Ceph round trips): median "
        f"{statistics.median(result['reconcile_seconds']):.2f} s"
    )
    print(
        f"drain of {result['pods']} pods on one node: {result['drain_seconds']:.2f} s "
        f"({result['pods'] / result['drain_seconds']:.0f} pods/s)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
