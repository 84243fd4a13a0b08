"""MaintenanceFreeze end to end: a Maintenance whose window is open starts no node while a
freeze is active, shows the freeze in its status and in `kubectl get maintenance`, and starts
once the freeze ends; a HealthPolicy pages during the freeze but holds its disruptive step
(setFlag on the real Ceph cluster) until the freeze ends. The freeze is a real cluster-scoped
object, read through the real API."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError, api_path, request_json
from fixtures.ceph import CephTestbed
from fixtures.health import (
    HealthOperator,
    PagerDuty,
    create_policy,
    event_reasons,
    oncall,
    records,
    wait_evaluations,
)
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    is_cordoned,
    lease_holder,
    noout_osds,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

FREEZES = "/apis/caretaker.dev/v1alpha1/maintenancefreezes"
FROZEN_FOR = timedelta(seconds=50)  # from the freeze's creation: long enough to look at it


def stamp(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@pytest.fixture
def freeze_until(kube_api: ApiClient, namespace: str, caretaker_crds: None) -> Iterator[datetime]:
    """A MaintenanceFreeze for the test's namespace, active from a minute ago until
    FROZEN_FOR from now; deleted afterwards (it is cluster-scoped)."""
    now = datetime.now(UTC)
    end = (now + FROZEN_FOR).replace(microsecond=0)
    start = end - timedelta(minutes=2)
    body = {
        "apiVersion": "caretaker.dev/v1alpha1",
        "kind": "MaintenanceFreeze",
        "metadata": {"name": f"peak-{namespace}"},
        "spec": {
            "reason": "year-end peak (CHG-2291)",
            "namespaces": [namespace],
            "windows": [{"start": stamp(start), "duration": "2m"}],
        },
    }
    request_json(kube_api, "POST", FREEZES, body=body)
    yield end
    try:
        request_json(kube_api, "DELETE", api_path(FREEZES + "/{}", f"peak-{namespace}"))
    except KubeApiError as error:
        if not error.not_found:
            raise


def kubectl_get(
    kube_env: dict[str, str], namespace: str, name: str, kind: str = "maintenance"
) -> dict[str, str]:
    """`kubectl get KIND NAME` as a person runs it: the CRD's printer columns."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    cmd = ["kubectl", "get", kind, name, *(["-n", namespace] if namespace else [])]
    done = subprocess.run(
        cmd, env={**env, **kube_env}, capture_output=True, text=True, timeout=60, check=True
    )
    header, row = done.stdout.splitlines()[:2]
    starts = [header.index(column) for column in header.split()]
    cells = [row[a:b].strip() for a, b in zip(starts, [*starts[1:], None], strict=True)]
    return dict(zip(header.split(), cells, strict=True))


def freeze_status(kube_api: ApiClient, name: str) -> dict[str, Any]:
    found = request_json(kube_api, "GET", api_path(FREEZES + "/{}", name), cached=False)
    return dict(found.get("status") or {})


def condition(status: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in status.get("conditions", []) if c["type"] == kind)


