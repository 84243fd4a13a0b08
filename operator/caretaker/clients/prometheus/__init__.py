"""PromQL queries against Prometheus (or Thanos / Mimir / VictoriaMetrics query APIs).

Usage::

    settings = PrometheusSettings(url="http://prometheus:9090", bearer_token=token,
                                  headers={"X-Scope-OrgID": "tenant-a"})
    client = AsyncPrometheusClient.from_settings(settings)
    result = await client.query('ceph_osd_up{ceph_daemon="osd.1"} == 0')
    if not result.has_data: ...          # "no data" is an empty result, not an error

Errors: ``PrometheusUnreachable`` (retried, then raised), ``PrometheusBadQuery`` (Prometheus's own
message in ``server_message``), ``PrometheusAuthRejected``, ``PrometheusBadResponse``; all derive
from ``PrometheusError``. ``InstantResult.require_data()`` raises ``PrometheusNoData``.
"""

from caretaker.clients.prometheus.async_client import AsyncPrometheusClient
from caretaker.clients.prometheus.client import PrometheusClient
from caretaker.clients.prometheus.errors import (
    PrometheusAuthRejected,
    PrometheusBadQuery,
    PrometheusBadResponse,
    PrometheusError,
    PrometheusNoData,
    PrometheusUnreachable,
)
from caretaker.clients.prometheus.results import (
    InstantResult,
    Point,
    RangeResult,
    RangeSeries,
    Sample,
)
from caretaker.clients.prometheus.settings import (
    NO_RETRIES,
    BasicAuth,
    PrometheusSettings,
    RetryPolicy,
)

__all__ = [
    "NO_RETRIES",
    "AsyncPrometheusClient",
    "BasicAuth",
    "InstantResult",
    "Point",
    "PrometheusAuthRejected",
    "PrometheusBadQuery",
    "PrometheusBadResponse",
    "PrometheusClient",
    "PrometheusError",
    "PrometheusNoData",
    "PrometheusSettings",
    "PrometheusUnreachable",
    "RangeResult",
    "RangeSeries",
    "RetryPolicy",
    "Sample",
]
