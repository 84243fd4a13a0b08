"""core/v1 Events about any object, reported by component "caretaker" (no aggregation)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import JsonObject, api_path, request_json

REPORTING_COMPONENT = "caretaker"
CLUSTER_SCOPED_EVENT_NAMESPACE = "default"  # where events about cluster-scoped objects go
MAX_MESSAGE_LENGTH = 1024

EventType = Literal["Normal", "Warning"]


@dataclass(frozen=True)
class ObjectRef:
    """The object an event is about. ``namespace`` None: cluster-scoped (e.g. a Node)."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None
    uid: str | None = None


def post_event(
    api: ApiClient,
    regarding: ObjectRef,
    reason: str,
    message: str,
    event_type: EventType = "Normal",
) -> str:
    """Creates an Event about ``regarding``; returns the new Event's name."""
    namespace = regarding.namespace or CLUSTER_SCOPED_EVENT_NAMESPACE
    body = event_body(
        regarding, reason, message, event_type, now=datetime.now(UTC), instance=instance_name()
    )
    created = request_json(
        api, "POST", api_path("/api/v1/namespaces/{}/events", namespace), body=body
    )
    return str(created["metadata"]["name"])


def event_body(
    regarding: ObjectRef,
    reason: str,
    message: str,
    event_type: EventType,
    *,
    now: datetime,
    instance: str,
) -> JsonObject:
    timestamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    involved: JsonObject = {
        "apiVersion": regarding.api_version,
        "kind": regarding.kind,
        "name": regarding.name,
    }
    if regarding.namespace:
        involved["namespace"] = regarding.namespace
    if regarding.uid:
        involved["uid"] = regarding.uid
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "generateName": f"{regarding.name}.",
            "namespace": regarding.namespace or CLUSTER_SCOPED_EVENT_NAMESPACE,
        },
        "involvedObject": involved,
        "reason": reason,
        "message": message[:MAX_MESSAGE_LENGTH],
        "type": event_type,
        "source": {"component": REPORTING_COMPONENT, "host": instance},
        "reportingComponent": REPORTING_COMPONENT,
        "reportingInstance": instance,
        "firstTimestamp": timestamp,
        "lastTimestamp": timestamp,
        "count": 1,
    }


def instance_name() -> str:
    """This operator process's pod (or, outside Kubernetes, machine): Events' reporting
    instance, and the start of its leader election identity."""
    return os.environ.get("POD_NAME") or socket.gethostname()
