"""One failure domain at a time across every actor (issue 9, item 1), checked in Ceph itself.

Two Maintenances in two namespaces, each run by its own operator process, target nodes of two
failure domains, and their one-off windows open at the same second. Their gates are as lax as a
team might make them (every warning allowed, degraded PGs accepted): only the cluster-wide
disruption ledger can keep them apart. Ceph is sampled all along: at no instant may OSDs of two
failure domains be down or flagged noout, and ``ok-to-stop`` on everything disrupted must say yes.
"""

from __future__ import annotations

import secrets
import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube_api import api_path, request_json
from fixtures.ceph import CephTestbed
from fixtures.kube import delete_ignoring_missing, wait_service_account
from fixtures.maintenance import (
    create_maintenance,
    disruption_claims,
    is_cordoned,
    node_status,
    noout_osds,
    operator_args,
    status_of,
)
from fixtures.operator import log_tail, operator_process

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

LAX_GATES = {
    "allowedWarnings": [
        "OSDMAP_FLAGS",
        "OSD_FLAGS",
        "OSD_DOWN",
        "OSD_HOST_DOWN",
        "PG_DEGRADED",
        "PG_AVAILABILITY",
    ]
}


def disrupted_domains(ceph: CephTestbed) -> tuple[dict[str, set[int]], set[int]]:
    """CRUSH host -> its OSDs that are down or flagged noout (per OSD or on the host bucket)."""
    dump = ceph.ceph("osd", "dump")
    tree = ceph.ceph("osd", "tree")
    host_of = {
        child: node["name"]
        for node in tree["nodes"]
        if node["type"] == "host"
        for child in node.get("children", [])
    }
    flagged_hosts = set(dump.get("crush_node_flags") or {})
    domains: dict[str, set[int]] = {}
    for osd in dump["osds"]:
        host = host_of.get(osd["osd"], "?")
        if not osd["up"] or "noout" in osd["state"] or host in flagged_hosts:
            domains.setdefault(host, set()).add(osd["osd"])
    return domains, {o for osds in domains.values() for o in osds}


def ok_to_stop(ceph: CephTestbed, osds: set[int]) -> bool:
    try:
        ceph.ceph("osd", "ok-to-stop", *(str(i) for i in sorted(osds)))
    except AssertionError:  # EBUSY: some PGs would become inactive
        return False
    return True


@pytest.fixture
def second_namespace(kube_api: ApiClient) -> Any:
    name = f"ct-{secrets.token_hex(4)}"
    body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    request_json(kube_api, "POST", "/api/v1/namespaces", body=body)
    wait_service_account(kube_api, name)
    yield name
    delete_ignoring_missing(kube_api, api_path("/api/v1/namespaces/{}", name))


def test_two_namespaces_same_second_never_two_failure_domains(
    kube_api: ApiClient,
    kube_env: dict[str, str],
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    caretaker_crds: None,
    lease_namespace: str,
    namespace: str,
    second_namespace: str,
    tmp_path: Path,
) -> None:
    first, second = sorted(clean_nodes)[:2]
    opens = (datetime.now(UTC) + timedelta(seconds=25)).replace(microsecond=0)
    teams = [(namespace, "fans", first), (second_namespace, "firmware", second)]
    for ns, name, node in teams:
        spec = {
            "nodes": [node],
            "window": {"start": opens.isoformat().replace("+00:00", "Z"), "duration": "2h"},
            "hold": {"mode": "duration", "duration": "1s"},
            "gates": LAX_GATES,
            "ceph": {"healthyPGStates": "^active"},
        }
        create_maintenance(kube_api, ns, name, spec)
    samples, waits = 0, []
    logs = [tmp_path / f"operator-{ns}.log" for ns, _, _ in teams]
    with ExitStack() as stack:
        for (ns, _, _), log in zip(teams, logs, strict=True):
            args = operator_args(ceph_cluster, ns, lease_namespace)
            stack.enter_context(operator_process(kube_env, args, log))
        deadline = time.monotonic() + 420
        phases: list[str] = []
        while time.monotonic() < deadline:
            domains, osds = disrupted_domains(ceph_cluster)
            samples += 1
            assert len(domains) <= 1, f"two failure domains disrupted at once: {domains}"
            if osds:
                assert ok_to_stop(ceph_cluster, osds), f"ok-to-stop refuses {sorted(osds)}"
            statuses = [status_of(kube_api, ns, name) for ns, name, _ in teams]
            phases = [s.get("phase", "") for s in statuses]
            waits += [m for s in statuses if "waiting" in (m := s.get("message", ""))]
            if phases == ["Completed", "Completed"]:
                break
            assert "Failed" not in phases, (statuses, log_tail(logs[0]), log_tail(logs[1]))
            time.sleep(0.3)
    assert phases == ["Completed", "Completed"], (phases, log_tail(logs[0]), log_tail(logs[1]))
    a = node_status(status_of(kube_api, namespace, "fans"), first)
    b = node_status(status_of(kube_api, second_namespace, "firmware"), second)
    assert a["failureDomain"] != b["failureDomain"]
    later, earlier = (a, b) if a["startedAt"] > b["startedAt"] else (b, a)
    assert later["finishedAt"] >= earlier["finishedAt"]
    held = [m for m in waits if "is being disrupted by" in m or "ok-to-stop" in m]
    assert held, f"the second Maintenance never said what it waited for: {sorted(set(waits))}"
    assert samples > 20
    assert noout_osds(ceph_cluster) == set()
    assert not is_cordoned(kube_api, first)
    assert not is_cordoned(kube_api, second)
    assert disruption_claims(kube_api, lease_namespace) == {}
