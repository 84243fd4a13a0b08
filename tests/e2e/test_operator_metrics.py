"""The operator's own metrics reach the testbed Prometheus."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes.client import ApiClient

from fixtures.maintenance import create_maintenance
from fixtures.operator import free_port, operator_process
from fixtures.prom import PrometheusTestbed

pytestmark = [pytest.mark.e2e, pytest.mark.prometheus, pytest.mark.kube]


def test_operator_metrics_are_scraped(
    kube_api: ApiClient,
    kube_env: dict[str, str],
    caretaker_crds: None,
    namespace: str,
    prometheus_testbed: PrometheusTestbed,
    operator_log: Path,
) -> None:
    port = free_port()
    create_maintenance(kube_api, namespace, "metrics", {"nodes": ["not-a-node"]})
    args = ["--namespace", namespace, "--reconcile-interval", "1", "--metrics-port", str(port)]
    with operator_process(kube_env, args, operator_log):
        prometheus_testbed.add_target("caretaker", f"127.0.0.1:{port}")
        reconciles = prometheus_testbed.wait_for_series(
            'controller_runtime_reconcile_total{job="caretaker",controller="maintenance",'
            'result="success"} > 0',
            timeout=60,
        )
        phases = prometheus_testbed.wait_for_series(
            f'caretaker_maintenances{{job="caretaker",namespace="{namespace}",name="metrics"}}',
            timeout=30,
        )
    assert reconciles
    assert [s["metric"]["phase"] for s in phases] == ["Pending"]
