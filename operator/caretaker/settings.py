"""Operator configuration: command-line flags, each with a CARETAKER_* environment default."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    namespaces: tuple[str, ...] = ()  # empty with all_namespaces: cluster-wide
    all_namespaces: bool = False
    kubeconfig: Path | None = None
    log_format: str = "json"
    verbose: bool = False
    liveness: str = "http://0.0.0.0:8080/healthz"
    metrics_port: int = 9095
    peering: str | None = None  # None: standalone (one replica)
    prometheus_url: str | None = None
    prometheus_token_file: Path | None = None
    prometheus_ca_file: Path | None = None
    prometheus_headers: dict[str, str] = field(default_factory=dict)
    ceph_conf: Path | None = None
    ceph_keyring: Path | None = None
    ceph_user: str = "client.admin"
    rook_namespace: str | None = None
    lease_namespace: str = "caretaker-system"
    lease_seconds: int = 900
    reconcile_interval: float = 10.0
    failure_domain_type: str = "host"  # CRUSH bucket type that is one failure domain
    pagerduty_events_url: str = "https://events.pagerduty.com/v2/enqueue"


def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"CARETAKER_{name}", default)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `caretaker run`; every flag defaults to its CARETAKER_* environment variable."""
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        default=None,
        help="watch this namespace (repeatable; env CARETAKER_NAMESPACES, comma list)",
    )
    scope.add_argument(
        "--all-namespaces",
        "-A",
        action="store_true",
        default=_env("ALL_NAMESPACES") == "true",
        help="watch every namespace",
    )
    parser.add_argument("--kubeconfig", default=_env("KUBECONFIG", os.environ.get("KUBECONFIG")))
    parser.add_argument(
        "--log-format", choices=["json", "plain"], default=_env("LOG_FORMAT", "json")
    )
    parser.add_argument("--verbose", action="store_true", default=_env("VERBOSE") == "true")
    parser.add_argument(
        "--liveness",
        default=_env("LIVENESS", Settings.liveness),
        help="liveness endpoint URL, or 'off'",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(_env("METRICS_PORT", str(Settings.metrics_port)) or 0),
        help="port of the /metrics endpoint (0: off)",
    )
    parser.add_argument(
        "--peering",
        default=_env("PEERING"),
        help="kopf peering name for several replicas (default: standalone)",
    )
    parser.add_argument("--prometheus-url", default=_env("PROMETHEUS_URL"))
    parser.add_argument("--prometheus-token-file", default=_env("PROMETHEUS_TOKEN_FILE"))
    parser.add_argument("--prometheus-ca-file", default=_env("PROMETHEUS_CA_FILE"))
    parser.add_argument(
        "--prometheus-header",
        action="append",
        default=None,
        help="extra header NAME=VALUE, e.g. X-Scope-OrgID=team-a (repeatable)",
    )
    parser.add_argument("--ceph-conf", default=_env("CEPH_CONF"))
    parser.add_argument("--ceph-keyring", default=_env("CEPH_KEYRING"))
    parser.add_argument("--ceph-user", default=_env("CEPH_USER", Settings.ceph_user))
    parser.add_argument(
        "--rook-namespace",
        default=_env("ROOK_NAMESPACE"),
        help="discover the Ceph connection from this Rook namespace",
    )
    parser.add_argument(
        "--lease-namespace",
        default=_env("LEASE_NAMESPACE", os.environ.get("POD_NAMESPACE", Settings.lease_namespace)),
    )
    parser.add_argument(
        "--failure-domain-type",
        default=_env("FAILURE_DOMAIN_TYPE", "host"),
        help="CRUSH bucket type of one failure domain (host, rack, ...)",
    )
    parser.add_argument(
        "--pagerduty-events-url",
        default=_env("PAGERDUTY_EVENTS_URL", Settings.pagerduty_events_url),
        help="PagerDuty Events API v2 endpoint (a proxy, or a test receiver)",
    )
    parser.add_argument(
        "--reconcile-interval", type=float, default=float(_env("RECONCILE_INTERVAL", "10") or 10)
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    namespaces = tuple(args.namespace or [n for n in (_env("NAMESPACES") or "").split(",") if n])
    headers: dict[str, str] = {}
    for item in args.prometheus_header or [
        h for h in (_env("PROMETHEUS_HEADERS") or "").split(",") if h
    ]:
        name, _, value = item.partition("=")
        if not name or not value:
            raise SystemExit(f"--prometheus-header {item!r}: use NAME=VALUE")
        headers[name.strip()] = value.strip()
    if not namespaces and not args.all_namespaces:
        raise SystemExit("give --namespace NS (repeatable) or --all-namespaces")
    return Settings(
        namespaces=namespaces,
        all_namespaces=bool(args.all_namespaces),
        kubeconfig=_path(args.kubeconfig),
        log_format=args.log_format,
        verbose=bool(args.verbose),
        liveness=args.liveness,
        metrics_port=args.metrics_port,
        peering=args.peering,
        prometheus_url=args.prometheus_url,
        prometheus_token_file=_path(args.prometheus_token_file),
        prometheus_ca_file=_path(args.prometheus_ca_file),
        prometheus_headers=headers,
        ceph_conf=_path(args.ceph_conf),
        ceph_keyring=_path(args.ceph_keyring),
        ceph_user=args.ceph_user,
        rook_namespace=args.rook_namespace,
        lease_namespace=args.lease_namespace,
        reconcile_interval=args.reconcile_interval,
        failure_domain_type=args.failure_domain_type,
        pagerduty_events_url=args.pagerduty_events_url,
    )
