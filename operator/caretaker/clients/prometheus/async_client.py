"""``AsyncPrometheusClient``: the queries of ``PrometheusClient``, awaitable.

Each call runs in a worker thread (``asyncio.to_thread``), so the event loop keeps running while
Prometheus answers. Cancelling an awaiting task does not stop its thread: the per-attempt timeout
and the retry policy bound how long it lasts.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from caretaker.clients.prometheus.client import Instant, PrometheusClient
from caretaker.clients.prometheus.results import InstantResult, RangeResult
from caretaker.clients.prometheus.settings import PrometheusSettings


class AsyncPrometheusClient:
    """The same queries as ``PrometheusClient``, awaitable without blocking the event loop."""

    def __init__(self, client: PrometheusClient) -> None:
        self.sync = client

    @classmethod
    def from_settings(cls, settings: PrometheusSettings) -> AsyncPrometheusClient:
        """A client for the Prometheus described by ``settings``."""
        return cls(PrometheusClient(settings))

    def __repr__(self) -> str:
        return f"AsyncPrometheusClient(url={self.sync.settings.url!r})"

    async def query(
        self,
        promql: str,
        *,
        at: Instant | None = None,
        timeout: float | None = None,
        sample_times: bool = False,
    ) -> InstantResult:
        """``PrometheusClient.query`` in a worker thread."""
        return await asyncio.to_thread(
            self.sync.query, promql, at=at, timeout=timeout, sample_times=sample_times
        )

    async def query_range(
        self,
        promql: str,
        start: Instant,
        end: Instant,
        step: float | timedelta,
        *,
        timeout: float | None = None,
    ) -> RangeResult:
        """``PrometheusClient.query_range`` in a worker thread."""
        return await asyncio.to_thread(
            self.sync.query_range, promql, start, end, step, timeout=timeout
        )

    def close(self) -> None:
        """Releases pooled connections."""
        self.sync.close()
