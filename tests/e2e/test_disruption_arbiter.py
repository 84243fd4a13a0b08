"""One failure domain at a time across every actor (issue 9, item 1), checked in Ceph itself.

Two Maintenances in two namespaces, each run by its own operator process, target nodes of two
failure domains, and their one-off windows open at the same second. Their gates are as lax as a
team might make them (every warning allowed, degraded PGs accepted): only the cluster-wide
disruption ledger can keep them apart. Ceph is sampled all along: at no instant may OSDs of two
failure domains be down or flagged noout, and ``ok-to-stop`` on everything disrupted must say yes.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.cluster import ROOK_NAMESPACE
from fixtures.health import (
    HealthOperator,
    create_policy,
    delete_policy,
    get_policy,
    osd_dump_state,
    records,
    target_status,
)
from fixtures.maintenance import (
    create_maintenance,
    disruption_claims,
    is_cordoned,
    node_status,
    noout_osds,
    operator_args,
    patch_maintenance,
    status_of,
    wait_phase,
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


def disrupted_domains(ceph: CephTestbed) -> tuple[dict[str, set[int]], set[int], int]:
    """CRUSH host -> its OSDs that are down or flagged noout (per OSD or on the host bucket),
    every such OSD, and the OSD map epoch this was read at."""
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
    return domains, {o for osds in domains.values() for o in osds}, int(dump["epoch"])


def ok_to_stop(ceph: CephTestbed, osds: set[int], epoch: int) -> bool:
    """ok-to-stop on the OSDs, if the OSD map did not change while asking (else: not judged)."""
    try:
        ceph.ceph("osd", "ok-to-stop", *(str(i) for i in sorted(osds)))
    except AssertionError:  # EBUSY: some PGs would become inactive
        return int(ceph.ceph("osd", "dump")["epoch"]) != epoch
    return True


def check_ceph(ceph: CephTestbed) -> int:
    """One sample: at most one failure domain disrupted, and ok-to-stop on all of it."""
    domains, osds, epoch = disrupted_domains(ceph)
    assert len(domains) <= 1, f"two failure domains disrupted at once: {domains}"
    if osds:
        assert ok_to_stop(ceph, osds, epoch), f"ok-to-stop refuses {sorted(osds)}"
    return len(domains)


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
            check_ceph(ceph_cluster)
            samples += 1
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
    earlier, later = sorted((a, b), key=lambda n: n["drainStartedAt"])
    assert later["drainStartedAt"] >= earlier["finishedAt"], "drained before the other ended"
    held = [m for m in waits if "is being disrupted by" in m or "ok-to-stop" in m]
    assert held, f"the second Maintenance never said what it waited for: {sorted(set(waits))}"
    assert samples > 20
    assert noout_osds(ceph_cluster) == set()
    assert not is_cordoned(kube_api, first)
    assert not is_cordoned(kube_api, second)
    assert disruption_claims(kube_api, lease_namespace) == {}


def test_a_policy_restart_waits_while_another_domain_is_held(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    lease_namespace: str,
    namespace: str,
) -> None:
    """A node is held in maintenance (its OSD flagged noout); a HealthPolicy wants to restart an
    OSD that is up on a node of another failure domain. It waits, named in its status, until the
    Maintenance is over, then restarts through Rook's budget; Ceph never shows two domains."""
    held_node, other = sorted(clean_nodes)[:2]
    osd = clean_nodes[other][0]
    spec = {
        "nodes": [held_node],
        "hold": {"mode": "manual"},
        "drain": {"podSelector": {"app": "nothing-to-drain"}},
        "gates": LAX_GATES,
    }
    create_maintenance(kube_api, namespace, "fans", spec)
    policy = {
        "interval": "2s",
        "safety": {"minOsdUpRatio": 0.5},
        "rules": [
            {
                "name": "restart-me",
                "expr": f'ceph_osd_up{{ceph_daemon="osd.{osd}"}} == 1',
                "for": "0s",
                "severity": "routine",
                "target": {"kind": "osd", "label": "ceph_daemon"},
                "actions": [{"after": "0s", "restartOsd": {}}],
            }
        ],
    }
    restart_target = f"osd/osd.{osd}"

    def hold() -> dict[str, Any]:
        policy_now = get_policy(kube_api, namespace, "restart")
        return target_status(policy_now, "restart-me", restart_target).get("hold") or {}

    with health_operator("--rook-namespace", ROOK_NAMESPACE):
        wait_phase(kube_api, namespace, "fans", "InMaintenance", timeout=120)
        create_policy(kube_api, namespace, "restart", policy)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            check_ceph(ceph_cluster)
            time.sleep(0.3)
        status_now = get_policy(kube_api, namespace, "restart").get("status")
        assert hold().get("reason") == "FailureDomainBusy", status_now
        assert "is being disrupted by Maintenance" in hold()["message"]
        assert osd_dump_state(ceph_cluster, osd)["up"] == 1
        patch_maintenance(kube_api, namespace, "fans", {"spec": {"release": [held_node]}})
        deadline = time.monotonic() + 180
        restarted = False
        while time.monotonic() < deadline and not restarted:
            check_ceph(ceph_cluster)
            found = [r for r in records(kube_api, namespace) if r["spec"]["action"] == "restartOsd"]
            restarted = bool(found) and found[0]["status"].get("result") == "Succeeded"
            time.sleep(0.3)
        assert restarted, get_policy(kube_api, namespace, "restart").get("status")
        assert status_of(kube_api, namespace, "fans")["phase"] == "Completed"
        delete_policy(kube_api, namespace, "restart")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and disruption_claims(kube_api, lease_namespace):
            check_ceph(ceph_cluster)
            time.sleep(0.5)
    assert disruption_claims(kube_api, lease_namespace) == {}, "the restart's claim is over"
    assert osd_dump_state(ceph_cluster, osd)["up"] == 1
    assert noout_osds(ceph_cluster) == set()
