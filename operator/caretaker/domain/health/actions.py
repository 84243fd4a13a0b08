"""The actions of an escalation ladder: a tagged union of plain data; the executor does the I/O.

Each kind says whether it is disruptive (it changes Ceph or Kubernetes: safety limits and the
circuit breaker apply) and which targets it can act on. A step may be followed by a
verification (what must become true, and within what time) before later disruptive steps run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from caretaker.constants import Severity
from caretaker.domain.drain.rules import DrainSpec
from caretaker.domain.health.refs import SecretKeyRef
from caretaker.domain.health.targets import Target, TargetKind, TargetMapping


class Flag(StrEnum):
    NOOUT = "noout"
    NOREBALANCE = "norebalance"
    NORECOVER = "norecover"
    NOBACKFILL = "nobackfill"
    NOSCRUB = "noscrub"
    NODEEP_SCRUB = "nodeep-scrub"


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


class VerifyCondition(StrEnum):
    OSD_UP = "OsdUp"
    OSD_IN = "OsdIn"
    OSD_OUT = "OsdOut"
    RESOLVED = "Resolved"  # the rule no longer returns this target


@dataclass(frozen=True)
class Notify:
    """Send to these receivers, plus the route of ``route`` (default: the rule's severity)."""

    receivers: tuple[str, ...] = ()
    route: Severity | None = None


@dataclass(frozen=True)
class RestartOsd:
    """Restart the OSD daemon (delete its pod)."""


@dataclass(frozen=True)
class MarkOut:
    """``ceph osd out``: only when ``ok-to-stop`` allows and ``maxOsdsOut`` is not reached."""


@dataclass(frozen=True)
class MarkIn:
    """``ceph osd in`` (only OSDs that Caretaker marked out, the executor checks)."""


@dataclass(frozen=True)
class SetFlag:
    flag: Flag


@dataclass(frozen=True)
class UnsetFlag:
    flag: Flag


@dataclass(frozen=True)
class PgRepair:
    """``ceph pg repair`` on the target PG, or on every inconsistent PG of the target pool."""


@dataclass(frozen=True)
class Cordon:
    """Cordon the target's node."""


@dataclass(frozen=True)
class Drain:
    """Cordon and drain the target's node, with the Maintenance drain's options and rules."""

    options: DrainSpec = field(default_factory=DrainSpec)

    @property
    def timeout(self) -> timedelta:
        return self.options.timeout

    @property
    def grace_period_seconds(self) -> int | None:
        return self.options.grace_period_seconds


@dataclass(frozen=True)
class Taint:
    key: str
    effect: TaintEffect
    value: str = ""


@dataclass(frozen=True)
class Webhook:
    """POST the event (JSON, with an ``Idempotency-Key`` header) to a URL."""

    url: str = ""
    url_secret: SecretKeyRef | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    disruptive: bool = False


Action = (
    Notify
    | RestartOsd
    | MarkOut
    | MarkIn
    | SetFlag
    | UnsetFlag
    | PgRepair
    | Cordon
    | Drain
    | Taint
    | Webhook
)

ACTION_KINDS: Mapping[str, type[Action]] = {
    "notify": Notify,
    "restartOsd": RestartOsd,
    "markOut": MarkOut,
    "markIn": MarkIn,
    "setFlag": SetFlag,
    "unsetFlag": UnsetFlag,
    "pgRepair": PgRepair,
    "cordon": Cordon,
    "drain": Drain,
    "taint": Taint,
    "webhook": Webhook,
}
_KIND_OF = {cls: name for name, cls in ACTION_KINDS.items()}
_OSD_ACTIONS = (RestartOsd, MarkOut, MarkIn)
_NODE_ACTIONS = (Cordon, Drain, Taint)
_ALWAYS_DISRUPTIVE = (*_OSD_ACTIONS, *_NODE_ACTIONS, SetFlag, UnsetFlag, PgRepair)

DEFAULT_VERIFY: Mapping[type[Action], tuple[VerifyCondition, timedelta]] = {
    RestartOsd: (VerifyCondition.OSD_UP, timedelta(minutes=3)),
    MarkOut: (VerifyCondition.OSD_OUT, timedelta(minutes=1)),
    MarkIn: (VerifyCondition.OSD_IN, timedelta(minutes=1)),
}


@dataclass(frozen=True)
class Verify:
    condition: VerifyCondition
    within: timedelta


@dataclass(frozen=True)
class LadderStep:
    """``spec.rules[].actions[]``: run ``action`` once the target has fired for ``after``."""

    after: timedelta
    action: Action
    verify: Verify | None = None

    @property
    def kind(self) -> str:
        return kind_of(self.action)

    @property
    def disruptive(self) -> bool:
        return is_disruptive(self.action)


def kind_of(action: Action) -> str:
    """The action's name as the spec and the Remediation records spell it (``restartOsd``)."""
    return _KIND_OF[type(action)]


def is_disruptive(action: Action) -> bool:
    if isinstance(action, Webhook):
        return action.disruptive
    return isinstance(action, _ALWAYS_DISRUPTIVE)


def needs_ok_to_stop(action: Action) -> bool:
    """markOut, and restartOsd of an OSD that is up (the caller knows whether it is)."""
    return isinstance(action, MarkOut | RestartOsd)


def mapping_problem(action: Action | Verify, mapping: TargetMapping) -> str:
    """Why an action (or verification) cannot act on the targets of this mapping ("" if it can)."""
    if isinstance(action, Verify):
        if action.condition is VerifyCondition.RESOLVED or mapping.kind is TargetKind.OSD:
            return ""
        return f"verifies {action.condition}, which needs target.kind osd"
    name = kind_of(action)
    if isinstance(action, _OSD_ACTIONS) and mapping.kind is not TargetKind.OSD:
        return f"{name} acts on an OSD: set target.kind osd and target.label (e.g. ceph_daemon)"
    node_kinds = (TargetKind.NODE, TargetKind.HOST)
    if (
        isinstance(action, _NODE_ACTIONS)
        and mapping.kind not in node_kinds
        and not mapping.node_label
    ):
        return f"{name} acts on a node: set target.kind node or host, or target.nodeLabel"
    if isinstance(action, PgRepair) and mapping.kind not in (TargetKind.POOL, TargetKind.PG):
        return f"{name} acts on a pool or PG: set target.kind pool or pg"
    return ""


def target_problem(action: Action, target: Target) -> str:
    """Why the action cannot act on this very target ("" if it can): e.g. no OSD id in it."""
    if isinstance(action, _OSD_ACTIONS) and target.osd_id is None:
        return f"{kind_of(action)} needs an OSD, but {target.key} names none"
    if isinstance(action, _NODE_ACTIONS) and not target.node_name:
        return f"{kind_of(action)} needs a node, but {target.key} names none"
    if isinstance(action, PgRepair) and target.kind not in (TargetKind.POOL, TargetKind.PG):
        return f"pgRepair needs a pool or PG, but {target.key} is neither"
    return ""


def describe(action: Action) -> str:
    """A short human text for Events and records: ``setFlag noout``, ``notify oncall``."""
    name = kind_of(action)
    if isinstance(action, SetFlag | UnsetFlag):
        return f"{name} {action.flag}"
    if isinstance(action, Taint):
        return f"{name} {action.key}={action.value}:{action.effect}"
    if isinstance(action, Notify):
        shown = list(action.receivers) + ([f"route {action.route}"] if action.route else [])
        return f"{name} {', '.join(shown)}".rstrip()
    return name


def action_details(action: Action) -> dict[str, str]:
    """The action's parameters as strings, for the Remediation record (no secrets)."""
    if isinstance(action, SetFlag | UnsetFlag):
        return {"flag": str(action.flag)}
    if isinstance(action, Taint):
        return {"key": action.key, "value": action.value, "effect": str(action.effect)}
    if isinstance(action, Drain):
        details = {"timeout": f"{int(action.timeout.total_seconds())}s"}
        if action.grace_period_seconds is not None:
            details["gracePeriodSeconds"] = str(action.grace_period_seconds)
        return details
    if isinstance(action, Notify):
        return {"receivers": ",".join(action.receivers), "route": str(action.route or "")}
    if isinstance(action, Webhook):
        return {"url": action.url or "(from Secret)", "disruptive": str(action.disruptive).lower()}
    return {}
