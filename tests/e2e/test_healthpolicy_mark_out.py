"""The mark-out ladder on real OSDs, inside its safety limits: a dead OSD is marked out; a second
dead OSD is not while ``maxOsdsOut`` is reached; and an OSD that ``ceph osd ok-to-stop`` says
cannot stop is never marked out, even with room under ``maxOsdsOut``. Checked in Ceph itself."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.health import (
    HealthOperator,
    create_policy,
    get_policy,
    osd_dump_state,
    patch_policy,
    records,
    target_status,
    wait_condition,
    wait_evaluations,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]

MARK_OUT = [{"after": "0s", "markOut": {}}]
OSD_DOWN_RULE = {"name": "osd-down", "preset": "OsdDown", "for": "0s", "actions": MARK_OUT}
SLOW_OSD_RULE = {  # an OSD someone wants drained, e.g. for slow requests
    "name": "slow-osd",
    "expr": 'ceph_osd_up{ceph_daemon="osd.0"} == 1',
    "severity": "routine",
    "target": {"kind": "osd", "label": "ceph_daemon"},
    "actions": MARK_OUT,
}


def _spec(max_osds_out: int, *rules: dict[str, Any]) -> dict[str, Any]:
    return {
        "interval": "10s",
        "safety": {"maxConcurrentDisruptive": 1, "maxOsdsOut": max_osds_out, "minOsdUpRatio": 0.3},
        "rules": list(rules),
    }


def test_mark_out_respects_max_osds_out_and_ok_to_stop(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
) -> None:
    create_policy(kube_api, namespace, "out", _spec(1, OSD_DOWN_RULE))
    with health_operator():
        wait_condition(kube_api, namespace, "out", "Ready", "True")
        ceph_cluster.kill_osd(1)
        wait_until(lambda: not osd_dump_state(ceph_cluster, 1)["in"], 60, "osd.1 marked out")
        wait_until(lambda: _results(kube_api, namespace) == ["Succeeded"], 40, "out verified")

        ceph_cluster.kill_osd(2)
        # osd.1 out and osd.2 down leave PGs with one copy, below min_size: inactive, and the
        # circuit opens before maxOsdsOut is even asked (unit tests cover maxOsdsOut)
        held = _wait_hold(kube_api, namespace, "osd-down", "osd/osd.2", "CircuitOpen")
        assert "PGs are inactive" in held["message"]
        wait_evaluations(kube_api, namespace, "out", 1)  # and held again
        assert osd_dump_state(ceph_cluster, 2)["in"] == 1, "a second OSD was marked out"
        assert osd_dump_state(ceph_cluster, 2)["up"] == 0

        ceph_cluster.start_osd(2)
        wait_until(lambda: _cleared(kube_api, namespace, "osd/osd.2"), 40, "osd.2 up again")
        patch_policy(kube_api, namespace, "out", _spec(2, OSD_DOWN_RULE, SLOW_OSD_RULE))
        # osd.1 is out by Caretaker: its failure domain stays claimed until it is in again
        held = _wait_hold(kube_api, namespace, "slow-osd", "osd/osd.0", "FailureDomainBusy")
        assert "(markOut osd/osd.1)" in held["message"], held
        wait_evaluations(kube_api, namespace, "out", 1)
        state = osd_dump_state(ceph_cluster, 0)
        assert (state["up"], state["in"]) == (1, 1), "held, yet osd.0 is out"

    marked = [r["spec"]["target"] for r in records(kube_api, namespace)]
    assert marked == ["osd/osd.1"], marked
    assert [o["osd"] for o in ceph_cluster.ceph("osd", "dump")["osds"] if not o["in"]] == [1]


def _results(api: ApiClient, namespace: str) -> list[str]:
    return [r["status"]["result"] for r in records(api, namespace)]


def _cleared(api: ApiClient, namespace: str, target: str) -> bool:
    return not target_status(get_policy(api, namespace, "out"), "osd-down", target)


def _wait_hold(
    api: ApiClient, namespace: str, rule: str, target: str, reason: str
) -> dict[str, Any]:
    def held() -> dict[str, Any] | None:
        hold = target_status(get_policy(api, namespace, "out"), rule, target).get("hold") or {}
        return hold if hold.get("reason") == reason else None

    try:
        found = wait_until(held, 60, f"{rule} on {target} held for {reason}")
    except AssertionError as error:
        status = get_policy(api, namespace, "out").get("status")
        raise AssertionError(f"{error}\nstatus: {status}") from None
    assert isinstance(found, dict)
    return found
