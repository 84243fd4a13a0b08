"""What a returned series is about: an OSD, a host, a node, a pool, a PG, or the whole cluster.

A rule's ``target`` mapping names the label that identifies the target (``ceph_daemon`` for an
OSD). A rule without a mapping treats each series as its own target, named by its labels. A
series whose mapping label is missing or unreadable falls back to such a series target, so it
still notifies; actions that need an OSD or a node are then held, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

_OSD_NAME = re.compile(r"^(?:osd\.)?(\d+)$")
CLUSTER_NAME = "ceph"


class TargetKind(StrEnum):
    OSD = "osd"
    HOST = "host"
    NODE = "node"
    POOL = "pool"
    PG = "pg"
    CLUSTER = "cluster"
    SERIES = "series"  # no mapping (or no usable label): one target per label set


MAPPED_KINDS = (
    TargetKind.OSD,
    TargetKind.HOST,
    TargetKind.NODE,
    TargetKind.POOL,
    TargetKind.PG,
    TargetKind.CLUSTER,
)


@dataclass(frozen=True)
class TargetMapping:
    """``spec.rules[].target``: which label names the target, and optionally its node."""

    kind: TargetKind = TargetKind.SERIES
    label: str = ""
    node_label: str = ""


@dataclass(frozen=True)
class Target:
    kind: TargetKind
    name: str
    node: str = ""  # the Kubernetes node / Ceph host it lives on, when known

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def osd_id(self) -> int | None:
        if self.kind is not TargetKind.OSD:
            return None
        match = _OSD_NAME.match(self.name)
        return int(match.group(1)) if match else None

    @property
    def node_name(self) -> str:
        """The node that cordon, drain and taint act on ("" when unknown)."""
        if self.kind in (TargetKind.NODE, TargetKind.HOST):
            return self.name
        return self.node


def series_name(labels: Mapping[str, str]) -> str:
    """A stable name for a label set: ``{a="1",b="2"}`` without ``__name__``."""
    parts = [f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__"]
    return "{" + ",".join(parts) + "}"


def target_of(labels: Mapping[str, str], mapping: TargetMapping) -> Target:
    """The target a series is about, according to the rule's mapping."""
    node = labels.get(mapping.node_label, "") if mapping.node_label else ""
    if mapping.kind is TargetKind.CLUSTER:
        return Target(TargetKind.CLUSTER, CLUSTER_NAME, node)
    value = labels.get(mapping.label, "") if mapping.label else ""
    if mapping.kind is TargetKind.SERIES or not value:
        return Target(TargetKind.SERIES, series_name(labels), node)
    if mapping.kind is TargetKind.OSD:
        match = _OSD_NAME.match(value)
        if match is None:
            return Target(TargetKind.SERIES, series_name(labels), node)
        return Target(TargetKind.OSD, f"osd.{match.group(1)}", node)
    return Target(mapping.kind, value, node)


def target_from_key(key: str, node: str = "") -> Target:
    """Reads back ``Target.key`` (as stored in status and records)."""
    kind, _, name = key.partition("/")
    return Target(TargetKind(kind), name, node)
