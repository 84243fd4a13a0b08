"""Scale benchmark: what the operator costs at 1,000 nodes, 3,000 OSDs, 100 Maintenances and 50
HealthPolicies, idle and during a rolling maintenance, beside the targets of issue 10.

One run, in this order:

1. the testbed's API server (bare: no kubelets, no controllers; the benchmark marks the 1,000
   Nodes Ready and plays the disruption controller for one budget) and Prometheus;
2. a synthetic Ceph of 3,000 OSDs in 1,000 hosts (named like the Nodes) in 5 racks, answering
   in the recorded shape of the real cluster (``synthetic_ceph.py``); the operator's own librados
   backend reaches it through ``synthetic_rados/rados.py``, and Prometheus scrapes exporter
   metrics for the same OSDs;
3. 100 Maintenances (2 nodes each, all in rack-0, hold 20 s; one node's drain is blocked by a
   budget) whose window has not opened, 50 HealthPolicies (4 presets each, false while healthy);
4. the API server with no operator (baseline), then the real operator process (``caretaker
   run``, reconcile interval 10 s as the chart's default) until every object has a status;
5. idle for ``--idle-seconds``; then every Maintenance's window opens at one instant and the
   rolling maintenance runs for ``--busy-seconds``.

    .venv/bin/python bench/scale_bench.py [--idle-seconds 60] [--busy-seconds 120]

Measured: the operator's CPU seconds per minute (/proc/PID/stat) and resident memory (VmRSS,
VmHWM); API requests per minute per object from the API server's apiserver_request_total, minus
the baseline, watches left out, broken down by verb and resource; Ceph commands per minute (by
the synthetic Ceph, by prefix); from the window opening to each Maintenance's first action (its
node Lease taken, seen through a watch) and first status change; the blocked drain's evictions
(one per reconcile of that node).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import _scale_world as world
from _common import (
    REPO,
    apiserver_requests_by,
    cpu_seconds,
    install_crds,
    memory_kib,
    operator_metric,
    script,
)
from _scale_report import report
from kubernetes import watch
from kubernetes.client import ApiClient, CoordinationV1Api, CustomObjectsApi
from synthetic_ceph import CephSocketServer, SyntheticCeph

from caretaker.clients.kube.api import load_api_client
from fixtures.maintenance import get_maintenance
from fixtures.operator import OTHER_CODE, free_port, operator_process
from fixtures.prom import PrometheusTestbed

COMPONENTS = ("kube.sh", "prometheus.sh")
ENV = {"CARETAKER_KUBE_BARE": "1"}


class FirstSeen:
    """Watches Leases (first action) and Maintenances (first status change after the window
    opened); records the wall-clock time each was first seen."""

    def __init__(self, api: ApiClient, node_to_maintenance: dict[str, str]) -> None:
        self.api, self.owner = api, node_to_maintenance
        self.action: dict[str, float] = {}
        self.status_change: dict[str, float] = {}
        self.watches = [watch.Watch(), watch.Watch()]
        self.stopped = False
        self.reconnects = 0

    def start(self) -> None:
        threading.Thread(target=self._leases, daemon=True).start()
        threading.Thread(target=self._maintenances, daemon=True).start()

    def stop(self) -> None:
        self.stopped = True
        for one in self.watches:
            one.stop()

    def _leases(self) -> None:
        def seen(event: dict[str, Any]) -> None:
            name = event["object"].metadata.name.removeprefix("caretaker-node-")
            owner = self.owner.get(name)
            if owner and event["object"].spec.holder_identity:
                self.action.setdefault(owner, time.time())

        leases = CoordinationV1Api(self.api).list_namespaced_lease
        self._follow(self.watches[0], seen, leases, world.LEASE_NAMESPACE)

    def _maintenances(self) -> None:
        def seen(event: dict[str, Any]) -> None:
            body = event["object"]
            nodes = (body.get("status") or {}).get("nodes") or []
            if any(n.get("phase", "Pending") != "Pending" for n in nodes):
                self.status_change.setdefault(body["metadata"]["name"], time.time())

        api = CustomObjectsApi(self.api).list_namespaced_custom_object
        self._follow(
            self.watches[1], seen, api, "caretaker.dev", "v1alpha1", world.NAMESPACE, "maintenances"
        )

    def _follow(self, one: watch.Watch, seen: Any, list_call: Any, *args: str) -> None:
        """Follows a watch, and opens it again from the last version seen if the connection
        drops (under load the API server may end a stream early), so that no event is lost."""
        version = ""
        while not self.stopped:
            try:
                for event in one.stream(
                    list_call, *args, resource_version=version or None, timeout_seconds=3600
                ):
                    seen(event)
                    obj = event["object"]
                    meta = obj["metadata"] if isinstance(obj, dict) else obj.metadata
                    version = (
                        meta.get("resourceVersion")
                        if isinstance(meta, dict)
                        else meta.resource_version
                    ) or version
            except Exception as error:  # noqa: BLE001 - reopened; counted in the report
                if self.stopped:
                    return
                self.reconnects += 1
                print(f"watch reopened after: {type(error).__name__}: {error}", flush=True)
                time.sleep(0.2)


class Sampler:
    """Counters at the start and end of a phase; the operator's peak memory sampled each second."""

    def __init__(self, pid: int, kubeconfig: Path, ceph: SyntheticCeph, metrics_port: int):
        self.pid, self.kubeconfig, self.ceph, self.port = pid, kubeconfig, ceph, metrics_port

    def snapshot(self) -> dict[str, Any]:
        return {
            "time": time.monotonic(),
            "cpu": cpu_seconds(self.pid),
            "api": apiserver_requests_by(self.kubeconfig),
            "ceph": Counter(self.ceph.counts),
            "ceph_metric": self._metric("caretaker_ceph_command_seconds_count"),
            "reconciles": self._metric("controller_runtime_reconcile_total"),
        }

    def _metric(self, name: str) -> float:
        """NaN when the operator is too busy to answer /metrics within 30 s (seen with 200
        threads: its metrics server shares the interpreter lock)."""
        try:
            return operator_metric(self.port, name, timeout=30)
        except OSError:
            return float("nan")

    def phase(self, seconds: float) -> dict[str, Any]:
        start, rss = self.snapshot(), []
        deadline = start["time"] + seconds
        while time.monotonic() < deadline:
            rss.append(memory_kib(self.pid)["VmRSS"])
            time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        end = self.snapshot()
        minutes = (end["time"] - start["time"]) / 60
        return {
            "minutes": minutes,
            "cpu_per_min": (end["cpu"] - start["cpu"]) / minutes,
            "rss_mib_max": max(rss) / 1024,
            "hwm_mib": memory_kib(self.pid)["VmHWM"] / 1024,
            "api": {k: (end["api"][k] - start["api"][k]) / minutes for k in end["api"]},
            "ceph": {k: (end["ceph"][k] - start["ceph"][k]) / minutes for k in end["ceph"]},
            "ceph_metric_per_min": (end["ceph_metric"] - start["ceph_metric"]) / minutes,
            "reconciles_per_min": (end["reconciles"] - start["reconciles"]) / minutes,
        }


