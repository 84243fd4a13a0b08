"""A bad edit never switches off a safety net (issue 9, item 3): after an edit the operator
rejects, the node under way keeps its noout expiry and abort works, under the last valid spec."""

from __future__ import annotations

import pytest
from kubernetes.client import ApiClient

from fixtures.ceph import CephTestbed
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    is_cordoned,
    noout_osds,
    patch_maintenance,
    status_of,
    wait_phase,
)
from fixtures.operator import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

# Valid for the CRD schema (a string), refused by the operator: the zone does not exist.
INVALID_WINDOW = {"schedule": "0 22 * * *", "duration": "6h", "timeZone": "Mars/Olympus_Mons"}


def test_an_invalid_edit_keeps_noout_expiry_and_abort(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[1]
    osds = set(clean_nodes[node])
    spec = {
        "nodes": [node],
        "hold": {"mode": "manual"},
        "drain": {"podSelector": {"app": "nothing-to-drain"}},
        "ceph": {"nooutTimeout": "20s"},
    }
    create_maintenance(kube_api, namespace, "fans", spec)
    with run_operator():
        wait_phase(kube_api, namespace, "fans", "InMaintenance", timeout=120)
        assert osds <= noout_osds(ceph_cluster)
        patch_maintenance(kube_api, namespace, "fans", {"spec": {"window": INVALID_WINDOW}})
        wait_until(
            lambda: "spec.window.timeZone" in status_of(kube_api, namespace, "fans")["message"],
            30,
            "the invalid edit reported",
        )
        wait_until(lambda: not osds & noout_osds(ceph_cluster), 90, "noout lifted by nooutTimeout")
        status = status_of(kube_api, namespace, "fans")
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Stalled"]["status"] == "True"
        assert conditions["Stalled"]["reason"] == "InvalidSpec"
        assert status["nodes"][0]["noout"]["state"] == "Expired"
        assert is_cordoned(kube_api, node)
        patch_maintenance(kube_api, namespace, "fans", {"spec": {"abort": True}})
        wait_phase(kube_api, namespace, "fans", "Aborted", timeout=120)
    assert not is_cordoned(kube_api, node)
    assert not osds & noout_osds(ceph_cluster)
