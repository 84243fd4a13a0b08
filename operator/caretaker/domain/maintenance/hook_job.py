"""The Job of a ``spec.hooks[].job`` hook: its name (deterministic, at most 63 characters) and
its manifest (labels, the CARETAKER_* variables, Kubernetes' own deadline). Pure."""

from __future__ import annotations

import copy
import hashlib
import re
from collections.abc import Mapping
from typing import Any

from caretaker.constants import HOOK_LABEL, MAINTENANCE_LABEL
from caretaker.domain.maintenance.hook_spec import Hook, HookStage
from caretaker.domain.maintenance.world import World

_NOT_NAME = re.compile(r"[^a-z0-9-]+")


def hook_job_name(world: World, stage: HookStage, node: str, hook: str, attempt: int) -> str:
    """``<maintenance>-<hook>-<node>`` cut to fit, and a hash of all that identifies the run
    (the Maintenance's uid, the stage, the attempt): at most 63 characters."""
    name = world.identity.split("/", 1)[1]
    base = _NOT_NAME.sub("-", f"{name}-{hook}-{node or 'all'}".lower())[:54].strip("-")
    digest = hashlib.sha256(f"{world.uid}/{stage}/{node}/{hook}/{attempt}".encode()).hexdigest()[:8]
    return f"{base}-{digest}"


def job_manifest(
    world: World, hook: Hook, stage: HookStage, node: str, job_name: str
) -> dict[str, Any]:
    """The Job of a hook: its pod template with the CARETAKER_* variables in every container,
    labels naming the Maintenance and the hook, Kubernetes' own deadline at the hook's
    timeout, and no restarts unless ``backoffLimit`` allows them."""
    assert hook.job is not None
    namespace, name = world.identity.split("/", 1)
    labels = {MAINTENANCE_LABEL: name, HOOK_LABEL: hook.name}
    template: dict[str, Any] = copy.deepcopy(dict(hook.job.template))
    meta = template.setdefault("metadata", {})
    meta["labels"] = {**(meta.get("labels") or {}), **labels}
    spec = template.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Never")
    env = {
        "CARETAKER_STAGE": str(stage),
        "CARETAKER_NODE": node,
        "CARETAKER_MAINTENANCE": world.identity,
    }
    for key in ("initContainers", "containers"):
        containers = spec.get(key)
        for container in containers if isinstance(containers, list) else ():
            if not isinstance(container, dict):
                continue  # Kubernetes refuses the Job and says why
            given = container.get("env")
            kept = [
                e
                for e in (given if isinstance(given, list) else ())
                if not isinstance(e, Mapping) or e.get("name") not in env
            ]
            container["env"] = [*kept, *({"name": k, "value": v} for k, v in env.items())]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name, "namespace": namespace, "labels": labels},
        "spec": {
            "backoffLimit": hook.job.backoff_limit,
            "activeDeadlineSeconds": int(hook.job.timeout.total_seconds()),
            "template": template,
        },
    }