def _settled(api: ApiClient, maintenances: int, policies: int) -> bool:
    from fixtures.health import get_policy  # noqa: PLC0415

    for i in range(maintenances):
        body = get_maintenance(api, world.NAMESPACE, world.maintenance_name(i)) or {}
        if not (body.get("status") or {}).get("phase"):
            return False
    for i in range(policies):
        status = get_policy(api, world.NAMESPACE, f"p-{i:02d}").get("status") or {}
        if not status.get("lastEvaluationTime"):
            return False
    return True


def _wait_settled(api: ApiClient, args: argparse.Namespace) -> float | None:
    """Seconds until every object had a status; None if some had none after --settle-seconds
    (the run goes on: that is a figure too)."""
    started = time.monotonic()
    while not _settled(api, args.maintenances, args.policies):
        if time.monotonic() - started > args.settle_seconds:
            return None
        time.sleep(5)
    return time.monotonic() - started


def _with_status(api: ApiClient, args: argparse.Namespace) -> dict[str, int]:
    """How many Maintenances and HealthPolicies the operator has written a status for."""
    from fixtures.health import get_policy  # noqa: PLC0415

    maintenances = sum(
        bool(
            (
                (get_maintenance(api, world.NAMESPACE, world.maintenance_name(i)) or {}).get(
                    "status"
                )
                or {}
            ).get("phase")
        )
        for i in range(args.maintenances)
    )
    policies = sum(
        bool(
            (get_policy(api, world.NAMESPACE, f"p-{i:02d}").get("status") or {}).get(
                "lastEvaluationTime"
            )
        )
        for i in range(args.policies)
    )
    return {"maintenances": maintenances, "policies": policies}


