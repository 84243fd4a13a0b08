"""Instant PromQL queries over ``prometheus-api-client``, with retries and typed errors.

``PrometheusClient`` blocks: from asyncio code run it with ``asyncio.to_thread``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from typing import Self, TypeVar

import requests
from prometheus_api_client.exceptions import PrometheusApiClientException
from prometheus_api_client.prometheus_connect import PrometheusConnect
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)
from urllib3.util.retry import Retry

from caretaker.clients.prometheus.errors import (
    PrometheusBadResponse,
    PrometheusError,
    PrometheusUnreachable,
)
from caretaker.clients.prometheus.parsing import (
    error_for_http_failure,
    http_failure_from,
    parse_instant_result,
)
from caretaker.clients.prometheus.results import InstantResult
from caretaker.clients.prometheus.settings import PrometheusSettings
from caretaker.metrics import PROMETHEUS_QUERY_TIME

log = logging.getLogger(__name__)

T = TypeVar("T")
_MAX_CONNECT_TIMEOUT = 5.0
_MESSAGE_CHARS = 500
_ERRNO_REASON = re.compile(r"\[Errno -?\d+\] [^'\"()]+")


class PrometheusClient:
    """Blocking PromQL client; one instance per Prometheus, safe to share between threads."""

    def __init__(self, settings: PrometheusSettings) -> None:
        self.settings = settings
        self._connect = PrometheusConnect(
            url=settings.url,
            session=settings.new_session(),
            retry=Retry(0, read=False),  # retries happen here, with tenacity, not in urllib3
        )

    def __repr__(self) -> str:
        return f"PrometheusClient(url={self.settings.url!r})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Releases pooled connections."""
        self._connect.close()

    def query(self, promql: str, *, timeout: float | None = None) -> InstantResult:
        """Evaluates ``promql`` now. No matching series is an empty result."""
        evaluated_at = time.time()
        attempt_timeout = timeout or self.settings.timeout
        raw = self._with_retries(
            lambda: self._instant_attempt(promql, evaluated_at, attempt_timeout)
        )
        return parse_instant_result(raw, promql, evaluated_at)

    def _instant_attempt(self, promql: str, at: float, timeout: float) -> object:
        params = {"time": f"{at:.3f}", "timeout": _server_timeout(timeout)}
        return self._call(
            promql,
            lambda: self._connect.custom_query(
                promql,
                params=params,
                timeout=_request_timeout(timeout),  # type: ignore[arg-type]
            ),
        )

    def _call(self, promql: str, request: Callable[[], object]) -> object:
        """Runs one HTTP request; every failure leaves as a ``PrometheusError``.

        The library's exception is not chained: it holds the request, headers included.
        """
        started = time.perf_counter()
        try:
            answer = request()
        except Exception as err:  # noqa: BLE001 - classified below, nothing leaves untyped
            failure = self._classify(err, promql)
            PROMETHEUS_QUERY_TIME.labels(type(failure).__name__).observe(
                time.perf_counter() - started
            )
        else:
            PROMETHEUS_QUERY_TIME.labels("ok").observe(time.perf_counter() - started)
            return answer
        raise failure

    def _classify(self, err: Exception, promql: str) -> PrometheusError:
        """The typed error for a failed request; re-raises what is no request failure (a bug)."""
        url = self.settings.url
        if isinstance(err, PrometheusError):  # raised by our own auth hook
            return err
        if isinstance(err, PrometheusApiClientException):
            http = http_failure_from(str(err))
            if http is not None:
                return error_for_http_failure(http.redacted(self.settings.redact), promql, url)
            return PrometheusBadResponse(self._describe(err))
        # A 200 answer without the API's JSON (requests' JSONDecodeError is a ValueError too).
        if isinstance(err, ValueError | KeyError | TypeError):
            return PrometheusBadResponse(
                f"Prometheus at {url} sent no API JSON: {self._describe(err)}"
            )
        if isinstance(err, requests.exceptions.SSLError):
            return PrometheusUnreachable(
                f"TLS to {url} failed: {self._describe(err)}", retryable=False
            )
        if isinstance(err, requests.exceptions.Timeout | requests.exceptions.ConnectionError):
            reason = self.settings.redact(_connection_failure_reason(err))
            return PrometheusUnreachable(f"Prometheus at {url} unreachable: {reason}")
        if isinstance(err, requests.exceptions.RequestException):
            return PrometheusUnreachable(f"request to {url} failed: {self._describe(err)}")
        raise err

    def _describe(self, err: BaseException) -> str:
        text = self.settings.redact(f"{type(err).__name__}: {err}")
        return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + "..."

    def _with_retries(self, attempt: Callable[[], T]) -> T:
        """Runs ``attempt`` until it succeeds, fails for good, or the retry policy is spent."""
        policy = self.settings.retry
        retrying = Retrying(
            retry=retry_if_exception(_is_transient),
            stop=stop_after_attempt(policy.max_attempts)
            | stop_before_delay(policy.max_total_seconds),
            wait=wait_exponential_jitter(
                multiplier=policy.initial_backoff, max=policy.max_backoff, jitter=0.1
            ),
            before_sleep=_log_retry,
            reraise=True,
        )
        started = time.monotonic()
        try:
            return retrying(attempt)
        except PrometheusUnreachable as err:
            attempts = retrying.statistics.get("attempt_number", 1)
            if attempts <= 1:
                raise
            elapsed = time.monotonic() - started
            message = f"{err} (gave up after {attempts} attempts in {elapsed:.1f}s)"
        raise PrometheusUnreachable(message)


def _is_transient(err: BaseException) -> bool:
    return isinstance(err, PrometheusUnreachable) and err.retryable


def _log_retry(state: RetryCallState) -> None:
    outcome = state.outcome
    error = outcome.exception() if outcome is not None else None
    wait = state.next_action.sleep if state.next_action is not None else 0.0
    log.info(
        "Prometheus attempt %d failed, retrying in %.1fs: %s", state.attempt_number, wait, error
    )


def _connection_failure_reason(err: requests.exceptions.RequestException) -> str:
    """The OS-level reason ("[Errno 111] Connection refused") rather than urllib3's long story."""
    if isinstance(err, requests.exceptions.ConnectTimeout):
        return "connect timed out"
    if isinstance(err, requests.exceptions.ReadTimeout):
        return "no answer within the timeout"
    found = _ERRNO_REASON.search(str(err))
    return found.group(0).strip() if found else f"{type(err).__name__}: {err}"


def _server_timeout(timeout: float) -> str:
    return f"{max(1, round(timeout * 1000))}ms"


def _request_timeout(timeout: float) -> tuple[float, float]:
    """(connect, read) seconds for requests; the read part leaves Prometheus time to answer.

    requests takes this pair; prometheus-api-client's hint says int (hence the type ignores).
    """
    return min(timeout, _MAX_CONNECT_TIMEOUT), timeout + 1.0
