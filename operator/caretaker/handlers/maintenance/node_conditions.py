"""Shows a Maintenance's progress on its nodes as Node lifecycle conditions
(``domain.maintenance.lifecycle_conditions`` decides which). Best effort: a failed patch is
logged and tried again next round; it never stops the maintenance itself."""

from __future__ import annotations

import logging

from caretaker.clients.kube.api import KubeApiError
from caretaker.domain.maintenance.lifecycle_conditions import condition_changes
from caretaker.domain.maintenance.status import MaintenanceStatus
from caretaker.domain.maintenance.world import World
from caretaker.handlers.maintenance.ports import MaintenancePorts

logger = logging.getLogger("caretaker.maintenance")


def sync_node_conditions(ports: MaintenancePorts, world: World, status: MaintenanceStatus) -> None:
    for change in condition_changes(world, status):
        try:
            ports.patch_node_conditions(change.node, change.put, change.remove)
        except KubeApiError as error:
            logger.warning("lifecycle conditions of node %s not written: %s", change.node, error)