def test_a_frozen_maintenance_waits_shows_the_freeze_and_starts_when_it_ends(
    kube_api: ApiClient,
    kube_env: dict[str, str],
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
    freeze_until: datetime,
) -> None:
    node = sorted(clean_nodes)[0]
    freeze = f"peak-{namespace}"
    create_maintenance(  # no spec.window: always open
        kube_api,
        namespace,
        "frozen",
        {"nodes": [node], "hold": {"mode": "duration", "duration": "1s"}},
    )
    with run_operator():

        def frozen() -> dict[str, Any] | None:
            status = status_of(kube_api, namespace, "frozen")
            return status if status.get("frozenBy") == freeze else None

        status = wait_until(frozen, 30, "the freeze in the Maintenance's status")
        assert isinstance(status, dict)
        assert status["phase"] == "Pending"
        assert f"MaintenanceFreeze {freeze} until {stamp(freeze_until)}" in status["message"]
        assert "year-end peak (CHG-2291)" in status["message"]
        assert condition(status, "Frozen")["status"] == "True"
        assert condition(status, "Ready")["reason"] == "Frozen"
        assert status["nodes"][0]["phase"] == "Pending"
        columns = kubectl_get(kube_env, namespace, "frozen")
        assert (columns["PHASE"], columns["FROZEN-BY"]) == ("Pending", freeze)
        # the freeze's own status, written by the operator: active, until when, why
        wait_until(
            lambda: freeze_status(kube_api, freeze).get("active") is True or None,
            30,
            "the freeze's own status",
        )
        own = freeze_status(kube_api, freeze)
        assert own["activeUntil"] == stamp(freeze_until)
        assert own["message"].endswith(f"in {namespace}: year-end peak (CHG-2291)")
        assert condition(own, "Active")["status"] == "True"
        row = kubectl_get(kube_env, "", freeze, "maintenancefreeze")
        assert (row["ACTIVE"], row["UNTIL"]) == ("true", stamp(freeze_until))
        time.sleep(3)  # still frozen a few rounds later: nothing was touched
        assert status_of(kube_api, namespace, "frozen")["phase"] == "Pending"
        assert not is_cordoned(kube_api, node)
        assert noout_osds(ceph_cluster) == set()
        assert lease_holder(kube_api, node) != f"{namespace}/frozen"
        # the freeze ends: the node starts and goes through maintenance
        status = wait_phase(kube_api, namespace, "frozen", "Completed", timeout=180)
        own = freeze_status(kube_api, freeze)  # written when the window ended, not a round later
        assert (own["active"], own["message"]) == (False, "not active; no window ahead")
        assert own.get("activeUntil") is None
        ended = datetime.fromisoformat(
            condition(own, "Active")["lastTransitionTime"].replace("Z", "+00:00")
        )
        assert freeze_until <= ended <= freeze_until + timedelta(seconds=5)
    started = datetime.fromisoformat(status["nodes"][0]["startedAt"].replace("Z", "+00:00"))
    assert started >= freeze_until
    assert "frozenBy" not in status
    assert condition(status, "Frozen")["status"] == "False"
    assert kubectl_get(kube_env, namespace, "frozen")["FROZEN-BY"] in ("", "<none>")
    assert not is_cordoned(kube_api, node)
    assert noout_osds(ceph_cluster) == set()


@pytest.mark.prometheus
def test_a_frozen_health_policy_pages_but_holds_its_disruptive_step_until_the_freeze_ends(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    freeze_until: datetime,
) -> None:
    spec = {
        "interval": "5s",
        "notifications": oncall("urgent"),
        "rules": [
            {
                "name": "noout-left-set",
                "expr": "ceph_osd_flag_noout == 1",
                "severity": "urgent",
                "target": {"kind": "cluster"},
                "actions": [
                    {"after": "0s", "notify": {}},
                    {"after": "0s", "setFlag": {"flag": "noscrub"}},  # disruptive
                ],
            }
        ],
    }
    ceph_cluster.ceph("osd", "unset", "noscrub")
    ceph_cluster.ceph("osd", "set", "noout")
    try:
        create_policy(kube_api, namespace, "watch", spec)
        with health_operator(pagerduty_url=pagerduty.receiver.url):
            pagerduty.receiver.wait_for_requests(1, timeout=40)  # the page goes
            assert datetime.now(UTC) < freeze_until, "the freeze ended before the page"
            policy = wait_evaluations(kube_api, namespace, "watch", 2)
            (rule,) = policy["status"]["rules"]
            (target,) = rule["targets"]
            assert (target["hold"]["step"], target["hold"]["reason"]) == (1, "Frozen")
            assert f"MaintenanceFreeze peak-{namespace}" in target["hold"]["message"]
            assert "noscrub" not in cluster_flags(ceph_cluster)
            assert "ActionHeld" in event_reasons(kube_api, namespace, "watch")
            frozen = condition(policy["status"], "Frozen")
            assert (frozen["status"], frozen["reason"]) == ("True", "Frozen")
            assert f"MaintenanceFreeze peak-{namespace} until" in frozen["message"]
            assert [e["event_action"] for e in pagerduty.events()] == ["trigger"]
            # the freeze ends: the held step runs
            wait_until(
                lambda: "noscrub" in cluster_flags(ceph_cluster), 90, "setFlag after the freeze"
            )
            assert datetime.now(UTC) >= freeze_until
            after = wait_evaluations(kube_api, namespace, "watch", 1)
            assert condition(after["status"], "Frozen")["status"] == "False"
        done = [r for r in records(kube_api, namespace) if r["spec"]["action"] == "setFlag"]
        assert [r["status"]["result"] for r in done] == ["Succeeded"]
        started = datetime.fromisoformat(done[0]["status"]["startedAt"].replace("Z", "+00:00"))
        assert started >= freeze_until
    finally:
        ceph_cluster.ceph("osd", "unset", "noout")
        ceph_cluster.ceph("osd", "unset", "noscrub")


def cluster_flags(ceph: CephTestbed) -> set[str]:
    return set(str(ceph.ceph("osd", "dump")["flags"]).split(","))
