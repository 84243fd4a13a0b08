"""Limits per Ceph cluster, not per namespace (issue 9, item 7), on real Ceph.

Two teams' HealthPolicies in two namespaces act on one cluster. ``maxOsdsOut`` counts every OSD
Caretaker marked out, whichever policy did it, also after that policy and its Remediation
records are gone while the OSD is still out; ``maxConcurrentDisruptive`` counts another
policy's restart in flight. One OSD per host makes the failure-domain rule hold the second step
anyway: the hold's reason tells the limits apart (they are asked before the failure domain).
"""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError
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
    wait_evaluations,
)
from fixtures.maintenance import disruption_claims
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]

RULE_B = "markout-osd1"  # team-b's rule: markOut of osd.1
SAFETY = {"maxConcurrentDisruptive": 1, "maxOsdsOut": 1, "minOsdUpRatio": 0.3}


def _policy(osd: int, action: str) -> dict[str, Any]:
    """A policy whose rule fires for this (up) OSD at once and runs ``action`` on it."""
    rule = {
        "name": f"{action.lower()}-osd{osd}",
        "expr": f'ceph_osd_up{{ceph_daemon="osd.{osd}"}} == 1',
        "for": "0s",
        "severity": "routine",
        "target": {"kind": "osd", "label": "ceph_daemon"},
        "actions": [{"after": "0s", action: {}}],
    }
    return {"interval": "2s", "safety": SAFETY, "rules": [rule]}


def test_max_osds_out_counts_another_namespaces_out_osd_after_its_policy_is_gone(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
    second_namespace: str,
) -> None:
    create_policy(kube_api, namespace, "team-a", _policy(0, "markOut"))
    with health_operator("--namespace", second_namespace):
        wait_until(lambda: _ran(kube_api, namespace, "markOut"), 60, "team-a's markOut ran")
        wait_until(lambda: not osd_dump_state(ceph_cluster, 0)["in"], 30, "osd.0 out")

        create_policy(kube_api, second_namespace, "team-b", _policy(1, "markOut"))
        held = _team_b_held(kube_api, second_namespace, "MaxOsdsOut")
        assert held["message"].startswith("1 OSD(s) out by Caretaker (maxOsdsOut 1)"), held

        _delete_and_wait(kube_api, namespace, "team-a")
        wait_until(lambda: not records(kube_api, namespace), 60, "team-a's records collected")
        wait_evaluations(kube_api, second_namespace, "team-b", 2)
        held = _team_b_held(kube_api, second_namespace, "MaxOsdsOut")
        assert held["message"].startswith("1 OSD(s) out by Caretaker (maxOsdsOut 1)"), held
        assert osd_dump_state(ceph_cluster, 0)["in"] == 0
        assert osd_dump_state(ceph_cluster, 1)["in"] == 1, "team-b marked a second OSD out"
        claims = disruption_claims(kube_api)
        assert claims[f"healthpolicy/{namespace}/team-a/osd/osd.0"]["kind"] == "markOut", claims
        _delete_and_wait(kube_api, second_namespace, "team-b")
    # ceph_cluster marks osd.0 in again and waits for HEALTH_OK; the ledger is cleared after


def test_max_concurrent_disruptive_counts_another_namespaces_restart(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
    second_namespace: str,
) -> None:
    create_policy(kube_api, namespace, "team-a", _policy(0, "restartOsd"))
    with health_operator("--rook-namespace", ROOK_NAMESPACE, "--namespace", second_namespace):
        # its claim is in the ledger before the restart runs, and for at least a minute
        wait_until(lambda: _ran(kube_api, namespace, "restartOsd"), 60, "team-a's restart ran")

        create_policy(kube_api, second_namespace, "team-b", _policy(1, "markOut"))
        held = _team_b_held(kube_api, second_namespace, "MaxConcurrentDisruptive")
        assert held["message"] == "1 disruptive action(s) in flight (maxConcurrentDisruptive 1)"
        assert osd_dump_state(ceph_cluster, 1)["in"] == 1, "team-b marked osd.1 out"
        claims = disruption_claims(kube_api)
        assert claims[f"healthpolicy/{namespace}/team-a/osd/osd.0"]["kind"] == "restartOsd"
        _delete_and_wait(kube_api, second_namespace, "team-b")
        _delete_and_wait(kube_api, namespace, "team-a")
    # ceph_cluster waits for osd.0 up and HEALTH_OK; the ledger is cleared after


def _team_b_held(api: ApiClient, namespace: str, reason: str) -> dict[str, Any]:
    """team-b's markOut of osd.1 held for ``reason``; fails at once if it ran instead."""

    def held() -> dict[str, Any] | None:
        if _ran(api, namespace, "markOut"):
            status = get_policy(api, namespace, "team-b").get("status")
            raise AssertionError(f"team-b marked osd.1 out, not held for {reason}: {status}")
        target = target_status(get_policy(api, namespace, "team-b"), RULE_B, "osd/osd.1")
        hold: dict[str, Any] = target.get("hold") or {}
        return hold if hold.get("reason") == reason else None

    found = wait_until(held, 60, f"team-b's markOut of osd.1 held for {reason}")
    assert isinstance(found, dict)
    return found


def _ran(api: ApiClient, namespace: str, action: str) -> bool:
    """The action's record says it ran (a claim it needed was entered before)."""
    found = [r for r in records(api, namespace) if r["spec"]["action"] == action]
    return bool(found) and found[0]["status"].get("result") in ("Verifying", "Succeeded")


def _delete_and_wait(api: ApiClient, namespace: str, name: str) -> None:
    """Deletes the policy while the operator runs (its finalizer goes) and waits until gone."""
    delete_policy(api, namespace, name)

    def gone() -> bool:
        try:
            get_policy(api, namespace, name)
        except KubeApiError as error:
            return error.not_found
        return False

    wait_until(gone, 60, f"HealthPolicy {namespace}/{name} deleted")
