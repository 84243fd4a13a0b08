"""Values of Kubernetes Secrets, handed out as ``Secret`` (never shown in reprs, errors, logs).

Errors name the Secret and the key, never a value.
"""

from __future__ import annotations

import base64
import binascii

from kubernetes.client import ApiClient

from caretaker.clients.kube.api import JsonObject, KubeApiError, api_path, request_json
from caretaker.clients.notify.secret import Secret


class SecretUnavailable(Exception):
    """The Secret or its key is missing, unreadable, or not UTF-8 text."""


def read_secret_data(api: ApiClient, namespace: str, name: str) -> dict[str, Secret]:
    """Every key of a Secret, decoded."""
    path = api_path("/api/v1/namespaces/{}/secrets/{}", namespace, name)
    try:
        obj: JsonObject = request_json(api, "GET", path)
    except KubeApiError as error:
        if error.not_found:
            raise SecretUnavailable(f"Secret {namespace}/{name} not found") from None
        raise SecretUnavailable(
            f"Secret {namespace}/{name} cannot be read: HTTP {error.status} {error.reason}"
        ) from None
    data: dict[str, str] = obj.get("data") or {}
    return {key: _decode(namespace, name, key, value) for key, value in data.items()}


def read_secret_value(api: ApiClient, namespace: str, name: str, key: str) -> Secret:
    """One key of a Secret; ``SecretUnavailable`` when it is missing or empty."""
    value = read_secret_data(api, namespace, name).get(key)
    if value is None or not value.reveal().strip():
        raise SecretUnavailable(f"Secret {namespace}/{name} has no (non-empty) key {key!r}")
    return Secret(value.reveal().strip())


def _decode(namespace: str, name: str, key: str, value: str) -> Secret:
    try:
        return Secret(base64.b64decode(value, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError):
        raise SecretUnavailable(
            f"Secret {namespace}/{name}: key {key!r} is not base64 of UTF-8 text"
        ) from None
