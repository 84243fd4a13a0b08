"""The real operator process against the real API server: a Maintenance gets its status back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import api_path, request_json
from fixtures.operator import operator_process, wait_until

MAINTENANCES = "/apis/caretaker.dev/v1alpha1/namespaces/{}/maintenances"


def _get(api: ApiClient, namespace: str, name: str) -> dict[str, Any]:
    return request_json(api, "GET", api_path(MAINTENANCES + "/{}", namespace, name))


def _condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == kind), None)


def test_operator_writes_status_of_a_maintenance(
    kube_api: ApiClient,
    kube_env: dict[str, str],
    caretaker_crds: None,
    namespace: str,
    operator_log: Path,
) -> None:
    body = {
        "apiVersion": "caretaker.dev/v1alpha1",
        "kind": "Maintenance",
        "metadata": {"name": "fans"},
        "spec": {"nodes": ["no-such-node"]},
    }
    request_json(kube_api, "POST", api_path(MAINTENANCES, namespace), body=body)
    with operator_process(
        kube_env, ["--namespace", namespace, "--reconcile-interval", "1"], operator_log
    ):

        def stalled() -> dict[str, Any] | None:
            obj = _get(kube_api, namespace, "fans")
            cond = _condition(obj, "Stalled")
            return obj if cond and cond["status"] == "True" else None

        obj = wait_until(stalled, 60, "Stalled condition on the Maintenance")
    assert isinstance(obj, dict)
    status = obj["status"]
    assert status["observedGeneration"] == obj["metadata"]["generation"]
    stalled_cond = _condition(obj, "Stalled")
    assert stalled_cond is not None
    assert stalled_cond["reason"] == "TargetsNotFound"
    assert "no-such-node" in stalled_cond["message"]
    assert stalled_cond["observedGeneration"] == obj["metadata"]["generation"]
    assert stalled_cond["lastTransitionTime"]
    ready = _condition(obj, "Ready")
    assert ready is not None
    assert ready["status"] == "False"
    assert "caretaker.dev/finalizer" in obj["metadata"]["finalizers"]
