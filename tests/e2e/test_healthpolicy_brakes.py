"""Deliberate brakes on real Ceph: a person's noout on the OSD, on its CRUSH host or on the cluster
holds a markOut (the OSD stays in) until it is lifted; and a setFlag/unsetFlag ladder never
lifts a flag a person set before it, while it does lift the one it set itself."""

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
    records,
    target_status,
    wait_condition,
    wait_evaluations,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube, pytest.mark.prometheus]

OSD0_UP = 'ceph_osd_up{ceph_daemon="osd.0"} == 1'  # any rule that keeps firing for osd.0
OSD_TARGET = {"kind": "osd", "label": "ceph_daemon"}
SAFETY = {"maxConcurrentDisruptive": 2, "maxOsdsOut": 1, "minOsdUpRatio": 0.3}


def test_a_persons_noout_holds_mark_out_until_lifted(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
) -> None:
    host = _crush_host(ceph_cluster, 0)
    ceph_cluster.ceph("osd", "add-noout", "0")  # before Caretaker looks
    rule = {
        "name": "drain-osd0",
        "expr": OSD0_UP,
        "severity": "routine",
        "target": OSD_TARGET,
        "actions": [{"after": "0s", "markOut": {}}],
    }
    create_policy(
        kube_api, namespace, "brakes", {"interval": "3s", "safety": SAFETY, "rules": [rule]}
    )
    with health_operator():
        _wait_held(kube_api, namespace, "noout is set on osd.0 (ceph osd add-noout)")
        _stays_in(kube_api, ceph_cluster, namespace)

        ceph_cluster.ceph("osd", "set-group", "noout", host)  # first the new brake, then
        ceph_cluster.ceph("osd", "rm-noout", "0")  # the old one goes: never none at all
        _wait_held(kube_api, namespace, f"noout is set on its CRUSH host {host}")
        _stays_in(kube_api, ceph_cluster, namespace)

        ceph_cluster.ceph("osd", "set", "noout")
        ceph_cluster.ceph("osd", "unset-group", "noout", host)
        _wait_held(kube_api, namespace, "noout is set on the cluster (ceph osd set noout)")
        _stays_in(kube_api, ceph_cluster, namespace)

        ceph_cluster.ceph("osd", "unset", "noout")  # lifted: the held step runs now
        wait_until(lambda: not osd_dump_state(ceph_cluster, 0)["in"], 60, "osd.0 marked out")
    (record,) = records(kube_api, namespace)
    assert record["spec"]["action"] == "markOut"
    assert record["status"]["message"] == "ceph osd out osd.0"
    # the ceph_cluster fixture marks osd.0 in again and clears the flags


def test_flags_ladder_lifts_only_the_flag_it_set(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
) -> None:
    ceph_cluster.ceph("osd", "set", "nobackfill")  # a person's flag, set before the ladder runs
    assert "norebalance" not in _flags(ceph_cluster)
    spec = {
        "interval": "3s",
        "safety": SAFETY,
        "rules": [
            _flag_rule("persons", "nobackfill", "ceph_health_status >= 0", {"kind": "cluster"}),
            _flag_rule("ours", "norebalance", OSD0_UP, OSD_TARGET),  # another target: no cooldown
        ],
    }
    create_policy(kube_api, namespace, "flags", spec)
    with health_operator():
        wait_condition(kube_api, namespace, "flags", "Ready", "True")

        def all_final() -> bool:
            found = records(kube_api, namespace)
            done = [r for r in found if r["status"].get("result") not in (None, "Pending")]
            return len(found) == 4 and len(done) == 4

        try:
            wait_until(all_final, 60, "the four flag steps to end")
        except AssertionError as error:
            found = [
                (r["spec"]["rule"], r["spec"]["action"], r["status"])
                for r in records(kube_api, namespace)
            ]
            raise AssertionError(f"{error}\nrecords: {found}") from None
        wait_evaluations(kube_api, namespace, "flags", 2)  # nothing more happens
    outcome = {
        (r["spec"]["rule"], r["spec"]["action"]): (r["status"]["result"], r["status"]["message"])
        for r in records(kube_api, namespace)
    }
    assert outcome == {
        ("persons", "setFlag"): (
            "Skipped",
            "nobackfill is already set by someone else: left as it is",
        ),
        ("persons", "unsetFlag"): (
            "Skipped",
            "nobackfill left alone: set by someone else (Caretaker unsets only a flag that one "
            "of its setFlag steps set)",
        ),
        ("ours", "setFlag"): ("Succeeded", "ceph osd set norebalance"),
        ("ours", "unsetFlag"): ("Succeeded", "ceph osd unset norebalance"),
    }
    flags = _flags(ceph_cluster)
    assert "nobackfill" in flags, "the person's flag was lifted"
    assert "norebalance" not in flags, "Caretaker's own flag was left behind"


def _flag_rule(name: str, flag: str, expr: str, target: dict[str, str]) -> dict[str, Any]:
    return {
        "name": name,
        "expr": expr,
        "severity": "routine",
        "target": target,
        "actions": [
            {"after": "0s", "setFlag": {"flag": flag}},
            {"after": "0s", "unsetFlag": {"flag": flag}},
        ],
    }


def _flags(ceph: CephTestbed) -> set[str]:
    return set(ceph.ceph("osd", "dump")["flags_set"])


def _crush_host(ceph: CephTestbed, osd: int) -> str:
    nodes = ceph.ceph("osd", "tree")["nodes"]
    return next(n["name"] for n in nodes if n["type"] == "host" and osd in n.get("children", []))


def _hold(api: ApiClient, namespace: str) -> dict[str, Any]:
    item = target_status(get_policy(api, namespace, "brakes"), "drain-osd0", "osd/osd.0")
    return item.get("hold") or {}


def _wait_held(api: ApiClient, namespace: str, message: str) -> None:
    def held() -> bool:
        hold = _hold(api, namespace)
        return hold.get("reason") == "NoOut" and hold.get("message", "").startswith(message)

    try:
        wait_until(held, 60, f"markOut of osd.0 held: {message}")
    except AssertionError as error:
        found = [(r["spec"]["action"], r["status"]) for r in records(api, namespace)]
        raise AssertionError(f"{error}\nhold: {_hold(api, namespace)}\nrecords: {found}") from None


def _stays_in(api: ApiClient, ceph: CephTestbed, namespace: str) -> None:
    wait_evaluations(api, namespace, "brakes", 1)  # and held again
    assert osd_dump_state(ceph, 0)["in"] == 1, "osd.0 was marked out despite noout"
    assert records(api, namespace) == [], "a markOut was planned despite noout"
