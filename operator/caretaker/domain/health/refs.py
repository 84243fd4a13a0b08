"""References to Secrets in the HealthPolicy's namespace, and the Prometheus override."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from caretaker.domain.common.secret_refs import SECRET_NAME, SecretKeyRef, read_secret_key_ref
from caretaker.domain.common.validation import SpecReader

__all__ = ["PrometheusSpec", "SecretKeyRef", "SecretRef", "read_secret_key_ref"]

_URL = re.compile(r"^https?://[^\s/]+")


@dataclass(frozen=True)
class SecretRef:
    """A whole Secret (``kubernetes.io/basic-auth``: keys ``username`` and ``password``)."""

    name: str


@dataclass(frozen=True)
class PrometheusSpec:
    """``spec.prometheus``: overrides the operator's Prometheus for this policy."""

    url: str
    bearer_token: SecretKeyRef | None = None
    basic_auth: SecretRef | None = None
    ca: SecretKeyRef | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


def read_secret_ref(r: SpecReader, raw: Mapping[str, Any], path: str) -> SecretRef | None:
    r.unknown_keys(raw, {"name"}, path)
    name = r.string(raw, "name", path)
    if name is None:
        r.fail(f"{path}.name", "required: the name of a Secret in the policy's namespace")
        return None
    if not SECRET_NAME.match(name):
        r.fail(f"{path}.name", f"{name!r} is not a valid Secret name")
        return None
    return SecretRef(name)


def optional_key_ref(
    r: SpecReader, raw: Mapping[str, Any], key: str, path: str
) -> SecretKeyRef | None:
    if key not in raw:
        return None
    section = r.section(raw, key, path)
    if not section and not isinstance(raw[key], Mapping):
        return None  # the reader already said "must be an object"
    return read_secret_key_ref(r, section, f"{path}.{key}")


def read_url(r: SpecReader, raw: Mapping[str, Any], key: str, path: str) -> str | None:
    url = r.string(raw, key, path)
    problem = url_problem(url) if url is not None else None
    if problem:
        r.fail(f"{path}.{key}", problem)
        return None
    return url


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be called, or None: an http(s) URL with a host and a usable port."""
    if not _URL.match(url):
        return f"{url!r} is not an http:// or https:// URL"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url!r} is not a valid URL (check the [IPv6] host)"
    if not parts.hostname:
        return f"{url!r} has no host name"
    try:
        port = parts.port
    except ValueError:
        port = 0  # not a number, or out of range
    if port == 0:
        return f"{url!r} has no valid port: give a number from 1 to 65535 after the host"
    return None


def read_prometheus(r: SpecReader, raw: Mapping[str, Any]) -> PrometheusSpec | None:
    path = "spec.prometheus"
    if not raw:
        return None
    known = {"url", "bearerTokenSecretRef", "basicAuthSecretRef", "caSecretRef", "headers"}
    r.unknown_keys(raw, known, path)
    url = read_url(r, raw, "url", path)
    if "url" not in raw:
        r.fail(f"{path}.url", "required: the Prometheus base URL, e.g. http://prometheus:9090")
    token = optional_key_ref(r, raw, "bearerTokenSecretRef", path)
    basic = None
    if "basicAuthSecretRef" in raw:
        section = r.section(raw, "basicAuthSecretRef", path)
        if section or isinstance(raw["basicAuthSecretRef"], Mapping):
            basic = read_secret_ref(r, section, f"{path}.basicAuthSecretRef")
    if "bearerTokenSecretRef" in raw and "basicAuthSecretRef" in raw:
        r.fail(f"{path}.basicAuthSecretRef", "give bearerTokenSecretRef or basicAuthSecretRef")
    return PrometheusSpec(
        url=url or "",
        bearer_token=token,
        basic_auth=basic,
        ca=optional_key_ref(r, raw, "caSecretRef", path),
        headers=r.string_map(raw, "headers", path),
    )
