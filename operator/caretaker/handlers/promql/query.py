"""Runs one PromQL query the way every feature runs it: an instant query with a short timeout,
every failure typed (``caretaker.domain.promql.outcome``), never an exception."""

from __future__ import annotations

from caretaker.clients.prometheus import (
    PrometheusAuthRejected,
    PrometheusBadQuery,
    PrometheusClient,
    PrometheusError,
    PrometheusUnreachable,
)
from caretaker.domain.promql.outcome import QueryFailed, QueryFailure, QueryOk, QueryOutcome, Sample

QUERY_TIMEOUT_SECONDS = 10.0


def ask(client: PrometheusClient, expr: str) -> QueryOutcome:
    try:
        result = client.query(expr, timeout=QUERY_TIMEOUT_SECONDS)
    except PrometheusBadQuery as error:
        return QueryFailed(QueryFailure.BAD_QUERY, error.server_message)
    except (PrometheusUnreachable, PrometheusAuthRejected) as error:
        return QueryFailed(QueryFailure.UNREACHABLE, str(error))
    except PrometheusError as error:
        return QueryFailed(QueryFailure.BAD_RESPONSE, str(error))
    return QueryOk(tuple(Sample(dict(s.labels), s.value) for s in result.samples))
