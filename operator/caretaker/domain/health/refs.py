"""References to Secrets in the HealthPolicy's namespace, and the Prometheus override."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from caretaker.domain.common.receivers import optional_key_ref, read_url, url_problem
from caretaker.domain.common.secret_refs import SECRET_NAME, SecretKeyRef, read_secret_key_ref
from caretaker.domain.common.validation import SpecReader

__all__ = [
    "PrometheusSpec",
    "SecretKeyRef",
    "SecretRef",
    "optional_key_ref",
    "read_secret_key_ref",
    "read_url",
    "url_problem",
]


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
