"""What `kubectl caretaker` writes, through the mechanisms the operator reads: the annotation
caretaker.dev/release (a comma list of nodes, or "*") for a release, spec.suspend and spec.abort
for the rest, each as a JSON merge patch. The release is read-modify-write, guarded by the
object's resourceVersion: a concurrent change is re-read, never overwritten."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from caretaker.constants import RELEASE_ANNOTATION

ALL = "*"
HELD = "InMaintenance"


class UsageError(Exception):
    """The command cannot be carried out as asked (a node the Maintenance does not have)."""


def known_nodes(obj: Mapping[str, Any]) -> list[str]:
    """The Maintenance's nodes: spec.nodes, and those its status lists (nodeSelector)."""
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    names = [str(n) for n in spec.get("nodes") or []]
    names += [str(n.get("name")) for n in status.get("nodes") or [] if n.get("name")]
    return list(dict.fromkeys(names))


def released_now(obj: Mapping[str, Any]) -> list[str]:
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = str(annotations.get(RELEASE_ANNOTATION) or "")
    return [v.strip() for v in value.split(",") if v.strip()]


@dataclass(frozen=True)
class Release:
    patch: dict[str, Any] | None  # None: already released, nothing to write
    value: str  # the annotation afterwards
    notes: tuple[str, ...]  # nodes the release does not end a hold for right now


def plan_release(obj: Mapping[str, Any], nodes: Sequence[str], release_all: bool) -> Release:
    """The merge patch that adds ``nodes`` (or "*") to the release annotation."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    if release_all == bool(nodes):
        raise UsageError("name the nodes to release, or give --all (not both)")
    known = known_nodes(obj)
    unknown = [n for n in nodes if known and n not in known]
    if unknown:
        raise UsageError(
            f'maintenance.caretaker.dev "{name}" has no node {", ".join(unknown)} '
            f"(its nodes: {', '.join(known)})"
        )
    current = released_now(obj)
    wanted = [ALL] if release_all else list(nodes)
    value = ",".join(dict.fromkeys([*current, *wanted]))
    if ALL in current or all(n in current for n in wanted):
        return Release(None, ",".join(current), _notes(obj, wanted))
    patch = {
        "metadata": {
            "resourceVersion": meta.get("resourceVersion"),
            "annotations": {RELEASE_ANNOTATION: value},
        }
    }
    return Release(patch, value, _notes(obj, wanted))


def _notes(obj: Mapping[str, Any], wanted: Sequence[str]) -> tuple[str, ...]:
    phases = {
        str(n.get("name")): str(n.get("phase"))
        for n in (obj.get("status") or {}).get("nodes") or []
    }
    if ALL in wanted:
        return ()
    return tuple(
        f"node {n} is {phases.get(n, 'not started')}, not held: the release counts if it gets "
        f"to {HELD}"
        for n in wanted
        if phases.get(n) not in (HELD, "Restoring", "Completed")
    )


def spec_patch(field: str, value: bool) -> dict[str, Any]:
    return {"spec": {field: value}}
