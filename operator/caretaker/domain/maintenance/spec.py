"""The Maintenance spec as typed values, read from the raw object with every error collected."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from caretaker.domain.common.validation import FieldError, SpecReader
from caretaker.domain.common.window_spec import read_window
from caretaker.domain.common.windows import OneOffWindow, RecurringWindow, Window
from caretaker.domain.drain.rules import DrainSpec, read_drain_options
from caretaker.domain.maintenance.approval_spec import Approval, ApprovalSpec, read_approval
from caretaker.domain.maintenance.hook_spec import HooksSpec, read_hooks
from caretaker.domain.maintenance.notify_spec import (
    NotificationsSpec,
    read_maintenance_notifications,
)
from caretaker.domain.maintenance.silence_spec import SilenceSpec, read_silence

DEFAULT_HEALTHY_PG_STATES = r"^active\+clean(\+scrubbing(\+deep)?)?$"
_NODE_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


class NooutScope(StrEnum):
    OSD = "osd"
    HOST = "host"
    NONE = "none"


class HoldMode(StrEnum):
    MANUAL = "manual"
    DURATION = "duration"
    AUTO = "auto"


@dataclass(frozen=True)
class CephSpec:
    noout: NooutScope = NooutScope.OSD
    noout_timeout: timedelta = timedelta(minutes=30)
    healthy_pg_states: str = DEFAULT_HEALTHY_PG_STATES
    restore_timeout: timedelta = timedelta(minutes=30)


@dataclass(frozen=True)
class PromqlGate:
    name: str
    expr: str


@dataclass(frozen=True)
class GatesSpec:
    ceph_health: bool = True
    allowed_warnings: tuple[str, ...] = ()
    ok_to_stop: bool = True
    promql: tuple[PromqlGate, ...] = ()


@dataclass(frozen=True)
class HoldSpec:
    mode: HoldMode = HoldMode.MANUAL
    duration: timedelta | None = None


@dataclass(frozen=True)
class MaintenanceSpec:
    nodes: tuple[str, ...]
    node_selector: Mapping[str, str] | None
    window: Window
    max_unavailable: int = 1
    delay_between_nodes: timedelta = timedelta(0)
    node_duration_estimate: timedelta = timedelta(minutes=30)
    drain: DrainSpec = field(default_factory=DrainSpec)
    ceph: CephSpec = CephSpec()
    gates: GatesSpec = GatesSpec()
    hold: HoldSpec = HoldSpec()
    silence: SilenceSpec | None = None  # absent: no silence
    hooks: HooksSpec = field(default_factory=HooksSpec)  # spec.hooks: blocking calls
    release: tuple[str, ...] = ()
    suspend: bool = False
    abort: bool = False
    approval: ApprovalSpec = field(default_factory=ApprovalSpec)  # absent: no approval needed
    approvals: tuple[Approval, ...] = ()  # spec.approvals (also the annotation)
    notifications: NotificationsSpec | None = None  # absent: nobody is notified


_TOP_KEYS = {
    "nodes",
    "nodeSelector",
    "window",
    "strategy",
    "drain",
    "ceph",
    "gates",
    "hold",
    "silence",
    "hooks",
    "release",
    "suspend",
    "abort",
    "approval",
    "approvals",
    "notifications",
}


def read_maintenance_spec(
    raw: Mapping[str, Any],
) -> tuple[MaintenanceSpec | None, list[FieldError]]:
    """Reads and checks a Maintenance spec; returns the spec only when there is no error."""
    r = SpecReader()
    r.unknown_keys(raw, _TOP_KEYS, "spec")
    nodes = r.string_list(raw, "nodes", "spec")
    selector = r.labels(raw, "nodeSelector", "spec")
    _check_targets(r, nodes, selector)
    window = read_window(r, r.section(raw, "window", "spec"), "spec.window")
    strategy = r.section(raw, "strategy", "spec")
    r.unknown_keys(
        strategy, {"maxUnavailable", "delayBetweenNodes", "nodeDurationEstimate"}, "spec.strategy"
    )
    estimate = r.duration(
        strategy, "nodeDurationEstimate", "spec.strategy", timedelta(minutes=30)
    ) or timedelta(minutes=30)
    if isinstance(window, RecurringWindow | OneOffWindow) and window.duration < estimate:
        r.fail(
            "spec.window.duration",
            f"shorter than spec.strategy.nodeDurationEstimate ({estimate}): no node could "
            "ever start; lengthen the window or lower the estimate",
        )
    approval, approvals = read_approval(r, raw, nodes)
    spec = MaintenanceSpec(
        nodes=nodes,
        node_selector=selector,
        window=window,
        max_unavailable=r.integer(strategy, "maxUnavailable", "spec.strategy", 1, 1) or 1,
        delay_between_nodes=r.duration(
            strategy, "delayBetweenNodes", "spec.strategy", timedelta(0), positive=False
        )
        or timedelta(0),
        node_duration_estimate=estimate,
        drain=_read_drain(r, r.section(raw, "drain", "spec")),
        ceph=_read_ceph(r, r.section(raw, "ceph", "spec")),
        gates=_read_gates(r, r.section(raw, "gates", "spec")),
        hold=_read_hold(r, r.section(raw, "hold", "spec")),
        silence=read_silence(r, r.section(raw, "silence", "spec"))
        if raw.get("silence") is not None
        else None,
        hooks=read_hooks(r, r.section(raw, "hooks", "spec")),
        release=r.string_list(raw, "release", "spec"),
        suspend=r.boolean(raw, "suspend", "spec", False),
        abort=r.boolean(raw, "abort", "spec", False),
        approval=approval,
        approvals=approvals,
        notifications=read_maintenance_notifications(r, r.section(raw, "notifications", "spec"))
        if raw.get("notifications") is not None
        else None,
    )
    return (None, r.errors) if r.errors else (spec, [])


def _check_targets(
    r: SpecReader, nodes: tuple[str, ...], selector: Mapping[str, str] | None
) -> None:
    if not nodes and selector is None:
        r.fail("spec", "name the nodes to maintain: spec.nodes or spec.nodeSelector")
    if nodes and selector is not None:
        r.fail("spec.nodeSelector", "give spec.nodes or spec.nodeSelector, not both")
    if selector is not None and not selector:
        r.fail("spec.nodeSelector", "an empty selector would select every node; list labels")
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        if not _NODE_NAME.match(node):
            r.fail(f"spec.nodes[{index}]", f"{node!r} is not a valid node name")
        if node in seen:
            r.fail(f"spec.nodes[{index}]", f"node {node!r} is listed twice")
        seen.add(node)


def _read_drain(r: SpecReader, raw: Mapping[str, Any]) -> DrainSpec:
    return read_drain_options(r, raw, "spec.drain", switchable=True)


def _read_ceph(r: SpecReader, raw: Mapping[str, Any]) -> CephSpec:
    path = "spec.ceph"
    r.unknown_keys(raw, {"noout", "nooutTimeout", "healthyPGStates", "restoreTimeout"}, path)
    scope_text = raw.get("noout", "osd")
    try:
        scope = NooutScope(scope_text)
    except ValueError:
        r.fail(f"{path}.noout", f"must be osd, host or none, not {scope_text!r}")
        scope = NooutScope.OSD
    pattern = r.string(raw, "healthyPGStates", path) or DEFAULT_HEALTHY_PG_STATES
    try:
        re.compile(pattern)
    except re.error as exc:
        r.fail(f"{path}.healthyPGStates", f"not a valid regular expression: {exc}")
    return CephSpec(
        noout=scope,
        noout_timeout=r.duration(raw, "nooutTimeout", path, CephSpec.noout_timeout)
        or CephSpec.noout_timeout,
        healthy_pg_states=pattern,
        restore_timeout=r.duration(raw, "restoreTimeout", path, CephSpec.restore_timeout)
        or CephSpec.restore_timeout,
    )


def _read_gates(r: SpecReader, raw: Mapping[str, Any]) -> GatesSpec:
    path = "spec.gates"
    r.unknown_keys(raw, {"cephHealth", "allowedWarnings", "okToStop", "promql"}, path)
    gates: list[PromqlGate] = []
    items = raw.get("promql", [])
    if not isinstance(items, list):
        r.fail(f"{path}.promql", "must be a list of {name, expr}")
        items = []
    for index, item in enumerate(items):
        item_path = f"{path}.promql[{index}]"
        if not isinstance(item, Mapping):
            r.fail(item_path, "must be an object with name and expr")
            continue
        r.unknown_keys(item, {"name", "expr", "description"}, item_path)
        name, expr = r.string(item, "name", item_path), r.string(item, "expr", item_path)
        if name is None or expr is None:
            r.fail(item_path, "needs both name and expr")
            continue
        gates.append(PromqlGate(name, expr))
    return GatesSpec(
        ceph_health=r.boolean(raw, "cephHealth", path, True),
        allowed_warnings=r.string_list(raw, "allowedWarnings", path),
        ok_to_stop=r.boolean(raw, "okToStop", path, True),
        promql=tuple(gates),
    )


def _read_hold(r: SpecReader, raw: Mapping[str, Any]) -> HoldSpec:
    path = "spec.hold"
    r.unknown_keys(raw, {"mode", "duration"}, path)
    mode_text = raw.get("mode", "manual")
    try:
        mode = HoldMode(mode_text)
    except ValueError:
        r.fail(f"{path}.mode", f"must be manual, duration or auto, not {mode_text!r}")
        mode = HoldMode.MANUAL
    duration = r.duration(raw, "duration", path, None)
    if mode is HoldMode.DURATION and raw.get("duration") is None:
        r.fail(f"{path}.duration", "required when spec.hold.mode is duration")
    return HoldSpec(mode, duration)
