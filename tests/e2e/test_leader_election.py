"""Two operator processes against the same cluster, as the chart's two replicas run: one leads
and acts, the other waits as a standby; each page, webhook call, Remediation record and Event
happens once. When the leader is killed (SIGKILL: no goodbye, its Lease is left held), the
standby takes over once the Lease has expired, and finishes the work without repeating what was
done."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager

import pytest
from kubernetes.client import ApiClient

from caretaker.clients.kube.events import ObjectRef
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
from fixtures.kube_reads import list_events
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    get_maintenance,
    noout_osds,
    patch_maintenance,
    wait_phase,
)
from fixtures.operator import free_port, wait_until
from fixtures.receivers import MakeReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

LEASE_SECONDS = 6
TAKEOVER_SLACK = 4.0  # a standby's retry period, a renewal's round trip, the test's polling
LEADER_GAUGE = re.compile(r"^caretaker_leader ([0-9.]+)$", re.MULTILINE)
RECONCILES = re.compile(r"^controller_runtime_reconcile_total\{[^}]*\} ([0-9.]+)$", re.MULTILINE)


def election_args(namespace: str) -> list[str]:
    """Leader election on a Lease of this test's own, with short timings."""
    return [
        "--leader-elect",
        "--leader-election-lease",
        f"leader-{namespace}",
        "--leader-election-lease-duration",
        str(LEASE_SECONDS),
        "--leader-election-renew-deadline",
        "4",
        "--leader-election-retry-period",
        "1",
    ]


class Replica:
    """One operator process and its /metrics port."""

    def __init__(self, process: subprocess.Popen[bytes], metrics_port: int) -> None:
        self.process, self.metrics_port = process, metrics_port

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as answer:
            return str(answer.read().decode())

    def leads(self) -> bool:
        found = LEADER_GAUGE.search(self.metrics())
        assert found, "caretaker_leader is missing from /metrics"
        return float(found.group(1)) == 1.0

    def reconciles(self) -> float:
        """Maintenance reconciles and HealthPolicy evaluations this process has run."""
        return sum(float(n) for n in RECONCILES.findall(self.metrics()))

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)


@contextmanager
def two_replicas(start: OperatorFactory, *args: str) -> Iterator[tuple[Replica, Replica]]:
    """Two processes with the same flags; yields (leader, standby) once one of them leads."""
    with ExitStack() as stack:
        replicas = []
        for _ in range(2):
            port = free_port()
            process = stack.enter_context(start(*args, "--metrics-port", str(port)))
            replicas.append(Replica(process, port))
        wait_until(lambda: any(r.leads() for r in replicas), 30, "one replica to lead")
        leaders = [r for r in replicas if r.leads()]
        assert len(leaders) == 1, "both replicas lead"
        standby = next(r for r in replicas if r is not leaders[0])
        yield leaders[0], standby


def take_over(leader: Replica, standby: Replica) -> float:
    """Kills the leader; returns the seconds until the standby leads."""
    assert not standby.leads()
    killed = time.monotonic()
    leader.kill()
    limit = LEASE_SECONDS + TAKEOVER_SLACK
    wait_until(standby.leads, limit, "the standby to lead", interval=0.1)
    return time.monotonic() - killed


