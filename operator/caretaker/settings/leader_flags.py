"""The leader election flags of ``caretaker run`` (``caretaker.app.leader_election``), their
environment variables, and the rule that makes their timings work together."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from caretaker.settings import parsing as parse
from caretaker.settings.parsing import EnvSetting

LEADER_ENV_SETTINGS: tuple[EnvSetting, ...] = (
    EnvSetting("leader_elect", "CARETAKER_LEADER_ELECT", parse.boolean),
    EnvSetting("leader_election_lease", "CARETAKER_LEADER_ELECTION_LEASE", parse.object_name),
    EnvSetting(
        "leader_election_lease_duration",
        "CARETAKER_LEADER_ELECTION_LEASE_DURATION",
        parse.whole_seconds,
    ),
    EnvSetting(
        "leader_election_renew_deadline",
        "CARETAKER_LEADER_ELECTION_RENEW_DEADLINE",
        parse.interval_seconds,
    ),
    EnvSetting(
        "leader_election_retry_period",
        "CARETAKER_LEADER_ELECTION_RETRY_PERIOD",
        parse.interval_seconds,
    ),
)


class LeaderTimings(Protocol):
    @property
    def leader_election_lease_duration(self) -> int: ...
    @property
    def leader_election_renew_deadline(self) -> float: ...
    @property
    def leader_election_retry_period(self) -> float: ...


def add_leader_election_arguments(
    parser: argparse.ArgumentParser, defaults: Any, help_for: Callable[[str, str], str]
) -> None:
    """``--leader-elect`` and ``--leader-election-*``; ``help_for(dest, text)`` adds the
    environment variable to a flag's help."""
    flags: tuple[tuple[str, Callable[[str], Any], str], ...] = (
        ("lease", parse.object_name, "the Lease, in --lease-namespace (default {})"),
        ("lease_duration", parse.whole_seconds, "seconds a Lease lasts unrenewed (default {})"),
        (
            "renew_deadline",
            parse.interval_seconds,
            "seconds until an unrenewed leader exits ({:g})",
        ),
        ("retry_period", parse.interval_seconds, "seconds between renewals/tries (default {:g})"),
    )
    parser.add_argument(
        "--leader-elect",
        action="store_true",
        default=None,
        help=help_for(
            "leader_elect", "act only while holding the leader Lease (default: act at once)"
        ),
    )
    for name, kind, text in flags:
        dest = f"leader_election_{name}"
        shown = text.format(getattr(defaults, dest))
        parser.add_argument(f"--{dest.replace('_', '-')}", type=kind, help=help_for(dest, shown))


def leader_election_problem(settings: LeaderTimings, env: Iterable[EnvSetting]) -> str:
    """Why the leader election timings cannot work together ("" when they can): the leader
    must give up before a standby may take the Lease, and must get to try a renewal first."""
    duration = settings.leader_election_lease_duration
    deadline = settings.leader_election_renew_deadline
    retry = settings.leader_election_retry_period
    pairs: tuple[tuple[str, float, str, float], ...] = (
        ("renew_deadline", deadline, "lease_duration", duration),
        ("retry_period", retry, "renew_deadline", deadline),
    )
    variables = {s.dest: s.variable for s in env}
    for shorter, value, longer, limit in pairs:
        if value >= limit:
            named_short = _named(shorter, value, variables)
            return f"{named_short} must be less than {_named(longer, limit, variables)}"
    return ""


def _named(timing: str, value: float, variables: dict[str, str]) -> str:
    dest = f"leader_election_{timing}"
    return f"--{dest.replace('_', '-')}={value:g} (${variables[dest]})"
