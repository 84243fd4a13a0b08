"""Reads an escalation ladder (``spec.rules[].actions``): one action per step, with checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from caretaker.constants import Severity
from caretaker.domain.common.validation import SpecReader
from caretaker.domain.drain.rules import read_drain_options
from caretaker.domain.health.actions import (
    ACTION_KINDS,
    DEFAULT_VERIFY,
    Action,
    Cordon,
    Drain,
    Flag,
    LadderStep,
    MarkIn,
    MarkOut,
    Notify,
    PgRepair,
    RestartOsd,
    SetFlag,
    Taint,
    TaintEffect,
    UnsetFlag,
    Verify,
    VerifyCondition,
    Webhook,
    mapping_problem,
)
from caretaker.domain.health.notify_spec import NotificationsSpec, read_webhook_target
from caretaker.domain.health.targets import TargetMapping

_TAINT_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)
E = TypeVar("E", Flag, Severity, TaintEffect, VerifyCondition)
_NO_PARAMETERS: Mapping[str, Callable[[], Action]] = {
    "restartOsd": RestartOsd,
    "markOut": MarkOut,
    "markIn": MarkIn,
    "pgRepair": PgRepair,
    "cordon": Cordon,
}


@dataclass(frozen=True)
class LadderContext:
    """What a step is checked against: the rule's target mapping and the policy's receivers."""

    mapping: TargetMapping
    notifications: NotificationsSpec


def read_ladder(
    r: SpecReader, value: Any, path: str, context: LadderContext
) -> tuple[LadderStep, ...]:
    if not isinstance(value, list):
        r.fail(path, "must be a list of steps such as {after: 2m, restartOsd: {}}")
        return ()
    steps: list[LadderStep] = []
    previous = timedelta(0)
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if not isinstance(item, Mapping):
            r.fail(item_path, "must be an object")
            continue
        step = _read_step(r, item, item_path, context)
        if step is None:
            continue
        if step.after < previous:
            r.fail(f"{item_path}.after", "must not be earlier than the step before it")
        previous = max(previous, step.after)
        steps.append(step)
    return tuple(steps)


def _read_step(
    r: SpecReader, item: Mapping[str, Any], path: str, context: LadderContext
) -> LadderStep | None:
    r.unknown_keys(item, {"after", *ACTION_KINDS, "verify"}, path)
    after = r.duration(item, "after", path, None, positive=False)
    if "after" not in item:
        r.fail(f"{path}.after", "required: how long after firing the step runs (e.g. 0s, 2m)")
    kinds = [kind for kind in ACTION_KINDS if kind in item]
    if len(kinds) != 1:
        r.fail(path, "give exactly one action: " + ", ".join(ACTION_KINDS))
        return None
    kind = kinds[0]
    action = _read_action(r, kind, r.section(item, kind, path), f"{path}.{kind}", context)
    if action is None:
        return None
    problem = mapping_problem(action, context.mapping)
    if problem:
        r.fail(f"{path}.{kind}", problem)
    verify = _read_verify(r, item, path, action, context.mapping)
    return LadderStep(after or timedelta(0), action, verify)


def _read_action(
    r: SpecReader, kind: str, raw: Mapping[str, Any], path: str, context: LadderContext
) -> Action | None:
    if kind in _NO_PARAMETERS:
        r.unknown_keys(raw, set(), path)
        return _NO_PARAMETERS[kind]()
    if kind in ("setFlag", "unsetFlag"):
        r.unknown_keys(raw, {"flag"}, path)
        flag = _enum(r, raw, "flag", path, Flag)
        if flag is None:
            return None
        return SetFlag(flag) if kind == "setFlag" else UnsetFlag(flag)
    if kind == "notify":
        return _read_notify(r, raw, path, context.notifications)
    if kind == "drain":
        return Drain(read_drain_options(r, raw, path))
    if kind == "taint":
        return _read_taint(r, raw, path)
    target = read_webhook_target(r, raw, path)
    return Webhook(
        target.url, target.url_secret, target.headers, r.boolean(raw, "disruptive", path, False)
    )


def _read_notify(
    r: SpecReader, raw: Mapping[str, Any], path: str, notifications: NotificationsSpec
) -> Notify:
    r.unknown_keys(raw, {"receivers", "route"}, path)
    names = r.string_list(raw, "receivers", path)
    for index, name in enumerate(names):
        if notifications.receiver(name) is None:
            r.fail(f"{path}.receivers[{index}]", f"no receiver named {name!r}")
    route = _enum(r, raw, "route", path, Severity) if "route" in raw else None
    return Notify(names, route)


def _read_taint(r: SpecReader, raw: Mapping[str, Any], path: str) -> Taint | None:
    r.unknown_keys(raw, {"key", "value", "effect"}, path)
    key = r.string(raw, "key", path)
    if key is None:
        r.fail(f"{path}.key", "required")
    elif not _TAINT_KEY.match(key):
        r.fail(f"{path}.key", f"{key!r} is not a valid taint key")
    value = raw.get("value", "")
    if not isinstance(value, str) or len(value) > 63:
        r.fail(f"{path}.value", "must be a string of at most 63 characters")
        value = ""
    effect = _enum(r, raw, "effect", path, TaintEffect)
    if key is None or effect is None:
        return None
    return Taint(key, effect, value)


def _read_verify(
    r: SpecReader, item: Mapping[str, Any], path: str, action: Action, mapping: TargetMapping
) -> Verify | None:
    default = DEFAULT_VERIFY.get(type(action))
    if "verify" not in item:
        return Verify(*default) if default else None
    vpath = f"{path}.verify"
    raw = r.section(item, "verify", path)
    r.unknown_keys(raw, {"condition", "within"}, vpath)
    if "condition" in raw:
        condition = _enum(r, raw, "condition", vpath, VerifyCondition)
    elif default is not None:
        condition = default[0]
    else:
        r.fail(f"{vpath}.condition", "required for this action: OsdUp, OsdIn, OsdOut or Resolved")
        condition = None
    within = r.duration(raw, "within", vpath, default[1] if default else None)
    if within is None and "within" not in raw:
        r.fail(f"{vpath}.within", "required: how long the condition may take (e.g. 3m)")
    if condition is None or within is None:
        return None
    verify = Verify(condition, within)
    problem = mapping_problem(verify, mapping)
    if problem:
        r.fail(f"{vpath}.condition", problem)
    return verify


def _enum(r: SpecReader, raw: Mapping[str, Any], key: str, path: str, enum: type[E]) -> E | None:
    text = raw.get(key)
    try:
        return enum(text if isinstance(text, str) else "")
    except ValueError:
        allowed = ", ".join(str(member.value) for member in enum)
        r.fail(f"{path}.{key}", f"must be one of {allowed}, not {text!r}")
        return None
