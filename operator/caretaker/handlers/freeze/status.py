"""Keeps every MaintenanceFreeze's own status current (``domain.common.freeze_status``): one
thread of the leading operator, started by the wiring. Each pass lists the freezes (from the
read cache while its watch is open), writes the status of those whose status would change, and
sleeps until the next window opens or ends, or ``every`` seconds, whichever comes first.

RBAC: patch on maintenancefreezes/status (the chart's ClusterRole). A failed pass is logged and
retried on the next one: a freeze's status is for people; the Maintenances and HealthPolicies
decide from the freezes' specs, never from this status."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.custom import CustomRef, patch_status
from caretaker.clients.kube.records import list_custom
from caretaker.domain.common.freeze import FREEZES, freeze_of
from caretaker.domain.common.freeze_status import freeze_status
from caretaker.domain.common.merge_patch import changes_nothing
from caretaker.handlers.services import Services

logger = logging.getLogger("caretaker.freeze")
MIN_WAIT_SECONDS = 0.5


def write_freeze_statuses(services: Services, now: datetime) -> datetime | None:
    """One pass; returns when the next status changes by itself (None: not foreseen)."""
    try:
        items = list_custom(services.kube, FREEZES, None)
    except KubeApiError as error:
        if not error.not_found:  # 404: no MaintenanceFreeze CRD, nothing to keep
            logger.warning("listing MaintenanceFreezes failed (retried): %s", error)
        return None
    soonest: datetime | None = None
    for item in items:
        meta = item.get("metadata") or {}
        current = item.get("status") or {}
        generation = int(meta.get("generation") or 0)
        status = freeze_status(freeze_of(item), now, generation, current.get("conditions") or [])
        if status.changes_at is not None:
            soonest = min(soonest or status.changes_at, status.changes_at)
        if changes_nothing(current, status.doc):
            continue
        ref = CustomRef(FREEZES, "", str(meta.get("name") or ""))
        try:
            patch_status(services.kube, ref, status.doc, resource_version="")
        except KubeApiError as error:
            logger.warning("writing the status of MaintenanceFreeze %s failed: %s", ref.name, error)
    return soonest


def keep_freeze_statuses(services: Services, stopped: threading.Event, every: float) -> None:
    """Until ``stopped``: a pass, then sleep until the next foreseen change or ``every``."""
    while not stopped.is_set():
        now = datetime.now(UTC)
        try:
            changes_at = write_freeze_statuses(services, now)
        except Exception:  # a status for people: log it, never stop the keeper
            logger.exception("keeping MaintenanceFreeze statuses failed; retrying")
            changes_at = None
        wait = every
        if changes_at is not None:
            wait = min(every, max(MIN_WAIT_SECONDS, (changes_at - now).total_seconds() + 0.2))
        stopped.wait(wait)