def _worktree(rev: str) -> Path:
    """A temporary worktree of ``rev``, whose operator the run measures (to compare code
    versions on the same machine)."""
    tree = Path(tempfile.mkdtemp(prefix="caretaker-code-"))
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(tree), rev], check=True
    )
    return tree


def run(args: argparse.Namespace) -> dict[str, Any]:
    root = Path("/dev/shm/ct-scale")
    root.mkdir(exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="bench-", dir=root))
    kubeconfig = state / "kube" / "kubeconfig"
    names = world.node_names(args.nodes)
    ceph = SyntheticCeph(names)
    server = CephSocketServer(state / "ceph.sock", ceph)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    exporter = world.serve_exporter(world.exporter_text(ceph.host_of))
    results: dict[str, Any] = {"args": vars(args)}
    try:
        for component in COMPONENTS:
            script(component, "start", str(state), env=ENV)
        prometheus = PrometheusTestbed((state / "prometheus" / "url").read_text().strip(), state)
        prometheus.add_target("ceph", f"127.0.0.1:{exporter.server_address[1]}")
        api = load_api_client(kubeconfig)
        install_crds(api)
        world.create_namespaces(api)
        started = time.monotonic()
        world.create_nodes(api, names)
        groups = world.maintenance_groups(names, args.maintenances)
        world.create_maintenances(api, groups, args.hold_seconds)
        world.block_a_drain(api, groups[len(groups) // 2][0])  # its first node
        world.create_policies(api, args.policies)
        results["setup_seconds"] = time.monotonic() - started
        (state / "ceph.conf").write_text("[global]\nmon_host = synthetic\n")
        results.update(_with_operator(api, args, state, ceph, groups))
        results["ceph_unknown"] = dict(ceph.unknown)
        return results
    finally:
        exporter.shutdown()
        server.shutdown()
        for component in reversed(COMPONENTS):
            script(component, "stop", str(state), env=ENV)
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)


def _node_phases(api: ApiClient, count: int) -> Counter[str]:
    """How many Maintenance nodes are in each phase."""
    phases: Counter[str] = Counter()
    for i in range(count):
        body = get_maintenance(api, world.NAMESPACE, world.maintenance_name(i)) or {}
        phases.update(n.get("phase", "?") for n in (body.get("status") or {}).get("nodes", []))
    return phases


def _blocked_node(api: ApiClient, index: int) -> str:
    """Where the node whose drain a budget blocks stands at the end (is the blocked drain
    reached at all?)."""
    body = get_maintenance(api, world.NAMESPACE, world.maintenance_name(index)) or {}
    nodes = (body.get("status") or {}).get("nodes") or [{}]
    first = nodes[0]
    return f"{first.get('name')}: {first.get('phase')}, {first.get('message', '')}"[:300]


def _with_operator(
    api: ApiClient,
    args: argparse.Namespace,
    state: Path,
    ceph: SyntheticCeph,
    groups: list[list[str]],
) -> dict[str, Any]:
    kubeconfig = state / "kube" / "kubeconfig"
    baseline_start = apiserver_requests_by(kubeconfig), time.monotonic()
    time.sleep(args.baseline_seconds)
    minutes = (time.monotonic() - baseline_start[1]) / 60
    end = apiserver_requests_by(kubeconfig)
    baseline = {k: (end[k] - baseline_start[0][k]) / minutes for k in end}
    port = free_port()
    if args.operator_tree:  # operator_process runs that checkout's operator
        os.environ[OTHER_CODE] = str(args.operator_tree / "operator")
    env = {
        "KUBECONFIG": str(kubeconfig),
        "PYTHONPATH": str(REPO / "bench" / "synthetic_rados"),
        "CARETAKER_BENCH_CEPH_SOCKET": str(state / "ceph.sock"),
    }
    operator_args = [
        *("--namespace", world.NAMESPACE, "--reconcile-interval", str(args.reconcile_interval)),
        *("--metrics-port", str(port), "--ceph-conf", str(state / "ceph.conf")),
        *("--lease-namespace", world.LEASE_NAMESPACE),
        *("--prometheus-url", (state / "prometheus" / "url").read_text().strip()),
    ]
    log = state / "operator.log"
    owners = {node: world.maintenance_name(i) for i, nodes in enumerate(groups) for node in nodes}
    with operator_process(env, operator_args, log) as proc:
        sampler = Sampler(proc.pid, kubeconfig, ceph, port)
        settle = _wait_settled(api, args)
        settled_counts = _with_status(api, args)
        time.sleep(10)
        idle = sampler.phase(args.idle_seconds)
        seen = FirstSeen(api, owners)
        seen.start()
        time.sleep(2)  # the watches are established
        opening = datetime.fromtimestamp(int(time.time()) + 3, UTC)
        world.open_windows(api, len(groups), opening)
        time.sleep(max(0.0, opening.timestamp() - time.time()))
        busy = sampler.phase(args.busy_seconds)
        seen.stop()
        phases = _node_phases(api, len(groups))
        blocked = _blocked_node(api, len(groups) // 2)
        final_counts = _with_status(api, args)
    return {
        "baseline": baseline,
        "settle_seconds": settle,
        "with_status_after_settle": settled_counts,
        "with_status_at_end": final_counts,
        "idle": idle,
        "busy": busy,
        "first_action": sorted(t - opening.timestamp() for t in seen.action.values()),
        "first_status": sorted(t - opening.timestamp() for t in seen.status_change.values()),
        "watch_reconnects": seen.reconnects,
        "objects": args.nodes + args.maintenances + args.policies,
        "phases": dict(phases),
        "blocked_node": blocked,
        "log": str(log),
    }


def _jsonable(value: Any) -> Any:
    """JSON needs string keys: ("GET", "nodes", "") becomes "GET nodes"."""
    if isinstance(value, dict):
        return {
            " ".join(filter(None, k)) if isinstance(k, tuple) else str(k): _jsonable(v)
            for k, v in value.items()
        }
    return str(value) if isinstance(value, Path) else value


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--busy-seconds", type=float, default=120.0)
    parser.add_argument("--baseline-seconds", type=float, default=20.0)
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--maintenances", type=int, default=100)
    parser.add_argument("--policies", type=int, default=50)
    parser.add_argument("--hold-seconds", type=int, default=20)
    parser.add_argument("--reconcile-interval", type=float, default=10.0)
    parser.add_argument("--settle-seconds", type=float, default=120.0)
    parser.add_argument(
        "--code",
        metavar="REV",
        help="measure the operator of this commit (a temporary worktree) instead of this one",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures here")
    parser.add_argument("--keep", action="store_true", help="keep the state directory")
    args = parser.parse_args()
    os.environ.setdefault("CARETAKER_TESTBED_PORT_BASE", "30000")
    args.operator_tree = _worktree(args.code) if args.code else None
    try:
        results = run(args)
    finally:
        if args.operator_tree:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(args.operator_tree)],
                check=False,
            )
    print(report(results))
    if args.json:
        args.json.write_text(json.dumps(_jsonable(results), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