@pytest.mark.prometheus
def test_two_replicas_page_and_act_once_and_the_standby_takes_over(
    kube_api: ApiClient,
    ceph_cluster: CephTestbed,
    health_operator: HealthOperator,
    namespace: str,
    pagerduty: PagerDuty,
    make_receiver: MakeReceiver,
) -> None:
    automation = make_receiver(name="automation")
    spec = {
        "interval": "2s",
        "notifications": oncall("urgent"),
        "rules": [
            {
                "name": "noout-left-set",
                "expr": "ceph_osd_flag_noout == 1",
                "severity": "urgent",
                "target": {"kind": "cluster"},
                "actions": [
                    {"after": "0s", "notify": {}},
                    {"after": "0s", "webhook": {"url": automation.url}},
                ],
            }
        ],
    }
    create_policy(kube_api, namespace, "flags", spec)
    try:
        with two_replicas(
            lambda *a: health_operator(*a, pagerduty_url=pagerduty.receiver.url),
            *election_args(namespace),
        ) as (leader, standby):
            # both running, evaluating on the same schedule, when the condition starts
            ceph_cluster.ceph("osd", "set", "noout")
            pagerduty.receiver.wait_for_requests(1, timeout=40)
            automation.wait_for_requests(1, timeout=20)
            wait_evaluations(kube_api, namespace, "flags", 3)
            assert len(pagerduty.receiver.requests) == 1, "paged twice"
            assert len(automation.requests) == 1, "the webhook ran twice"
            assert [r["status"]["result"] for r in records(kube_api, namespace)] == [
                "Succeeded",
                "Succeeded",
            ]
            assert not standby.leads()
            assert leader.reconciles() > 0
            assert standby.reconciles() == 0, "the standby evaluated the policy"

            took = take_over(leader, standby)
            wait_evaluations(kube_api, namespace, "flags", 2)  # evaluated by the new leader
            assert len(pagerduty.receiver.requests) == 1, "the new leader paged again"
            assert len(automation.requests) == 1, "the new leader ran the webhook again"
            assert len(records(kube_api, namespace)) == 2

            ceph_cluster.ceph("osd", "unset", "noout")
            pagerduty.receiver.wait_for_requests(2, timeout=40)
            wait_evaluations(kube_api, namespace, "flags", 2)
    finally:
        ceph_cluster.ceph("osd", "unset", "noout")
    assert took <= LEASE_SECONDS + TAKEOVER_SLACK
    trigger, resolve = (r.json for r in pagerduty.receiver.requests)
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    assert len(automation.requests) == 1
    posted = Counter(event_reasons(kube_api, namespace, "flags"))
    assert posted, "no Events"
    assert set(posted.values()) == {1}, f"Events posted twice: {posted}"


def test_two_replicas_run_a_maintenance_once_across_a_takeover(
    kube_api: ApiClient,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    """The leader drains the node (noout, cordon) and is killed while the node is held in
    maintenance; the standby takes over, releases and restores it: every step's Event once."""
    node = sorted(clean_nodes)[0]
    osds = clean_nodes[node]
    spec = {
        "nodes": [node],
        "drain": {"podSelector": {"app": "nothing-to-evict"}},  # the OSD pods stay
        "hold": {"mode": "manual"},
    }
    create_maintenance(kube_api, namespace, "fans", spec)
    with two_replicas(run_operator, *election_args(namespace)) as (leader, standby):
        wait_phase(kube_api, namespace, "fans", "InMaintenance", timeout=120)
        assert noout_osds(ceph_cluster) == set(osds)
        assert not standby.leads()
        assert leader.reconciles() > 0
        assert standby.reconciles() == 0, "the standby reconciled the Maintenance"
        take_over(leader, standby)
        patch_maintenance(
            kube_api,
            namespace,
            "fans",
            {"metadata": {"annotations": {"caretaker.dev/release": node}}},
        )
        status = wait_phase(kube_api, namespace, "fans", "Completed", timeout=120)
    assert noout_osds(ceph_cluster) == set()
    assert status["progress"] == "1/1"
    obj = get_maintenance(kube_api, namespace, "fans")
    assert obj is not None
    regarding = ObjectRef(
        "caretaker.dev/v1alpha1", "Maintenance", "fans", namespace, obj["metadata"]["uid"]
    )
    reasons = Counter(event.reason for event in list_events(kube_api, regarding))
    steps = [
        "NodePreflight",
        "NodeDraining",
        "NooutSet",
        "Cordoned",
        "NodeInMaintenance",
        "NodeReleased",
        "Uncordoned",
        "NooutLifted",
        "NodeCompleted",
    ]
    assert {step: reasons[step] for step in steps} == dict.fromkeys(steps, 1), reasons
