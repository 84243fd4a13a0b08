"""The clients and settings every handler works with, built once at start-up (kopf memo)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from kubernetes.client import ApiClient

from caretaker.clients.ceph.base import CephClient
from caretaker.clients.notify.pagerduty import DEFAULT_EVENTS_URL
from caretaker.settings import Settings


def _pagerduty_events_url() -> str:
    """PagerDuty's Events API v2 endpoint; CARETAKER_PAGERDUTY_EVENTS_URL points it at a proxy
    (or at a test receiver)."""
    return os.environ.get("CARETAKER_PAGERDUTY_EVENTS_URL") or DEFAULT_EVENTS_URL


@dataclass
class Services:
    settings: Settings
    kube: ApiClient
    ceph: CephClient | None  # None when no connection is configured or it failed
    prometheus: Any  # caretaker.clients.prometheus client, or None without a Prometheus URL
    ceph_error: str = ""
    pagerduty_events_url: str = field(default_factory=_pagerduty_events_url)
