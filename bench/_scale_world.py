"""The objects of the scale benchmark: 1,000 Nodes (Ready, set by the benchmark: the API server
runs without kubelets or controllers), 100 Maintenances of 2 nodes each whose one-off window
opens when the benchmark says, one drain blocked by a budget, 50 HealthPolicies, and the Ceph
exporter metrics for 3,000 OSDs that the policies' queries read (served by the benchmark and
scraped by the testbed's Prometheus)."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

import _common  # noqa: F401 - puts tests/ and operator/ on sys.path
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import MERGE_PATCH, api_path, request_json
from fixtures.health import create_policy
from fixtures.kube import create_pdb_v1beta1, create_pod, set_pdb_status, set_pod_status
from fixtures.maintenance import create_maintenance, patch_maintenance

NAMESPACE = "bench"
LEASE_NAMESPACE = "caretaker-system"
NEVER = "2099-01-01T00:00:00Z"  # a window that does not open until the benchmark moves it
BLOCKED_POD = "blocked-db"


def node_names(count: int) -> list[str]:
    return [f"scale-node-{i:04d}" for i in range(count)]


def in_parallel(work: Callable[[Any], object], items: Iterable[Any], threads: int = 8) -> None:
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(work, items):
            pass


def create_nodes(api: ApiClient, names: list[str]) -> None:
    """Nodes with no kubelet: Ready because the benchmark says so in their status."""

    def create(name: str) -> None:
        labels = {"kubernetes.io/hostname": name, "caretaker.dev/bench": "scale"}
        body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}}
        request_json(api, "POST", "/api/v1/nodes", body=body)
        ready = {"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "bench"}
        path = api_path("/api/v1/nodes/{}/status", name)
        patch = {"status": {"conditions": [ready]}}
        request_json(api, "PATCH", path, body=patch, content_type=MERGE_PATCH)

    in_parallel(create, names)


def create_namespaces(api: ApiClient) -> None:
    for name in (NAMESPACE, LEASE_NAMESPACE):
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        request_json(api, "POST", "/api/v1/namespaces", body=body)


def maintenance_groups(names: list[str], count: int, size: int = 2) -> list[list[str]]:
    """Node lists of the Maintenances: the first ``count * size`` nodes, all in rack-0 of the
    synthetic Ceph (its rule separates replicas by rack), so they may all work at once."""
    return [names[i * size : (i + 1) * size] for i in range(count)]


def maintenance_name(index: int) -> str:
    return f"m-{index:03d}"


def create_maintenances(api: ApiClient, groups: list[list[str]], hold_seconds: int) -> None:
    def create(item: tuple[int, list[str]]) -> None:
        index, nodes = item
        spec = {
            "nodes": nodes,
            "window": {"start": NEVER, "duration": "6h"},
            "gates": {"allowedWarnings": ["OSD_FLAGS"]},  # the others' per-OSD noout
            "hold": {"mode": "duration", "duration": f"{hold_seconds}s"},
            "drain": {"timeout": "1h"},
        }
        create_maintenance(api, NAMESPACE, maintenance_name(index), spec)

    in_parallel(create, enumerate(groups))


def block_a_drain(api: ApiClient, node: str) -> None:
    """A Running, Ready pod on ``node`` behind a budget that allows no disruption (the benchmark
    plays the kubelet and the disruption controller)."""
    labels = {"app": BLOCKED_POD}
    create_pod(api, NAMESPACE, BLOCKED_POD, node=node, labels=labels, owner_kind="ReplicaSet")
    set_pod_status(api, NAMESPACE, BLOCKED_POD)
    create_pdb_v1beta1(api, NAMESPACE, BLOCKED_POD, labels, min_available=1)
    set_pdb_status(api, NAMESPACE, BLOCKED_POD, disruptions_allowed=0, healthy=1)


def open_windows(api: ApiClient, count: int, at: datetime) -> None:
    start = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    patch = {"spec": {"window": {"start": start, "duration": "6h"}}}
    in_parallel(
        lambda i: patch_maintenance(api, NAMESPACE, maintenance_name(i), patch), range(count)
    )


def create_policies(api: ApiClient, count: int) -> None:
    spec = {
        "interval": "30s",
        "notifications": {
            "receivers": [{"name": "hook", "webhook": {"url": "http://127.0.0.1:9/never"}}],
            "routes": [
                {"severity": s, "receivers": ["hook"]} for s in ("routine", "urgent", "critical")
            ],
        },
        "rules": [
            {"name": "osd-down", "preset": "OsdDown"},
            {"name": "pgs-inactive", "preset": "PgsInactive"},
            {"name": "mon-quorum", "preset": "MonQuorumAtRisk"},
            {"name": "exporter-gone", "preset": "CephUnreachable"},
        ],
    }
    in_parallel(lambda i: create_policy(api, NAMESPACE, f"p-{i:02d}", spec), range(count))


def exporter_text(hosts: dict[int, str]) -> bytes:
    """What the mgr's prometheus module reports for a healthy cluster with these OSDs."""
    lines = ["ceph_health_status 0"]
    for osd, host in hosts.items():
        daemon = f'ceph_daemon="osd.{osd}"'
        lines.append(f"ceph_osd_up{{{daemon}}} 1")
        lines.append(f'ceph_osd_metadata{{{daemon},hostname="{host}",device_class="hdd"}} 1')
    for mon in "abc":
        lines.append(f'ceph_mon_quorum_status{{ceph_daemon="mon.{mon}"}} 1')
        lines.append(f'ceph_mon_metadata{{ceph_daemon="mon.{mon}",hostname="mon-{mon}"}} 1')
    for pool, name in ((1, "rbd"), (2, "device_health_metrics")):
        lines.append(f'ceph_pool_metadata{{pool_id="{pool}",name="{name}"}} 1')
        for metric in ("ceph_pg_total", "ceph_pg_active", "ceph_pg_clean"):
            lines.append(f'{metric}{{pool_id="{pool}"}} 2048')
    return ("\n".join(lines) + "\n").encode()


def serve_exporter(text: bytes) -> http.server.ThreadingHTTPServer:
    """Serves ``text`` at /metrics on 127.0.0.1 (a free port); stop it with shutdown()."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(text)))
            self.end_headers()
            self.wfile.write(text)

        def log_message(self, format: str, *args: Any) -> None:  # the base class names it so
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
