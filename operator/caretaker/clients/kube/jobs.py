"""batch/v1 Jobs of a Maintenance's hooks: create one (an existing Job of that name is the one
created before: 409 is success), and list them by label with whether each has finished."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError, api_path, list_items, request_json

JOBS = "/apis/batch/v1/namespaces/{}/jobs"


@dataclass(frozen=True)
class JobState:
    name: str
    complete: bool
    failed: bool
    message: str  # the Failed condition's reason and message ("" otherwise)


def create_job(api: ApiClient, namespace: str, manifest: Mapping[str, Any]) -> bool:
    """Creates the Job; False when one of that name exists already."""
    try:
        request_json(api, "POST", api_path(JOBS, namespace), body=dict(manifest))
    except KubeApiError as error:
        if error.conflict:
            return False
        raise
    return True


def list_jobs(api: ApiClient, namespace: str, selector: str) -> dict[str, JobState]:
    """The Jobs of ``namespace`` matching the label ``selector``, by name."""
    found: dict[str, JobState] = {}
    for job in list_items(api, api_path(JOBS, namespace), {"labelSelector": selector}):
        state = job_state(job)
        found[state.name] = state
    return found


def job_state(job: Mapping[str, Any]) -> JobState:
    conditions = (job.get("status") or {}).get("conditions") or []
    true = {c.get("type"): c for c in conditions if c.get("status") == "True"}
    failed = true.get("Failed")
    message = ""
    if failed is not None:
        message = ": ".join(
            str(part) for part in (failed.get("reason"), failed.get("message")) if part
        )
    return JobState(
        name=str(job["metadata"]["name"]),
        complete="Complete" in true,
        failed=failed is not None,
        message=message or ("failed" if failed is not None else ""),
    )
