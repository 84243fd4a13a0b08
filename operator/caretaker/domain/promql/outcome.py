"""What one PromQL query gave, for every feature that asks Prometheus (HealthPolicy rules,
Maintenance gates): its series, or a typed failure. ``caretaker.handlers.promql`` asks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum


@dataclass(frozen=True)
class Sample:
    """One series of a rule's query: its labels (``__name__`` ignored) and value."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True)
class QueryOk:
    samples: tuple[Sample, ...]


class QueryFailure(StrEnum):
    UNREACHABLE = "Unreachable"  # connection, timeout, 5xx, auth refused
    BAD_QUERY = "BadQuery"  # Prometheus rejected the expression (its own text in message)
    BAD_RESPONSE = "BadResponse"  # garbage, not a Prometheus API answer
    STALE = "Stale"  # samples older than the staleness limit: data cannot be trusted
    NOT_EVALUATED = "NotEvaluated"  # the executor did not run this rule's query


@dataclass(frozen=True)
class QueryFailed:
    failure: QueryFailure
    message: str


QueryOutcome = QueryOk | QueryFailed
