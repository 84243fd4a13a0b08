"""Operator configuration: command-line flags, each with a CARETAKER_* environment default.

The environment is read when the parsed arguments become Settings (``settings_from_args``), not
when the parser is built, and each variable goes through the type function of its flag
(``caretaker.settings.parsing``). A bad value is a usage error, exit status 2, that names the
variable and the value; never a traceback. An empty variable counts as unset. No setting reads
the ``<SERVICE>_PORT``-style variables that Kubernetes' service links inject, and
``ENV_VARIABLES`` lists every variable read here so that the chart's tests can keep the chart's
Service names clear of them.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from caretaker.constants import LEADER_LEASE
from caretaker.settings import parsing as parse
from caretaker.settings.leader_flags import (
    LEADER_ENV_SETTINGS,
    add_leader_election_arguments,
    leader_election_problem,
)
from caretaker.settings.parsing import EnvSetting


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
    # Leader election (off: this process acts at once, as the only copy; the chart turns it on).
    leader_elect: bool = False
    leader_election_lease: str = LEADER_LEASE  # in lease_namespace
    leader_election_lease_duration: int = 15
    leader_election_renew_deadline: float = 10.0
    leader_election_retry_period: float = 2.0


LOG_FORMATS = ("json", "plain")


# In order: for one flag, the first variable that is set (and not empty) wins.
ENV_SETTINGS: tuple[EnvSetting, ...] = (
    EnvSetting("namespace", "CARETAKER_NAMESPACES", parse.namespace, many=True),
    EnvSetting("all_namespaces", "CARETAKER_ALL_NAMESPACES", parse.boolean),
    EnvSetting("kubeconfig", "CARETAKER_KUBECONFIG", parse.path),
    EnvSetting("kubeconfig", "KUBECONFIG", parse.path),
    EnvSetting("log_format", "CARETAKER_LOG_FORMAT", parse.choice(*LOG_FORMATS)),
    EnvSetting("verbose", "CARETAKER_VERBOSE", parse.boolean),
    EnvSetting("liveness", "CARETAKER_LIVENESS", parse.liveness),
    EnvSetting("metrics_port", "CARETAKER_METRICS_PORT", parse.port),
    EnvSetting("peering", "CARETAKER_PEERING", parse.object_name),
    EnvSetting("prometheus_url", "CARETAKER_PROMETHEUS_URL", parse.http_url),
    EnvSetting("prometheus_token_file", "CARETAKER_PROMETHEUS_TOKEN_FILE", parse.path),
    EnvSetting("prometheus_ca_file", "CARETAKER_PROMETHEUS_CA_FILE", parse.path),
    EnvSetting("prometheus_header", "CARETAKER_PROMETHEUS_HEADERS", parse.header, many=True),
    EnvSetting("ceph_conf", "CARETAKER_CEPH_CONF", parse.path),
    EnvSetting("ceph_keyring", "CARETAKER_CEPH_KEYRING", parse.path),
    EnvSetting("ceph_user", "CARETAKER_CEPH_USER", parse.ceph_entity),
    EnvSetting("rook_namespace", "CARETAKER_ROOK_NAMESPACE", parse.namespace),
    EnvSetting("lease_namespace", "CARETAKER_LEASE_NAMESPACE", parse.namespace),
    EnvSetting("lease_namespace", "POD_NAMESPACE", parse.namespace),
    EnvSetting("failure_domain_type", "CARETAKER_FAILURE_DOMAIN_TYPE", parse.bucket_type),
    EnvSetting("pagerduty_events_url", "CARETAKER_PAGERDUTY_EVENTS_URL", parse.http_url),
    EnvSetting("reconcile_interval", "CARETAKER_RECONCILE_INTERVAL", parse.interval_seconds),
    *LEADER_ENV_SETTINGS,
)
# Every environment variable the settings read.
ENV_VARIABLES: tuple[str, ...] = tuple(dict.fromkeys(s.variable for s in ENV_SETTINGS))

# The parser that reports a bad environment value (set by add_run_arguments, one per command).
_PARSER = "_settings_parser"


def _env_help(dest: str, text: str = "") -> str:
    names = " or ".join(f"${s.variable}" for s in ENV_SETTINGS if s.dest == dest)
    return f"{text} (env {names})" if text else f"env {names}"


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Flags of `caretaker run`; every flag defaults to its CARETAKER_* environment variable.

    The flags default to None here; ``settings_from_args`` fills in the environment, then the
    defaults of ``Settings``."""
    parser.set_defaults(**{_PARSER: parser})
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace",
        "-n",
        action="append",
        type=parse.namespace,
        help=_env_help("namespace", "watch this namespace (repeatable; env: comma list)"),
    )
    scope.add_argument(
        "--all-namespaces",
        "-A",
        action="store_true",
        default=None,
        help=_env_help("all_namespaces", "watch every namespace"),
    )
    parser.add_argument("--kubeconfig", type=parse.path, help=_env_help("kubeconfig"))
    parser.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        type=parse.choice(*LOG_FORMATS),
        help=_env_help("log_format", f"default {Settings.log_format}"),
    )
    parser.add_argument("--verbose", action="store_true", default=None, help=_env_help("verbose"))
    parser.add_argument(
        "--liveness",
        type=parse.liveness,
        help=_env_help(
            "liveness", f"liveness endpoint URL, or 'off' (default {Settings.liveness})"
        ),
    )
    parser.add_argument(
        "--metrics-port",
        type=parse.port,
        help=_env_help(
            "metrics_port",
            f"port of the /metrics endpoint, 0: off (default {Settings.metrics_port})",
        ),
    )
    parser.add_argument(
        "--peering",
        type=parse.object_name,
        help=_env_help("peering", "kopf peering name for several replicas (default: standalone)"),
    )
    parser.add_argument("--prometheus-url", type=parse.http_url, help=_env_help("prometheus_url"))
    parser.add_argument(
        "--prometheus-token-file", type=parse.path, help=_env_help("prometheus_token_file")
    )
    parser.add_argument(
        "--prometheus-ca-file", type=parse.path, help=_env_help("prometheus_ca_file")
    )
    parser.add_argument(
        "--prometheus-header",
        action="append",
        type=parse.header,
        help=_env_help(
            "prometheus_header",
            "extra header NAME=VALUE, e.g. X-Scope-OrgID=team-a (repeatable; env: comma list)",
        ),
    )
    parser.add_argument("--ceph-conf", type=parse.path, help=_env_help("ceph_conf"))
    parser.add_argument("--ceph-keyring", type=parse.path, help=_env_help("ceph_keyring"))
    parser.add_argument(
        "--ceph-user",
        type=parse.ceph_entity,
        help=_env_help("ceph_user", f"default {Settings.ceph_user}"),
    )
    parser.add_argument(
        "--rook-namespace",
        type=parse.namespace,
        help=_env_help("rook_namespace", "discover the Ceph connection from this Rook namespace"),
    )
    parser.add_argument(
        "--lease-namespace",
        type=parse.namespace,
        help=_env_help("lease_namespace", f"default {Settings.lease_namespace}"),
    )
    parser.add_argument(
        "--failure-domain-type",
        type=parse.bucket_type,
        help=_env_help(
            "failure_domain_type",
            f"CRUSH bucket type of one failure domain for OSDs that no pool's rule places PGs "
            f"on (the pools' rules decide for all others): host, rack, ... "
            f"(default {Settings.failure_domain_type})",
        ),
    )
    parser.add_argument(
        "--pagerduty-events-url",
        type=parse.http_url,
        help=_env_help(
            "pagerduty_events_url",
            "PagerDuty Events API v2 endpoint (a proxy, or a test receiver)",
        ),
    )
    parser.add_argument(
        "--reconcile-interval",
        type=parse.interval_seconds,
        help=_env_help("reconcile_interval", f"seconds (default {Settings.reconcile_interval:g})"),
    )
    add_leader_election_arguments(parser, Settings(), _env_help)


