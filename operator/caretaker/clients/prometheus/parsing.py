"""Turns Prometheus API answers into typed results and HTTP failures into typed errors.

``prometheus-api-client`` hands back ``data.result`` of a successful answer (without its
``resultType``: the shape tells vector, and scalar apart) and raises
``PrometheusApiClientException("HTTP Status Code N (b'...')")`` for any other status, with the body
as a bytes literal; ``http_failure_from`` recovers status and body from that message exactly.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from caretaker.clients.prometheus.errors import (
    PrometheusAuthRejected,
    PrometheusBadQuery,
    PrometheusBadResponse,
    PrometheusError,
    PrometheusUnreachable,
)
from caretaker.clients.prometheus.results import InstantResult, Sample

_STATUS_MESSAGE = re.compile(r"HTTP Status Code (\d{3}) \((b(['\"]).*\3)\)", re.DOTALL)
_SNIPPET_CHARS = 300
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
QUERY_ERROR_STATUSES = frozenset({400, 422})


def parse_instant_result(raw: object, query: str, evaluated_at: float) -> InstantResult:
    """Typed result of an instant query from the ``data.result`` JSON value."""
    if _is_scalar_pair(raw):
        assert isinstance(raw, list)
        value = _parse_scalar_value(raw[1], query)
        sample = Sample(labels={}, value=value, timestamp=float(raw[0]))
        return InstantResult(query, evaluated_at, (sample,), is_scalar=True)
    entries = _expect_list_of_objects(raw, "instant query result")
    if any("values" in entry for entry in entries):
        raise PrometheusBadQuery(
            query, "unsupported", "the query returns a range vector; use an instant vector"
        )
    samples = tuple(_parse_sample(entry) for entry in entries)
    return InstantResult(query, evaluated_at, samples)


def parse_value(raw: object) -> float:
    """A sample value: Prometheus sends floats as strings ("1", "NaN", "+Inf", "1e-3")."""
    if not isinstance(raw, str):
        raise PrometheusBadResponse(f"sample value is not a string: {_snippet(repr(raw))}")
    try:
        return float(raw)
    except ValueError:
        raise PrometheusBadResponse(f"sample value is not a number: {_snippet(raw)}") from None


def parse_labels(raw: object) -> Mapping[str, str]:
    """A series' label set; every name and value must be a string."""
    if not isinstance(raw, dict):
        raise PrometheusBadResponse(f"labels are not an object: {_snippet(repr(raw))}")
    for name, value in raw.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise PrometheusBadResponse(f"label is not a string pair: {_snippet(repr(raw))}")
    return dict(raw)


def _is_scalar_pair(raw: object) -> bool:
    return (
        isinstance(raw, list) and len(raw) == 2 and _is_number(raw[0]) and isinstance(raw[1], str)
    )


def _is_number(raw: object) -> bool:
    return isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw)


def _parse_scalar_value(raw: str, query: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise PrometheusBadQuery(
            query, "unsupported", "the query returns a string; use a numeric expression"
        ) from None


def _expect_list_of_objects(raw: object, what: str) -> list[dict[str, object]]:
    if not isinstance(raw, list) or not all(isinstance(entry, dict) for entry in raw):
        raise PrometheusBadResponse(f"unexpected {what}: {_snippet(repr(raw))}")
    return raw


def _parse_sample(entry: dict[str, object]) -> Sample:
    pair = entry.get("value")
    if not isinstance(pair, list) or len(pair) != 2 or not _is_number(pair[0]):
        raise PrometheusBadResponse(f"malformed [timestamp, value] pair: {_snippet(repr(pair))}")
    labels = parse_labels(entry.get("metric"))
    return Sample(labels=labels, value=parse_value(pair[1]), timestamp=float(pair[0]))


@dataclass(frozen=True)
class HttpFailure:
    """A non-200 answer: status, Prometheus's errorType / error (if the body was API JSON), body."""

    status: int
    error_type: str | None
    error: str | None
    body: bytes

    def redacted(self, redact: Callable[[str], str]) -> HttpFailure:
        """A copy with ``redact`` applied to the error text and the body."""
        error = redact(self.error) if self.error is not None else None
        body = redact(_decode(self.body)).encode()
        return HttpFailure(self.status, self.error_type, error, body)


def http_failure_from(message: str) -> HttpFailure | None:
    """Status and body recovered from a ``PrometheusApiClientException`` message, if it has them."""
    match = _STATUS_MESSAGE.search(message)
    if match is None:
        return None
    try:
        body = ast.literal_eval(match.group(2))
    except (ValueError, SyntaxError):
        return None
    if not isinstance(body, bytes):
        return None
    error_type, error = _api_error_fields(body)
    return HttpFailure(int(match.group(1)), error_type, error, body)


def _api_error_fields(body: bytes) -> tuple[str | None, str | None]:
    try:
        document = json.loads(body)
    except ValueError:
        return None, None
    if not isinstance(document, dict):
        return None, None
    error_type, error = document.get("errorType"), document.get("error")
    if not isinstance(error_type, str) or not isinstance(error, str):
        return None, None
    return error_type, error


def error_for_http_failure(failure: HttpFailure, query: str, url: str) -> PrometheusError:
    """The typed error for a non-200 answer to ``query`` from the Prometheus at ``url``."""
    status = failure.status
    if status in QUERY_ERROR_STATUSES and failure.error is not None:
        return PrometheusBadQuery(query, failure.error_type or "bad_data", failure.error)
    detail = failure.error if failure.error is not None else _snippet(_decode(failure.body))
    if status in TRANSIENT_STATUSES or status >= 500:
        return PrometheusUnreachable(f"Prometheus at {url} answered HTTP {status}: {detail}")
    if status in (401, 403):
        return PrometheusAuthRejected(
            f"Prometheus at {url} refused the request (HTTP {status}): {detail}"
        )
    hint = " (is the URL the Prometheus base URL, without /api/v1?)" if status == 404 else ""
    return PrometheusBadResponse(f"Prometheus at {url} answered HTTP {status}{hint}: {detail}")


def _decode(body: bytes) -> str:
    return body.decode("utf-8", errors="replace")


def _snippet(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _SNIPPET_CHARS else flat[:_SNIPPET_CHARS] + "..."
