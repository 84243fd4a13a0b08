"""Where `kubectl caretaker` connects and which namespace it means, by kubectl's rules:
--kubeconfig, else $KUBECONFIG, else ~/.kube/config (else the pod's service account);
--context, else the kubeconfig's current context; -n, else the context's namespace, else
"default"."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kubernetes import config as kube_config
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError, load_api_client

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


class ConfigError(Exception):
    """The kubeconfig cannot be used (missing, no such context): a one-line message."""


@dataclass(frozen=True)
class Connection:
    api: ApiClient
    namespace: str  # -n, else the context's, else "default"
    server: str


def connect(kubeconfig: Path | None, context: str | None, namespace: str | None) -> Connection:
    if kubeconfig is not None and not kubeconfig.is_file():
        raise ConfigError(f"kubeconfig {kubeconfig}: no such file")
    try:
        api = load_api_client(kubeconfig, context)
    except Exception as error:  # noqa: BLE001 - the kubernetes package raises many kinds
        raise ConfigError(f"cannot load the kubeconfig: {_plain(error)}") from None
    host: Any = api.configuration.host
    return Connection(api, namespace or context_namespace(kubeconfig, context), str(host))


def context_namespace(kubeconfig: Path | None, context: str | None) -> str:
    """The namespace of the context in use, as kubectl reads it."""
    try:
        listing: Any = kube_config.list_kube_config_contexts
        contexts, current = listing(config_file=str(kubeconfig) if kubeconfig else None)
    except Exception:  # noqa: BLE001 - no kubeconfig: in a pod, or nothing configured
        if SERVICE_ACCOUNT_NAMESPACE.exists():
            return SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or "default"
        return "default"
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
    namespace = ((chosen or {}).get("context") or {}).get("namespace")
    return str(namespace) if namespace else "default"


def context_user(kubeconfig: Path | None, context: str | None) -> str:
    """The user name of the context in use (who ``approve`` records by default), else $USER;
    "" when neither is known."""
    try:
        listing: Any = kube_config.list_kube_config_contexts
        contexts, current = listing(config_file=str(kubeconfig) if kubeconfig else None)
    except Exception:  # noqa: BLE001 - no kubeconfig: in a pod, or nothing configured
        contexts, current = [], None
    chosen = next((c for c in contexts if c.get("name") == context), None) if context else current
    user = ((chosen or {}).get("context") or {}).get("user")
    return str(user) if user else os.environ.get("USER", "")


def _plain(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else "unreadable"


def describe_api_error(error: KubeApiError, server: str) -> str:
    """kubectl's words: ``Error from server (NotFound): maintenances.caretaker.dev "x" not
    found``; no answer at all: ``Unable to connect to the server: ...``. Never an exception
    name."""
    if error.status == 0:
        found = re.search(r"\[Errno -?\d+\] ([^'\")]+)", error.message)
        why = found.group(1).strip() if found else "no answer"
        return f"Unable to connect to the server {server}: {why}"
    return f"Error from server ({error.reason or error.status}): {error.message}"
