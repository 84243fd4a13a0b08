"""Carries out a hook action of the state machine: one HTTP call (retried by the client) or the
creation of one Job, and folds the outcome into the hook's status entry. Never raises: a
failure becomes the entry's message (Failed, or for a Job that may yet be created, Running)."""

from __future__ import annotations

import logging
from dataclasses import replace
from typing import Any

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.secrets import SecretUnavailable
from caretaker.clients.notify.outcome import DeliveryFailed
from caretaker.constants import API_VERSION, MAINTENANCE_KIND
from caretaker.domain.common.reasons import Note
from caretaker.domain.maintenance.actions import CreateHookJob, RunHttpHook
from caretaker.domain.maintenance.hook_record import put_hook
from caretaker.domain.maintenance.hooks import settle_http, settle_job_created
from caretaker.domain.maintenance.status import MaintenanceStatus
from caretaker.domain.maintenance.world import World
from caretaker.handlers.maintenance.ports import MaintenancePorts

logger = logging.getLogger("caretaker.maintenance")
# Kubernetes refused the Job for good: the template or the permissions must change
FINAL_STATUSES = frozenset({400, 403, 404, 422})


def run_hook(
    ports: MaintenancePorts,
    world: World,
    status: MaintenanceStatus,
    action: RunHttpHook | CreateHookJob,
) -> tuple[MaintenanceStatus, tuple[Note, ...]]:
    namespace = world.identity.split("/", 1)[0]
    if isinstance(action, RunHttpHook):
        try:
            answer = ports.call_http_hook(namespace, action)
        except Exception as error:  # noqa: BLE001 - the hook failed: shown, never raised
            logger.warning("hook %s failed: %s", action.record.name, error)
            record, note = settle_http(
                action.record,
                world.now,
                status=None,
                document=None,
                ticket_field=action.ticket_field,
                error=_failure_text(error),
                attempts=getattr(error, "attempts", 1),
            )
        else:
            record, note = settle_http(
                action.record,
                world.now,
                status=answer.status,
                document=answer.document,
                ticket_field=action.ticket_field,
                error="",
                attempts=answer.attempts,
            )
        return replace(status, hooks=put_hook(status.hooks, record)), (note,)
    manifest = _owned(action.manifest, world)
    error_text, final = "", False
    try:
        ports.create_hook_job(namespace, manifest)
    except KubeApiError as error:
        error_text, final = str(error), error.status in FINAL_STATUSES
    except Exception as error:  # noqa: BLE001 - retried next round
        error_text = str(error)
    if error_text:
        logger.warning("creating the Job of hook %s failed: %s", action.record.name, error_text)
    job_record, job_note = settle_job_created(action.record, world.now, error_text, final)
    notes = (job_note,) if job_note is not None else ()
    return replace(status, hooks=put_hook(status.hooks, job_record)), notes


def _owned(manifest: Any, world: World) -> dict[str, Any]:
    """The Job with an ownerReference to the Maintenance: deleted with it by the collector."""
    name = world.identity.split("/", 1)[1]
    owner = {"apiVersion": API_VERSION, "kind": MAINTENANCE_KIND, "name": name, "uid": world.uid}
    meta = (
        {**manifest["metadata"], "ownerReferences": [owner]} if world.uid else manifest["metadata"]
    )
    return {**manifest, "metadata": meta}


def _failure_text(error: Exception) -> str:
    if isinstance(error, DeliveryFailed | SecretUnavailable | ValueError):
        return str(error)
    return f"the hook call failed: {error}"
