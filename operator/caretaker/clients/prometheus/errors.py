"""Typed failures of the Prometheus client.

Callers tell apart: Prometheus could not be asked (``PrometheusUnreachable``), the query itself is
wrong (``PrometheusBadQuery``, carrying Prometheus's own message verbatim so it can be shown to
users), credentials were refused (``PrometheusAuthRejected``) and an answer that is not a Prometheus
API answer (``PrometheusBadResponse``). "No data" is not an error: a query result with no series is
an ordinary, empty result. Messages never contain credentials.
"""

from __future__ import annotations


class PrometheusError(Exception):
    """Base class of every failure raised by the Prometheus client."""


class PrometheusUnreachable(PrometheusError):
    """Connection refused, timeout, TLS failure or 5xx/429 answers (after the retries ran out).

    ``retryable`` is False for failures that another attempt would not cure (TLS, bad URL).
    """

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class PrometheusBadQuery(PrometheusError):
    """Prometheus rejected the query (HTTP 400 ``bad_data`` or 422 ``execution``).

    ``server_message`` is Prometheus's ``error`` text, unchanged.
    """

    def __init__(self, query: str, error_type: str, server_message: str) -> None:
        super().__init__(server_message)
        self.query = query
        self.error_type = error_type
        self.server_message = server_message


class PrometheusAuthRejected(PrometheusError):
    """HTTP 401 or 403: the credentials (or tenant header) were not accepted. Not retried."""


class PrometheusBadResponse(PrometheusError):
    """The answer is not what the Prometheus HTTP API returns (garbage, wrong shape, odd status)."""
