"""MaintenanceFreeze: deny windows in which no Maintenance node starts and no disruptive
HealthPolicy step runs (pages still go). Pure: reads the objects, decides what one namespace
or one policy sees at one instant.

Fail closed: a freeze whose spec cannot be read counts as active, always and everywhere (its
windows and its namespaces cannot be trusted), with the field in the message; freezes that
cannot be listed at all freeze everything too. Only a missing MaintenanceFreeze CRD (404 on
the collection) means no freeze: then none can exist.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from caretaker.domain.common.timestamps import format_time
from caretaker.domain.common.validation import FieldError, SpecReader
from caretaker.domain.common.window_spec import read_window
from caretaker.domain.common.windows import AlwaysOpen, Window, window_state

FREEZE_KIND, FREEZES = "MaintenanceFreeze", "maintenancefreezes"
MAX_FACTOR = 60
_TOP_KEYS = {"reason", "namespaces", "windows", "escalateFaster"}
_NAMESPACE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_POLICY = re.compile(
    r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?|\*)$"
)


@dataclass(frozen=True)
class Escalation:
    policies: tuple[str, ...]  # "namespace/name" or "namespace/*"
    factor: int  # every rule's `for` and every step's `after` divided by it

    def names(self, namespace: str, name: str) -> bool:
        return f"{namespace}/{name}" in self.policies or f"{namespace}/*" in self.policies


@dataclass(frozen=True)
class FreezeSpec:
    reason: str
    windows: tuple[Window, ...]
    namespaces: tuple[str, ...] | None = None  # None: every namespace
    escalate: Escalation | None = None


def read_freeze_spec(raw: Mapping[str, Any]) -> tuple[FreezeSpec | None, list[FieldError]]:
    """Reads and checks a MaintenanceFreeze spec; the spec only when there is no error."""
    r = SpecReader()
    r.unknown_keys(raw, _TOP_KEYS, "spec")
    reason = r.string(raw, "reason", "spec")
    if reason is None and "reason" not in raw:
        r.fail("spec.reason", "required: why nothing may be disrupted (shown in every status)")
    windows = _read_windows(r, raw.get("windows"))
    namespaces = None
    if "namespaces" in raw:
        namespaces = r.string_list(raw, "namespaces", "spec")
        if not namespaces:
            r.fail("spec.namespaces", "list at least one namespace, or leave it out for all")
        for index, name in enumerate(namespaces):
            if not _NAMESPACE.match(name):
                r.fail(f"spec.namespaces[{index}]", f"{name!r} is not a namespace name")
    escalate = None
    if raw.get("escalateFaster") is not None:
        escalate = _read_escalation(r, r.section(raw, "escalateFaster", "spec"))
    if r.errors:
        return None, r.errors
    return FreezeSpec(reason or "", windows, namespaces, escalate), []


def _read_windows(r: SpecReader, value: Any) -> tuple[Window, ...]:
    if not isinstance(value, list) or not value:
        r.fail("spec.windows", "list at least one window ({start, duration} or {schedule, ...})")
        return ()
    windows: list[Window] = []
    for index, item in enumerate(value):
        path = f"spec.windows[{index}]"
        if not isinstance(item, Mapping) or not item:
            r.fail(path, "must be an object: {start, duration} or {schedule, duration, timeZone}")
            continue
        window = read_window(r, item, path)
        if not isinstance(window, AlwaysOpen):
            windows.append(window)
    return tuple(windows)


def _read_escalation(r: SpecReader, raw: Mapping[str, Any]) -> Escalation:
    path = "spec.escalateFaster"
    r.unknown_keys(raw, {"healthPolicies", "factor"}, path)
    policies = r.string_list(raw, "healthPolicies", path)
    if not policies:
        r.fail(f"{path}.healthPolicies", "list the policies as namespace/name or namespace/*")
    for index, ref in enumerate(policies):
        if not _POLICY.match(ref):
            r.fail(f"{path}.healthPolicies[{index}]", f"{ref!r}: write namespace/name or ns/*")
    factor = r.integer(raw, "factor", path, None, 2)
    if "factor" not in raw:
        r.fail(f"{path}.factor", "required: how many times sooner the ladder climbs (2 or more)")
    elif factor is not None and factor > MAX_FACTOR:
        r.fail(f"{path}.factor", f"must be at most {MAX_FACTOR}, not {factor}")
    return Escalation(policies, factor or 2)


@dataclass(frozen=True)
class Freeze:
    """One MaintenanceFreeze object as read: its spec, or why it cannot be read."""

    name: str
    spec: FreezeSpec | None
    errors: tuple[FieldError, ...] = ()


def freeze_of(obj: Mapping[str, Any]) -> Freeze:
    name = str((obj.get("metadata") or {}).get("name") or "")
    raw = obj.get("spec")
    spec, errors = read_freeze_spec(raw if isinstance(raw, Mapping) else {})
    return Freeze(name, spec, tuple(errors))


@dataclass(frozen=True)
class ActiveFreeze:
    name: str
    reason: str
    until: datetime | None  # end of the open window; None for an invalid freeze

    @property
    def text(self) -> str:
        end = f" until {format_time(self.until)}" if self.until else ""
        return f"MaintenanceFreeze {self.name}{end}: {self.reason}"


@dataclass(frozen=True)
class FreezeView:
    """What one namespace (or one policy) sees now: the active freezes, and ``unreadable``
    when the freezes could not be listed (then everything counts as frozen)."""

    active: tuple[ActiveFreeze, ...] = ()
    unreadable: str = ""
    factor: int = 1  # escalateFaster: the largest factor of the active freezes naming a policy

    @property
    def frozen(self) -> bool:
        return bool(self.active or self.unreadable)

    @property
    def names(self) -> str:
        shown = [f.name for f in self.active] + (["(unreadable)"] if self.unreadable else [])
        return ",".join(shown)

    @property
    def message(self) -> str:
        parts = [f.text for f in self.active]
        if self.unreadable:
            parts.append(f"MaintenanceFreezes cannot be read ({self.unreadable}): fail closed")
        return "; ".join(parts)


def active_freeze(freeze: Freeze, namespace: str, now: datetime) -> ActiveFreeze | None:
    """The freeze as it applies to ``namespace`` at ``now`` (None: not active there)."""
    if freeze.spec is None:
        why = "; ".join(str(e) for e in freeze.errors[:3])
        return ActiveFreeze(freeze.name, f"invalid spec, counted as active: {why}", None)
    spec = freeze.spec
    if spec.namespaces is not None and namespace not in spec.namespaces:
        return None
    ends = [s.ends_at for w in spec.windows if (s := window_state(w, now)).is_open]
    if not ends:
        return None
    until = None if any(e is None for e in ends) else max(e for e in ends if e is not None)
    return ActiveFreeze(freeze.name, spec.reason, until)


def freeze_view(
    freezes: Iterable[Freeze],
    namespace: str,
    now: datetime,
    *,
    unreadable: str = "",
    policy: str = "",
) -> FreezeView:
    """The freezes active for ``namespace`` (and, for ``escalateFaster``, the HealthPolicy
    ``policy`` of that namespace) at ``now``."""
    active: list[ActiveFreeze] = []
    factor = 1
    for freeze in sorted(freezes, key=lambda f: f.name):
        found = active_freeze(freeze, namespace, now)
        if found is None:
            continue
        active.append(found)
        escalate = freeze.spec.escalate if freeze.spec else None
        if escalate is not None and policy and escalate.names(namespace, policy):
            factor = max(factor, escalate.factor)
    return FreezeView(tuple(active), unreadable, factor)


def next_start(freezes: Iterable[Freeze], now: datetime) -> datetime | None:
    """When the next freeze window opens (for a freeze's own status)."""
    starts = [
        s.next_start
        for f in freezes
        if f.spec
        for w in f.spec.windows
        if (s := window_state(w, now)).next_start
    ]
    return min((s for s in starts if s is not None), default=None)
