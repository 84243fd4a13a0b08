"""Builds the Prometheus client from the operator's settings (flags / CARETAKER_* variables)."""

from __future__ import annotations

from caretaker.clients.prometheus.client import PrometheusClient
from caretaker.clients.prometheus.settings import PrometheusSettings
from caretaker.settings.flags import Settings


def prometheus_settings_from(settings: Settings) -> PrometheusSettings:
    """Connection settings for ``settings.prometheus_url`` (which must be set)."""
    if not settings.prometheus_url:
        raise ValueError("no Prometheus URL configured (--prometheus-url)")
    token_file = settings.prometheus_token_file
    ca_file = settings.prometheus_ca_file
    return PrometheusSettings(
        url=settings.prometheus_url,
        bearer_token_file=str(token_file) if token_file is not None else None,
        ca_bundle=str(ca_file) if ca_file is not None else None,
        headers=dict(settings.prometheus_headers),
    )


def prometheus_from_settings(settings: Settings) -> PrometheusClient:
    """A blocking client (async callers run it with ``asyncio.to_thread``)."""
    return PrometheusClient(prometheus_settings_from(settings))
