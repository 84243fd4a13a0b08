"""Approvals as written: ``spec.approval`` (what needs one), ``spec.approvals`` (given in the
spec, e.g. in a GitOps pull request) and the annotation ``caretaker.dev/approved`` (written by
``kubectl caretaker approve``). Both hold the same entries, ``{by: WHO, node: NODE}``; a node
of "*" (or none) approves the Maintenance as a whole, a node name approves that node."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from caretaker.constants import APPROVED_ANNOTATION
from caretaker.domain.common.validation import SpecReader

WHOLE = "*"  # an approval of the Maintenance as a whole
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_ENTRY_KEYS = {"by", "node"}


@dataclass(frozen=True)
class ApprovalSpec:
    required: bool = False  # the Maintenance needs an approval before its first node starts
    per_node: bool = False  # each node needs its own approval before it starts

    @property
    def needed(self) -> bool:
        return self.required or self.per_node


@dataclass(frozen=True)
class Approval:
    by: str
    node: str = WHOLE

    def approves(self, node: str) -> bool:
        """Whether this entry approves ``node`` ("*": the Maintenance as a whole)."""
        return self.node == node


def read_approval(
    r: SpecReader, raw: Mapping[str, Any], nodes: Sequence[str]
) -> tuple[ApprovalSpec, tuple[Approval, ...]]:
    """``spec.approval`` and ``spec.approvals``; a named node must be one of ``nodes`` when the
    spec lists them (a nodeSelector's nodes are only known in the cluster)."""
    section = r.section(raw, "approval", "spec")
    r.unknown_keys(section, {"required", "perNode"}, "spec.approval")
    wanted = ApprovalSpec(
        required=r.boolean(section, "required", "spec.approval", False),
        per_node=r.boolean(section, "perNode", "spec.approval", False),
    )
    items = raw.get("approvals")
    if items is None:
        return wanted, ()
    if not isinstance(items, list):
        r.fail("spec.approvals", "must be a list of {by, node}")
        return wanted, ()
    approvals: list[Approval] = []
    for index, item in enumerate(items):
        path = f"spec.approvals[{index}]"
        if not isinstance(item, Mapping):
            r.fail(path, "must be an object with by (who approves) and node (optional)")
            continue
        r.unknown_keys(item, _ENTRY_KEYS, path)
        by = r.string(item, "by", path)
        if by is None and item.get("by") is None:
            r.fail(f"{path}.by", "required: who approves")
        node = _node(r, item, path, nodes)
        if by is not None and node is not None:
            approvals.append(Approval(by.strip(), node))
    return wanted, tuple(approvals)


def _node(r: SpecReader, item: Mapping[str, Any], path: str, nodes: Sequence[str]) -> str | None:
    node = item.get("node", WHOLE)
    if node == WHOLE:
        return WHOLE
    if not isinstance(node, str) or not _NODE_NAME.match(node):
        r.fail(f"{path}.node", f'must be a node name or "*", not {node!r}')
        return None
    if nodes and node not in nodes:
        r.fail(f"{path}.node", f"{node!r} is not one of spec.nodes")
        return None
    return node


def parse_approved_annotation(text: str) -> tuple[tuple[Approval, ...], str]:
    """The entries of the annotation, or () and why it cannot be read (then it approves
    nothing): a JSON list of ``{"by": WHO, "node": NODE or "*"}``."""
    if not text.strip():
        return (), ""
    try:
        items = json.loads(text)
    except ValueError:
        return (), f'annotation {APPROVED_ANNOTATION} is not JSON: expected [{{"by": ...}}]'
    if not isinstance(items, list):
        return (), f"annotation {APPROVED_ANNOTATION} must be a JSON list of {{by, node}}"
    approvals: list[Approval] = []
    for index, item in enumerate(items):
        where = f"annotation {APPROVED_ANNOTATION} item {index}"
        if not isinstance(item, dict) or set(item) - _ENTRY_KEYS:
            return (), f"{where} must be an object with only by and node"
        by, node = item.get("by"), item.get("node", WHOLE)
        if not isinstance(by, str) or not by.strip():
            return (), f"{where}: by must be a non-empty string (who approves)"
        if not isinstance(node, str) or not (node == WHOLE or _NODE_NAME.match(node)):
            return (), f'{where}: node must be a node name or "*", not {node!r}'
        approvals.append(Approval(by.strip(), node))
    return tuple(approvals), ""


def approved_annotation_value(approvals: Sequence[Approval]) -> str:
    """The annotation holding ``approvals`` (what ``parse_approved_annotation`` reads)."""
    return json.dumps([{"by": a.by, "node": a.node} for a in approvals], separators=(",", ":"))
