"""`kubectl caretaker approve NAME [--node NODE] [--by WHO]`: adds ``{"by": WHO, "node": NODE
or "*"}`` to the annotation caretaker.dev/approved (the entries already there are kept; the
same approval twice changes nothing), as a merge patch guarded by the resourceVersion, like a
release. Refused when the Maintenance asks for no such approval or has no such node."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from caretaker.cli.kubectl.actions import UsageError, known_nodes
from caretaker.constants import APPROVED_ANNOTATION
from caretaker.domain.maintenance.approval_spec import (
    WHOLE,
    Approval,
    approved_annotation_value,
    parse_approved_annotation,
)


@dataclass(frozen=True)
class Approve:
    patch: dict[str, Any] | None  # None: approved already, nothing to write
    what: str  # "node node-a" or "" (the Maintenance)
    notes: tuple[str, ...] = ()


def plan_approve(obj: Mapping[str, Any], node: str | None, by: str) -> Approve:
    """The merge patch that adds the approval of ``node`` (None: the Maintenance) by ``by``."""
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    spec = obj.get("spec") or {}
    wanted = spec.get("approval") or {}
    if not by.strip():
        raise UsageError("--by must name who approves")
    if node is None and not wanted.get("required"):
        hint = "; approve a node with --node NODE" if wanted.get("perNode") else ""
        raise UsageError(
            f'maintenance.caretaker.dev "{name}" does not require an approval '
            f"(spec.approval.required is not true){hint}"
        )
    if node is not None and not wanted.get("perNode"):
        raise UsageError(
            f'maintenance.caretaker.dev "{name}" does not require an approval of each node '
            "(spec.approval.perNode is not true)"
        )
    known = known_nodes(obj)
    if node is not None and known and node not in known:
        raise UsageError(
            f'maintenance.caretaker.dev "{name}" has no node {node} (its nodes: {", ".join(known)})'
        )
    annotations = meta.get("annotations") or {}
    current, problem = parse_approved_annotation(str(annotations.get(APPROVED_ANNOTATION) or ""))
    if problem:
        raise UsageError(
            f"{problem}; nothing was approved: fix it, or remove it with "
            f"kubectl annotate maintenance {name} {APPROVED_ANNOTATION}-"
        )
    approval = Approval(by.strip(), node or WHOLE)
    what = f"node {node}" if node else ""
    notes = _notes(obj, node)
    if approval in current:
        return Approve(None, what, notes)
    value = approved_annotation_value([*current, approval])
    patch = {
        "metadata": {
            "resourceVersion": meta.get("resourceVersion"),
            "annotations": {APPROVED_ANNOTATION: value},
        }
    }
    return Approve(patch, what, notes)


def _notes(obj: Mapping[str, Any], node: str | None) -> tuple[str, ...]:
    records = (obj.get("status") or {}).get("nodes") or []
    if node is None:
        if any(r.get("phase") not in (None, "Pending") for r in records):
            return ("the Maintenance has started already: the approval changes nothing now",)
        return ()
    phase = next((str(r.get("phase")) for r in records if r.get("name") == node), "Pending")
    if phase != "Pending":
        return (f"node {node} is {phase}, not waiting to start: the approval changes nothing now",)
    return ()
