"""Stable keys: an action's idempotency key, a firing episode's id, PagerDuty's dedup_key.

They depend only on what identifies the thing (never on the clock of the evaluation that
computes them), so a restarted operator computes the same keys and finds its own records.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from caretaker.domain.health.status import stamp

_SEPARATOR = "\x1f"
MAX_DEDUP_KEY = 255  # PagerDuty Events API v2 limit
MAX_POLICY_PREFIX = 40


@dataclass(frozen=True)
class PolicyRef:
    """The HealthPolicy being evaluated."""

    namespace: str
    name: str
    uid: str


def _digest(*parts: str) -> str:
    return hashlib.sha256(_SEPARATOR.join(parts).encode()).hexdigest()


def episode_id(policy_uid: str, rule: str, target_key: str, firing_since: datetime) -> str:
    """One firing episode of a rule on a target: from firing until the condition clears."""
    return _digest("episode", policy_uid, rule, target_key, stamp(firing_since) or "")[:20]


def idempotency_key(
    policy_uid: str, rule: str, target_key: str, step_index: int, firing_since: datetime
) -> str:
    """One ladder step of one episode; also the suffix of its Remediation record's name."""
    since = stamp(firing_since) or ""
    return _digest("step", policy_uid, rule, target_key, str(step_index), since)[:32]


def dedup_key(namespace: str, policy: str, rule: str, target_key: str, step_key: str) -> str:
    """PagerDuty's dedup_key: one incident per notify step of one firing episode (the step's
    idempotency key, whose first 12 characters end it), readable when it fits. A resend of the
    step uses the same key (harmless); a new episode, or a later notify step of the same
    episode (an escalation), opens a new incident instead of landing in an old one."""
    readable = f"caretaker/{namespace}/{policy}/{rule}/{target_key}/{step_key[:12]}"
    if len(readable) <= MAX_DEDUP_KEY:
        return readable
    return f"caretaker/{_digest('dedup', namespace, policy, rule, target_key, step_key)}"


def resolve_key(step_key: str) -> str:
    """The idempotency key of the resolve that closes a notify step's incident."""
    return _digest("resolve", step_key)[:32]


def record_name(policy: str, key: str) -> str:
    """The Remediation record's metadata.name: ``<policy>-<key prefix>`` (a DNS subdomain)."""
    prefix = policy[:MAX_POLICY_PREFIX].rstrip("-.")
    return f"{prefix}-{key[:16]}"
