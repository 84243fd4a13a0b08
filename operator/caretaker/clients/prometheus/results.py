"""Typed query results: samples of an instant query and series of points of a range query.

Both results are sequences (of samples, of series): an empty result means "no series matched" and
is not an error, so ``if result:`` / ``len(result)`` / ``has_data`` tell "no data" apart from
data; failures are exceptions. A scalar result (``scalar(...)``, ``1 + 1``) is one ``Sample``
with no labels and ``is_scalar`` True.

Staleness: ``Sample.timestamp`` is what Prometheus reported. For an instant query that is the
evaluation time, unless the query ran with ``sample_times=True`` (see ``PrometheusClient.query``),
which replaces it with the time the sample was scraped. ``stale(max_age)`` / ``fresh(max_age)``
compare it with the evaluation time, so callers can treat old samples as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import overload

from caretaker.clients.prometheus.errors import PrometheusNoData


@dataclass(frozen=True)
class Sample:
    """One value of an instant query; ``timestamp`` in Unix seconds."""

    labels: Mapping[str, str]
    value: float
    timestamp: float

    def age(self, evaluated_at: float) -> float:
        """Seconds between the sample's timestamp and the evaluation time."""
        return evaluated_at - self.timestamp


@dataclass(frozen=True)
class InstantResult(Sequence[Sample]):
    """Answer of an instant query evaluated at ``evaluated_at`` (Unix seconds); its samples."""

    query: str
    evaluated_at: float
    samples: tuple[Sample, ...]
    is_scalar: bool = False

    @overload
    def __getitem__(self, index: int) -> Sample: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Sample, ...]: ...
    def __getitem__(self, index: int | slice) -> Sample | tuple[Sample, ...]:
        return self.samples[index]

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def has_data(self) -> bool:
        """False when no series matched the query ("no data")."""
        return bool(self.samples)

    def require_data(self) -> InstantResult:
        """This result, or ``PrometheusNoData`` when it holds no samples."""
        if not self.samples:
            raise PrometheusNoData(self.query)
        return self

    def values(self) -> tuple[float, ...]:
        """The sample values, in the order Prometheus returned them."""
        return tuple(sample.value for sample in self.samples)

    def stale(self, max_age: float) -> tuple[Sample, ...]:
        """Samples older than ``max_age`` seconds at evaluation time (to be treated as unknown)."""
        return tuple(s for s in self.samples if s.age(self.evaluated_at) > max_age)

    def fresh(self, max_age: float) -> tuple[Sample, ...]:
        """Samples at most ``max_age`` seconds old at evaluation time."""
        return tuple(s for s in self.samples if s.age(self.evaluated_at) <= max_age)

    def with_sample_times(self, times: Mapping[frozenset[tuple[str, str]], float]) -> InstantResult:
        """A copy whose samples carry the given scrape times (keyed by labels without __name__)."""
        samples = tuple(
            replace(s, timestamp=times.get(labels_key(s.labels), s.timestamp)) for s in self.samples
        )
        return replace(self, samples=samples)


@dataclass(frozen=True)
class Point:
    """One point of a range series; ``timestamp`` in Unix seconds."""

    timestamp: float
    value: float


@dataclass(frozen=True)
class RangeSeries:
    """One series of a range query."""

    labels: Mapping[str, str]
    points: tuple[Point, ...]

    def last(self) -> Point | None:
        """The newest point, or None for a series without points."""
        return self.points[-1] if self.points else None


@dataclass(frozen=True)
class RangeResult(Sequence[RangeSeries]):
    """Answer of a range query from ``start`` to ``end`` every ``step`` seconds; its series."""

    query: str
    start: float
    end: float
    step: float
    series: tuple[RangeSeries, ...]

    @overload
    def __getitem__(self, index: int) -> RangeSeries: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[RangeSeries, ...]: ...
    def __getitem__(self, index: int | slice) -> RangeSeries | tuple[RangeSeries, ...]:
        return self.series[index]

    def __len__(self) -> int:
        return len(self.series)

    @property
    def has_data(self) -> bool:
        """False when no series matched the query ("no data")."""
        return bool(self.series)


def labels_key(labels: Mapping[str, str]) -> frozenset[tuple[str, str]]:
    """Identity of a series for joining: its labels without the metric name."""
    return frozenset((k, v) for k, v in labels.items() if k != "__name__")
