"""`kubectl caretaker` against the real testbed and the real operator (issue 11, item 7): the
command, run as a person runs it, changes what the operator reads, and the operator acts on it:
suspend and resume, release of a held node, abort with and without confirmation; errors are one
line and exit 1; the namespace comes from the kubeconfig's context."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from kubernetes.client import ApiClient

import caretaker
from fixtures.ceph import CephTestbed
from fixtures.kube import KubeTestbed
from fixtures.maintenance import (
    OperatorFactory,
    create_maintenance,
    get_maintenance,
    is_cordoned,
    noout_osds,
    status_of,
    wait_phase,
)

pytestmark = [pytest.mark.e2e, pytest.mark.ceph, pytest.mark.kube]

CODE = Path(caretaker.__file__).resolve().parents[1]  # this checkout's operator/
HELD = {"mode": "manual"}


def kubectl_caretaker(
    kubeconfig: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    """The plugin as kubectl runs it (kubectl-caretaker is this module's console script)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBERNETES_SERVICE")}
    env.update(PYTHONPATH=str(CODE), KUBECONFIG=str(kubeconfig))
    cmd = [sys.executable, "-m", "caretaker.cli.kubectl", *args]
    return subprocess.run(
        cmd, input=stdin, capture_output=True, text=True, env=env, timeout=60, check=False
    )


def context_kubeconfig(testbed: KubeTestbed, namespace: str, path: Path) -> Path:
    """The testbed's kubeconfig with the test's namespace in its context."""
    config = yaml.safe_load(testbed.kubeconfig.read_text())
    for context in config["contexts"]:
        context["context"]["namespace"] = namespace
    path.write_text(yaml.safe_dump(config))
    return path


def test_suspend_resume_and_release_drive_the_operator(
    kube_api: ApiClient,
    kube_testbed: KubeTestbed,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
    tmp_path: Path,
) -> None:
    node = sorted(clean_nodes)[0]
    config = context_kubeconfig(kube_testbed, namespace, tmp_path / "kubeconfig")
    create_maintenance(kube_api, namespace, "fans", {"nodes": [node], "hold": HELD})
    done = kubectl_caretaker(config, "suspend", "fans")  # no -n: the context's namespace
    assert (done.returncode, done.stdout) == (0, "maintenance.caretaker.dev/fans suspended\n")
    with run_operator():
        wait_phase(kube_api, namespace, "fans", "Suspended", timeout=60)
        assert not is_cordoned(kube_api, node)
        done = kubectl_caretaker(config, "resume", "fans", "-n", namespace)
        assert done.returncode == 0, done.stderr
        wait_phase(kube_api, namespace, "fans", "InMaintenance", timeout=120)

        listed = kubectl_caretaker(config, "status")
        assert listed.returncode == 0, listed.stderr
        header, row = listed.stdout.splitlines()
        assert header.split()[:4] == ["NAME", "PHASE", "PROGRESS", "CURRENT"]
        assert row.split()[:4] == ["fans", "InMaintenance", "0/1", node]
        one = json.loads(kubectl_caretaker(config, "status", "fans", "-o", "json").stdout)
        assert one["status"]["nodes"][0]["phase"] == "InMaintenance"
        everywhere = kubectl_caretaker(config, "status", "-A").stdout
        assert any(line.split()[:2] == [namespace, "fans"] for line in everywhere.splitlines())

        time.sleep(2)  # held: nothing moves without a release
        assert status_of(kube_api, namespace, "fans")["phase"] == "InMaintenance"
        done = kubectl_caretaker(config, "release", "fans", node)
        assert (done.returncode, done.stdout) == (
            0,
            f"maintenance.caretaker.dev/fans released ({node})\n",
        )
        wait_phase(kube_api, namespace, "fans", "Completed", timeout=120)
    obj = get_maintenance(kube_api, namespace, "fans")
    assert obj is not None
    assert obj["metadata"]["annotations"]["caretaker.dev/release"] == node
    assert not obj["spec"].get("release"), "the annotation, not the spec"
    assert obj["spec"]["suspend"] is False
    assert not is_cordoned(kube_api, node)
    assert noout_osds(ceph_cluster) == set()


def test_abort_asks_first_and_errors_are_one_line(
    kube_api: ApiClient,
    kube_testbed: KubeTestbed,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    run_operator: OperatorFactory,
    namespace: str,
) -> None:
    node = sorted(clean_nodes)[1]
    config = kube_testbed.kubeconfig
    create_maintenance(kube_api, namespace, "stop", {"nodes": [node], "hold": HELD})
    with run_operator():
        wait_phase(kube_api, namespace, "stop", "InMaintenance", timeout=120)
        assert is_cordoned(kube_api, node)

        refused = kubectl_caretaker(config, "abort", "stop", "-n", namespace, stdin="n\n")
        assert refused.returncode == 1
        assert refused.stderr.endswith("error: not aborted (confirm with y, or pass --yes)\n")
        time.sleep(2)
        assert status_of(kube_api, namespace, "stop")["phase"] == "InMaintenance"

        done = kubectl_caretaker(config, "abort", "stop", "-n", namespace, "--yes")
        assert (done.returncode, done.stdout) == (0, "maintenance.caretaker.dev/stop aborted\n")
        wait_phase(kube_api, namespace, "stop", "Aborted", timeout=120)
    assert not is_cordoned(kube_api, node)
    assert noout_osds(ceph_cluster) == set()

    missing = kubectl_caretaker(config, "release", "nope", node, "-n", namespace)
    assert missing.returncode == 1
    assert missing.stderr == (
        'Error from server (NotFound): maintenances.caretaker.dev "nope" not found\n'
    )
    wrong = kubectl_caretaker(config, "release", "stop", "ct-node-zz", "-n", namespace)
    assert wrong.returncode == 1
    assert wrong.stderr.startswith('error: maintenance.caretaker.dev "stop" has no node ct-node-zz')
    approve = kubectl_caretaker(config, "approve", "stop", "-n", namespace)
    assert approve.returncode == 1
    assert approve.stderr == (
        'error: maintenance.caretaker.dev "stop" does not require an approval '
        "(spec.approval.required is not true)\n"
    )
    for result in (refused, missing, wrong, approve):
        assert "Traceback" not in result.stderr
        assert "Error:" not in result.stderr.replace("Error from server", "")
