"""spec.notifications end to end: a Maintenance of a real kubelet node tells a real webhook
receiver and a real Slack stand-in (tests/fixtures/receivers.py) that it started, that the node
is ready for the technician (naming the node, its OSDs and the release command), that it was
released and completed: each exactly once, although the operator is restarted during the hold,
and the release is done with the very command the notification gave."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from pathlib import Path

import pytest
from kubernetes.client import ApiClient

import caretaker
from fixtures.health import create_secret
from fixtures.kube import KubeTestbed
from fixtures.maintenance import OperatorFactory, create_maintenance, wait_phase
from fixtures.operator import wait_until
from fixtures.receivers import MakeReceiver, Receiver

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]
NAME = "told"
CODE = Path(caretaker.__file__).resolve().parents[1]  # this checkout's operator/
LIFECYCLE = ["Started", "NodeReady", "Released", "NodeCompleted", "Completed"]


def _events(receiver: Receiver) -> list[str]:
    return [r.json["event"] for r in receiver.requests]


def _slack_texts(receiver: Receiver) -> list[str]:
    return [r.json["text"] for r in receiver.requests]


def _run(command: str, kube_testbed: KubeTestbed) -> subprocess.CompletedProcess[str]:
    """The command a notification gave, as a person would type it (kubectl caretaker ...)."""
    words = shlex.split(command)
    assert words[:2] == ["kubectl", "caretaker"], command
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    env.update(PYTHONPATH=str(CODE), KUBECONFIG=str(kube_testbed.kubeconfig))
    cmd = [sys.executable, "-m", "caretaker.cli.kubectl", *words[2:]]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, check=False)


def test_each_step_is_told_once_across_a_restart_and_the_told_release_works(
    kube_api: ApiClient,
    kube_testbed: KubeTestbed,
    clean_nodes: dict[str, list[int]],
    run_operator: OperatorFactory,
    namespace: str,
    make_receiver: MakeReceiver,
) -> None:
    node = sorted(clean_nodes)[0]
    osds = sorted(clean_nodes[node])
    hook, slack = make_receiver(200, name="hook"), make_receiver(200, name="slack")
    create_secret(kube_api, namespace, "slack", {"url": f"{slack.url}/services/T0/B0/x"})
    receivers = [
        {"name": "ops-hook", "webhook": {"url": f"{hook.url}/maintenance"}},
        {"name": "chat", "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}}},
    ]
    create_maintenance(
        kube_api, namespace, NAME, {"nodes": [node], "notifications": {"receivers": receivers}}
    )
    with run_operator():
        wait_phase(kube_api, namespace, NAME, "InMaintenance", timeout=120)
        wait_until(lambda: len(hook.requests) >= 2 and len(slack.requests) >= 2, 30, "2 sent")
    assert _events(hook) == ["Started", "NodeReady"]
    ready = hook.requests[1]
    event = ready.json
    assert (event["node"], event["osds"]) == (node, osds)
    assert event["maintenance"] == {"namespace": namespace, "name": NAME}
    assert ready.header("Idempotency-Key") == event["key"]
    assert event["key"].endswith(f"/NodeReady/{node}")
    text = event["text"]
    assert f"Node {node} is drained and ready for the technician" in text
    assert f"OSDs {','.join(map(str, osds))} are" in text
    release = f"kubectl caretaker release {NAME} {node} -n {namespace}"
    assert release in text
    assert "http" not in text
    assert f"Node {node} is drained" in _slack_texts(slack)[1]

    # A new operator process during the hold: it must not tell anything again.
    with run_operator():
        time.sleep(5)  # reconcile interval 1 s: several rounds over the recorded status
        assert len(hook.requests) == 2
        assert len(slack.requests) == 2
        done = _run(release, kube_testbed)
        assert done.returncode == 0, done.stderr
        wait_phase(kube_api, namespace, NAME, "Completed", timeout=180)
        wait_until(lambda: len(hook.requests) >= 5 and len(slack.requests) >= 5, 30, "5 sent")
        time.sleep(3)  # anything sent twice would have arrived by now
    assert _events(hook) == LIFECYCLE
    assert len(slack.requests) == len(LIFECYCLE)
    assert len({r.header("Idempotency-Key") for r in hook.requests}) == len(LIFECYCLE)
    released = hook.requests[2].json["text"]
    assert f"Node {node} was released" in released
