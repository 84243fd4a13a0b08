"""Prometheus metrics of the operator itself, served on --metrics-port (/metrics).

Names follow controller-runtime where they fit (``controller_runtime_reconcile_*``), so the
dashboards and alerts platform teams already have for Go operators work for Caretaker too.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RECONCILE_TOTAL = Counter(
    "controller_runtime_reconcile_total",
    "Reconciliations per controller and result (success, error, requeue)",
    ["controller", "result"],
)
RECONCILE_ERRORS = Counter(
    "controller_runtime_reconcile_errors_total",
    "Reconciliation errors per controller",
    ["controller"],
)
RECONCILE_TIME = Histogram(
    "controller_runtime_reconcile_time_seconds",
    "Time per reconciliation",
    ["controller"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MAINTENANCES = Gauge(
    "caretaker_maintenances",
    "Maintenances by phase (as last reconciled)",
    ["namespace", "name", "phase"],
)
MAINTENANCE_NODES_DONE = Gauge(
    "caretaker_maintenance_nodes_completed",
    "Nodes completed per Maintenance",
    ["namespace", "name"],
)
REMEDIATIONS = Counter(
    "caretaker_remediations_total",
    "Remediation actions by rule, action and result",
    ["namespace", "policy", "rule", "action", "result"],
)
TIME_TO_RECOVER = Histogram(
    "caretaker_time_to_recover_seconds",
    "From a rule firing to its condition clearing",
    ["namespace", "policy", "rule"],
    buckets=(30, 60, 120, 300, 600, 1200, 1800, 3600, 7200, 14400),
)
CIRCUIT_OPEN = Gauge(
    "caretaker_circuit_breaker_open",
    "1 while disruptive actions are frozen for a policy",
    ["namespace", "policy"],
)
PROMETHEUS_QUERY_TIME = Histogram(
    "caretaker_prometheus_query_seconds",
    "Prometheus query durations",
    ["result"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
KUBE_REQUESTS = Counter(
    "caretaker_kube_requests_total",
    "Requests sent to the Kubernetes API server (watches by kopf not included)",
    ["verb"],
)
LEADER = Gauge(
    "caretaker_leader",
    "1 while this process holds the leader election Lease (or runs without leader election)",
)
CEPH_COMMAND_TIME = Histogram(
    "caretaker_ceph_command_seconds",
    "Ceph command durations",
    ["prefix", "result"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


@contextmanager
def reconcile_timer(controller: str) -> Iterator[None]:
    """Counts and times one reconciliation; an exception counts as an error and propagates."""
    started = time.perf_counter()
    try:
        yield
    except Exception:
        RECONCILE_TOTAL.labels(controller, "error").inc()
        RECONCILE_ERRORS.labels(controller).inc()
        raise
    else:
        RECONCILE_TOTAL.labels(controller, "success").inc()
    finally:
        RECONCILE_TIME.labels(controller).observe(time.perf_counter() - started)


_maintenance_phase: dict[tuple[str, str], str] = {}


def record_maintenance_phase(namespace: str, name: str, phase: str, done: int) -> None:
    """One series per Maintenance, value 1, labelled with its current phase."""
    previous = _maintenance_phase.get((namespace, name))
    if previous is not None and previous != phase:
        MAINTENANCES.remove(namespace, name, previous)
    _maintenance_phase[(namespace, name)] = phase
    MAINTENANCES.labels(namespace, name, phase).set(1)
    MAINTENANCE_NODES_DONE.labels(namespace, name).set(done)


def forget_maintenance(namespace: str, name: str) -> None:
    """Drops the series of a deleted Maintenance."""
    previous = _maintenance_phase.pop((namespace, name), None)
    if previous is not None:
        MAINTENANCES.remove(namespace, name, previous)
        MAINTENANCE_NODES_DONE.remove(namespace, name)


def serve(port: int) -> None:
    """Starts the /metrics endpoint (0: off)."""
    if port:
        start_http_server(port)