def usage_error(args: argparse.Namespace, message: str) -> NoReturn:
    """Exits with status 2 and the usage of the command that parsed ``args``."""
    parser = getattr(args, _PARSER, None)
    if not isinstance(parser, argparse.ArgumentParser):
        parser = argparse.ArgumentParser(prog="caretaker run")
    parser.error(message)


def _resolved(args: argparse.Namespace, environ: Mapping[str, str]) -> dict[str, Any]:
    """The flags' values, with the environment for the flags that were not given."""
    values: dict[str, Any] = {s.dest: getattr(args, s.dest, None) for s in ENV_SETTINGS}
    for setting in ENV_SETTINGS:
        raw = environ.get(setting.variable, "")
        if values[setting.dest] is not None or not raw.strip():
            continue
        try:
            values[setting.dest] = setting.read(raw)
        except argparse.ArgumentTypeError as error:
            usage_error(args, f"{setting.variable}: {error}")
    return values


def settings_from_args(
    args: argparse.Namespace, environ: Mapping[str, str] | None = None
) -> Settings:
    """Settings from the parsed flags, then the environment (``os.environ`` unless given), then
    the defaults. Exits with a usage error (status 2) for a bad or missing setting."""
    values = _resolved(args, os.environ if environ is None else environ)
    headers: dict[str, str] = {}
    for item in values["prometheus_header"] or ():
        name, _, value = str(item).partition("=")  # checked by parse.header
        headers[name] = value
    namespaces = tuple(values["namespace"] or ())
    all_namespaces = bool(values["all_namespaces"])
    if not namespaces and not all_namespaces:
        usage_error(args, "give --namespace NS (repeatable) or --all-namespaces")
    given: dict[str, Any] = {
        "namespaces": namespaces,
        "all_namespaces": all_namespaces,
        "verbose": bool(values["verbose"]),
        "leader_elect": bool(values["leader_elect"]),
        "prometheus_headers": headers,
    }
    fields = (
        "kubeconfig",
        "log_format",
        "liveness",
        "metrics_port",
        "peering",
        "prometheus_url",
        "prometheus_token_file",
        "prometheus_ca_file",
        "ceph_conf",
        "ceph_keyring",
        "ceph_user",
        "rook_namespace",
        "lease_namespace",
        "reconcile_interval",
        "failure_domain_type",
        "pagerduty_events_url",
        "leader_election_lease",
        "leader_election_lease_duration",
        "leader_election_renew_deadline",
        "leader_election_retry_period",
    )
    given.update({name: values[name] for name in fields if values[name] is not None})
    settings = Settings(**given)
    problem = leader_election_problem(settings, ENV_SETTINGS)
    if problem:
        usage_error(args, problem)
    return settings
