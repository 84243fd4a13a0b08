"""PromQL queries against Prometheus (or Thanos / Mimir / VictoriaMetrics query APIs).

Usage::

    settings = PrometheusSettings(url="http://prometheus:9090", bearer_token=token,
                                  headers={"X-Scope-OrgID": "tenant-a"})
    client = PrometheusClient(settings)        # blocks: from asyncio, use asyncio.to_thread
    result = client.query('ceph_osd_up{ceph_daemon="osd.1"} == 0')
    if not result: ...                         # "no data" is an empty result, not an error

Errors: ``PrometheusUnreachable`` (retried, then raised), ``PrometheusBadQuery`` (Prometheus's own
message in ``server_message``), ``PrometheusAuthRejected``, ``PrometheusBadResponse``; all derive
from ``PrometheusError``.
"""

from caretaker.clients.prometheus.client import PrometheusClient
from caretaker.clients.prometheus.errors import (
    PrometheusAuthRejected,
    PrometheusBadQuery,
    PrometheusBadResponse,
    PrometheusError,
    PrometheusUnreachable,
)
from caretaker.clients.prometheus.results import InstantResult, Sample
from caretaker.clients.prometheus.settings import (
    NO_RETRIES,
    BasicAuth,
    PrometheusSettings,
    RetryPolicy,
)

__all__ = [
    "NO_RETRIES",
    "BasicAuth",
    "InstantResult",
    "PrometheusAuthRejected",
    "PrometheusBadQuery",
    "PrometheusBadResponse",
    "PrometheusClient",
    "PrometheusError",
    "PrometheusSettings",
    "PrometheusUnreachable",
    "RetryPolicy",
    "Sample",
]
