"""Reads the Jobs of a Maintenance's hooks for the snapshot (only while one is running)."""

from __future__ import annotations

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.jobs import list_jobs
from caretaker.constants import MAINTENANCE_LABEL
from caretaker.domain.maintenance.hook_record import HookJobView, HookState
from caretaker.domain.maintenance.status import MaintenanceStatus


def read_hook_jobs(
    api: ApiClient, namespace: str, name: str, status: MaintenanceStatus
) -> tuple[dict[str, HookJobView], str]:
    """The hook Jobs by name, and why they could not be listed ("" when they were)."""
    if not any(h.kind == "job" and h.state == HookState.RUNNING for h in status.hooks):
        return {}, ""
    try:
        jobs = list_jobs(api, namespace, f"{MAINTENANCE_LABEL}={name}")
    except KubeApiError as error:
        return {}, f"the hook Jobs cannot be listed: {error}"
    views = {n: HookJobView(n, j.complete, j.failed, j.message) for n, j in jobs.items()}
    return views, ""
