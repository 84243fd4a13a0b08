"""A HealthPolicy's queries: one per rule plus the exporter's freshness, each failure typed.

The Prometheus is the policy's own (``spec.prometheus``, credentials read from Secrets in the
policy's namespace) or the operator's (``--prometheus-url``). Retries are short: an evaluation
must not hang on a Prometheus that is down (its rules then report PrometheusUnavailable).
When the freshness query cannot reach Prometheus, the rule queries are not tried at all.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

from kubernetes.client import ApiClient

from caretaker.clients.kube.secrets import SecretUnavailable, read_secret_data, read_secret_value
from caretaker.clients.prometheus import (
    BasicAuth,
    PrometheusClient,
    PrometheusSettings,
    RetryPolicy,
)
from caretaker.domain.health.evaluation import rule_queries
from caretaker.domain.health.refs import PrometheusSpec
from caretaker.domain.health.spec import HealthPolicySpec
from caretaker.domain.health.world import FRESHNESS_QUERY
from caretaker.domain.promql.outcome import QueryFailed, QueryFailure, QueryOk, QueryOutcome
from caretaker.handlers.promql.query import ask
from caretaker.handlers.services import Services

HEALTH_RETRY = RetryPolicy(max_attempts=2, max_total_seconds=2.0, max_backoff=1.0)
_CA_DIR = Path(tempfile.gettempdir()) / "caretaker-prometheus-ca"


@dataclass(frozen=True)
class QueryResults:
    outcomes: Mapping[str, QueryOutcome]  # rule name -> outcome
    exporter_age: timedelta | None


def run_queries(services: Services, namespace: str, spec: HealthPolicySpec) -> QueryResults:
    """The freshness query, then each rule's query (unless Prometheus cannot be asked)."""
    client_or_error = _client(services, namespace, spec.prometheus)
    if isinstance(client_or_error, QueryFailed):
        return _all_failed(spec, client_or_error)
    with client_or_error as client:
        freshness = ask(client, FRESHNESS_QUERY)
        if isinstance(freshness, QueryFailed):
            return _all_failed(spec, freshness)
        age = _age(freshness)
        outcomes = {query.rule: ask(client, query.expr) for query in rule_queries(spec)}
    return QueryResults(outcomes, age)


def _all_failed(spec: HealthPolicySpec, failure: QueryFailed) -> QueryResults:
    return QueryResults({rule.name: failure for rule in spec.rules}, None)


def _age(outcome: QueryOk) -> timedelta | None:
    values = [sample.value for sample in outcome.samples]
    if not values or values[0] != values[0]:  # no series, or NaN
        return None
    return timedelta(seconds=max(0.0, values[0]))


def _client(
    services: Services, namespace: str, override: PrometheusSpec | None
) -> PrometheusClient | QueryFailed:
    if override is not None:
        try:
            return PrometheusClient(_override_settings(services.kube, namespace, override))
        except (SecretUnavailable, ValueError) as error:
            return QueryFailed(QueryFailure.UNREACHABLE, f"spec.prometheus: {error}")
    operator_client = services.prometheus
    if not isinstance(operator_client, PrometheusClient):
        message = "no Prometheus: give spec.prometheus or run the operator with --prometheus-url"
        return QueryFailed(QueryFailure.UNREACHABLE, message)
    return PrometheusClient(replace(operator_client.settings, retry=HEALTH_RETRY))


def _override_settings(kube: ApiClient, namespace: str, spec: PrometheusSpec) -> PrometheusSettings:
    token = None
    if spec.bearer_token is not None:
        ref = spec.bearer_token
        token = read_secret_value(kube, namespace, ref.name, ref.key).reveal()
    basic = None
    if spec.basic_auth is not None:
        data = read_secret_data(kube, namespace, spec.basic_auth.name)
        user, password = data.get("username"), data.get("password")
        if user is None or password is None:
            name = f"{namespace}/{spec.basic_auth.name}"
            raise SecretUnavailable(f"Secret {name} needs the keys username and password")
        basic = BasicAuth(user.reveal(), password.reveal())
    ca = None
    if spec.ca is not None:
        pem = read_secret_value(kube, namespace, spec.ca.name, spec.ca.key).reveal()
        ca = str(_ca_file(pem))
    return PrometheusSettings(
        url=spec.url,
        bearer_token=token,
        basic_auth=basic,
        ca_bundle=ca,
        headers=dict(spec.headers),
        retry=HEALTH_RETRY,
    )


def _ca_file(pem: str) -> Path:
    """The CA bundle as a file (requests wants a path), named by its content."""
    _CA_DIR.mkdir(mode=0o700, exist_ok=True)
    path = _CA_DIR / f"{hashlib.sha256(pem.encode()).hexdigest()[:32]}.pem"
    if not path.exists():
        path.write_text(pem)
    return path
