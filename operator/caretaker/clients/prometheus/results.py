"""Typed query results: the samples of an instant query.

A result is a sequence of samples: an empty result means "no series matched" and is not an error,
so ``if result:`` / ``len(result)`` tell "no data" apart from data; failures are exceptions. A
scalar result (``scalar(...)``, ``1 + 1``) is one ``Sample`` with no labels and ``is_scalar`` True.
``Sample.timestamp`` is what Prometheus reported: the evaluation time for an instant query.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import overload


@dataclass(frozen=True)
class Sample:
    """One value of an instant query; ``timestamp`` in Unix seconds."""

    labels: Mapping[str, str]
    value: float
    timestamp: float


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
