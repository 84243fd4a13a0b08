"""Builds a Ceph connection from what Rook keeps in Kubernetes.

Rook stores the mon addresses in the ConfigMap ``rook-ceph-mon-endpoints`` (``data.data`` like
``a=10.0.0.1:6789,b=10.0.0.2:6789``) and the admin identity in the Secret ``rook-ceph-mon``
(``ceph-username``, ``ceph-secret``, ``fsid``). This writes a ceph.conf and a keyring (mode 0600)
into a private directory and returns the connection settings.
"""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from kubernetes.client import ApiClient, CoreV1Api
from kubernetes.client.exceptions import ApiException

from caretaker.clients.ceph.connection import DEFAULT_TIMEOUT_SECONDS, CephConnection
from caretaker.clients.ceph.errors import RookDiscoveryError

MON_ENDPOINTS_CONFIGMAP = "rook-ceph-mon-endpoints"
MON_SECRET = "rook-ceph-mon"


def parse_mon_endpoints(value: str) -> list[str]:
    """``a=10.0.0.1:6789,b=10.0.0.2:6789`` -> ["10.0.0.1:6789", "10.0.0.2:6789"]."""
    addresses = [entry.partition("=")[2].strip() for entry in value.split(",") if entry.strip()]
    if not addresses or not all(addresses):
        raise RookDiscoveryError(f"cannot read mon endpoints from {value!r}")
    return addresses


def render_ceph_conf(mon_addresses: list[str], keyring: Path, fsid: str = "") -> str:
    """A client ceph.conf. Addresses without v1:/v2: are v2 on port 3300, v1 on any other port."""
    lines = ["[global]", f"mon_host = {','.join(mon_addresses)}", f"keyring = {keyring}"]
    if fsid:
        lines.append(f"fsid = {fsid}")
    lines += ["", "[client]", "log_file = /dev/null", "admin_socket =", ""]
    return "\n".join(lines)


def render_keyring(user: str, key: str) -> str:
    return f"[{user}]\n\tkey = {key}\n"


def _secret_value(data: Mapping[str, str], name: str) -> str:
    encoded = data.get(name)
    return base64.b64decode(encoded).decode().strip() if encoded else ""


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)


def _read_rook_objects(api: ApiClient, namespace: str) -> tuple[str, Mapping[str, str]]:
    core = CoreV1Api(api)
    try:
        configmap = core.read_namespaced_config_map(MON_ENDPOINTS_CONFIGMAP, namespace)
        secret = core.read_namespaced_secret(MON_SECRET, namespace)
    except ApiException as error:
        raise RookDiscoveryError(
            f"cannot read Rook's {MON_ENDPOINTS_CONFIGMAP} / {MON_SECRET} in {namespace}: "
            f"{error.status} {error.reason}"
        ) from error
    endpoints = (configmap.data or {}).get("data", "")
    secret_data = {
        name: value.decode() if isinstance(value, bytes) else value
        for name, value in (secret.data or {}).items()
    }
    return str(endpoints), secret_data


def discover_rook_connection(
    api: ApiClient,
    namespace: str,
    *,
    directory: Path | None = None,
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
) -> CephConnection:
    """Reads Rook's objects in ``namespace`` and writes ceph.conf + keyring into ``directory``
    (default: a new private temporary directory)."""
    endpoints, secret = _read_rook_objects(api, namespace)
    mon_addresses = parse_mon_endpoints(endpoints)
    key = _secret_value(secret, "ceph-secret") or _secret_value(secret, "admin-secret")
    if not key:
        raise RookDiscoveryError(f"Secret {namespace}/{MON_SECRET} has no ceph-secret")
    user = _secret_value(secret, "ceph-username") or "client.admin"
    if "." not in user:
        user = f"client.{user}"
    target = directory or Path(tempfile.mkdtemp(prefix="caretaker-ceph-"))
    keyring = target / "keyring"
    conf = target / "ceph.conf"
    _write_private(keyring, render_keyring(user, key))
    _write_private(conf, render_ceph_conf(mon_addresses, keyring, _secret_value(secret, "fsid")))
    return CephConnection(
        conf_path=conf, keyring_path=keyring, user=user, timeout_seconds=timeout_seconds
    )
