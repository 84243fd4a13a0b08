"""Reads the MaintenanceFreezes (cluster-scoped; through the read cache, ``Services.watch``)
and tells what one namespace or one HealthPolicy sees now (``domain.common.freeze``).

RBAC: get, list and watch on maintenancefreezes (the chart's ClusterRole). A list that fails
freezes everything (fail closed); a 404 on the collection means the CRD is not installed, so
no freeze can exist."""

from __future__ import annotations

import logging
from datetime import datetime

from caretaker.clients.kube.api import KubeApiError
from caretaker.clients.kube.records import list_custom
from caretaker.domain.common.freeze import FREEZES, Freeze, FreezeView, freeze_of, freeze_view
from caretaker.handlers.services import Services

logger = logging.getLogger("caretaker.freeze")


def read_freezes(services: Services) -> tuple[tuple[Freeze, ...], str]:
    """Every freeze, and "" or why they could not be listed."""
    try:
        items = list_custom(services.kube, FREEZES, None)
    except KubeApiError as error:
        if error.not_found:
            logger.debug("no MaintenanceFreeze CRD: no freeze can exist")
            return (), ""
        return (), str(error)
    return tuple(freeze_of(item) for item in items), ""


def freeze_for(services: Services, namespace: str, now: datetime, policy: str = "") -> FreezeView:
    """The freezes active now for ``namespace`` (and ``policy``: its escalateFaster factor)."""
    freezes, unreadable = read_freezes(services)
    return freeze_view(freezes, namespace, now, unreadable=unreadable, policy=policy)
