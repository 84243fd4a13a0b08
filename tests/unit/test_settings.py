"""`caretaker run` settings from flags and CARETAKER_* variables: a bad value is a usage error.

Kubernetes' service links put `<SERVICE>_PORT=tcp://10.96.0.93:9095` and the like into every pod
of a namespace; a Service named caretaker-metrics once set CARETAKER_METRICS_PORT that way and
the operator crashed at import with a ValueError. Whatever a variable holds, the outcome is a
valid setting or exit status 2 with a message that names the variable, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from caretaker.cli import main as cli
from caretaker.settings import parsing as setting_types
from caretaker.settings.flags import (
    ENV_SETTINGS,
    ENV_VARIABLES,
    Settings,
    add_run_arguments,
    settings_from_args,
)

SERVICE_LINK = "tcp://10.96.0.93:9095"  # what the kubelet sets <SERVICE>_PORT to
CARETAKER_VARIABLES = [v for v in ENV_VARIABLES if v.startswith("CARETAKER_")]
EXCEPTION_NAME = re.compile(r"\b\w*(Error|Exception)\b")
# os.environ holds no NUL and, from text(), no lone surrogates
ENV_TEXT = st.text(st.characters(exclude_characters="\0"), max_size=40)
# variables whose setting is a file path: the service-link string is a (relative) path
PATH_VARIABLES = {
    "CARETAKER_KUBECONFIG": "kubeconfig",
    "KUBECONFIG": "kubeconfig",
    "CARETAKER_PROMETHEUS_TOKEN_FILE": "prometheus_token_file",
    "CARETAKER_PROMETHEUS_CA_FILE": "prometheus_ca_file",
    "CARETAKER_CEPH_CONF": "ceph_conf",
    "CARETAKER_CEPH_KEYRING": "ceph_keyring",
}


LIST_VARIABLES = {"CARETAKER_NAMESPACES", "CARETAKER_PROMETHEUS_HEADERS"}  # comma lists
# valid on their own, but the three must fit together (leader_election_problem)
TIMING_VARIABLES = {
    "CARETAKER_LEADER_ELECTION_LEASE_DURATION",
    "CARETAKER_LEADER_ELECTION_RENEW_DEADLINE",
    "CARETAKER_LEADER_ELECTION_RETRY_PERIOD",
}


def argv_for(variable: str) -> tuple[str, ...]:
    """Flags that leave ``variable`` to the environment (and name the namespaces to watch)."""
    return ("--namespace", "ops") if variable == "CARETAKER_ALL_NAMESPACES" else ("-A",)


def settings_for(environ: Mapping[str, str], *argv: str) -> Settings:
    """What `caretaker run ARGV` would run with in exactly this environment."""
    return settings_from_args(cli.build_parser().parse_args(["run", *argv]), environ)


def usage_error(environ: Mapping[str, str], *argv: str) -> tuple[int | str | None, str]:
    """(exit status, stderr) of `caretaker run ARGV`, which must exit before running."""
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as exited:
        settings_for(environ, *argv)
    return exited.value.code, stderr.getvalue()


def assert_usage_error(variable: str, value: str) -> str:
    """`caretaker run` with ``variable=value`` exits 2 with a message naming both."""
    code, stderr = usage_error({variable: value}, *argv_for(variable))
    assert code == 2, stderr
    assert "usage: caretaker run" in stderr
    if variable in TIMING_VARIABLES and "must be less than" in stderr:
        assert f"(${variable})" in stderr, stderr
        return stderr
    assert f"caretaker run: error: {variable}: expected " in stderr
    if variable not in LIST_VARIABLES:  # for a list: the bad item
        assert f", got {value[:100]!r}" in stderr, stderr
    words = stderr.partition(", got ")[0]  # the value itself may say anything
    assert not EXCEPTION_NAME.search(words), stderr
    return stderr


def test_every_flag_has_an_environment_variable() -> None:
    run = argparse.ArgumentParser()
    add_run_arguments(run)
    flags = {a.dest for a in run._actions if a.option_strings and a.dest != "help"}
    by_flag = {s.dest for s in ENV_SETTINGS if s.variable.startswith("CARETAKER_")}
    assert flags == by_flag
    assert len(CARETAKER_VARIABLES) == len(set(CARETAKER_VARIABLES)) == len(flags)


def test_the_crash_from_the_field_is_a_usage_error() -> None:
    stderr = assert_usage_error("CARETAKER_METRICS_PORT", SERVICE_LINK)
    assert stderr.rstrip().endswith(
        "CARETAKER_METRICS_PORT: expected a port number (0-65535), got 'tcp://10.96.0.93:9095'"
    )


@pytest.mark.parametrize("variable", ENV_VARIABLES)
def test_a_service_link_value_is_a_valid_setting_or_a_usage_error(variable: str) -> None:
    if variable in PATH_VARIABLES:
        value = getattr(settings_for({variable: SERVICE_LINK}, "-A"), PATH_VARIABLES[variable])
        assert value == Path(SERVICE_LINK)
    else:
        assert_usage_error(variable, SERVICE_LINK)


@pytest.mark.parametrize("variable", ENV_VARIABLES)
def test_a_flag_wins_and_its_variable_is_not_even_read(variable: str) -> None:
    """The chart passes every setting as a flag: a bad variable next to it changes nothing."""
    flags = {
        "CARETAKER_NAMESPACES": ["--namespace", "ops"],
        "CARETAKER_ALL_NAMESPACES": ["--all-namespaces"],
        "CARETAKER_KUBECONFIG": ["-A", "--kubeconfig", "/k"],
        "KUBECONFIG": ["-A", "--kubeconfig", "/k"],
        "CARETAKER_LOG_FORMAT": ["-A", "--log-format", "plain"],
        "CARETAKER_VERBOSE": ["-A", "--verbose"],
        "CARETAKER_LIVENESS": ["-A", "--liveness", "off"],
        "CARETAKER_METRICS_PORT": ["-A", "--metrics-port", "9095"],
        "CARETAKER_PEERING": ["-A", "--peering", "caretaker"],
        "CARETAKER_PROMETHEUS_URL": ["-A", "--prometheus-url", "http://p:9090"],
        "CARETAKER_PROMETHEUS_TOKEN_FILE": ["-A", "--prometheus-token-file", "/t"],
        "CARETAKER_PROMETHEUS_CA_FILE": ["-A", "--prometheus-ca-file", "/c"],
        "CARETAKER_PROMETHEUS_HEADERS": ["-A", "--prometheus-header", "X-A=b"],
        "CARETAKER_CEPH_CONF": ["-A", "--ceph-conf", "/c"],
        "CARETAKER_CEPH_KEYRING": ["-A", "--ceph-keyring", "/k"],
        "CARETAKER_CEPH_USER": ["-A", "--ceph-user", "client.x"],
        "CARETAKER_ROOK_NAMESPACE": ["-A", "--rook-namespace", "rook-ceph"],
        "CARETAKER_LEASE_NAMESPACE": ["-A", "--lease-namespace", "leases"],
        "POD_NAMESPACE": ["-A", "--lease-namespace", "leases"],
        "CARETAKER_FAILURE_DOMAIN_TYPE": ["-A", "--failure-domain-type", "rack"],
        "CARETAKER_PAGERDUTY_EVENTS_URL": ["-A", "--pagerduty-events-url", "http://r/"],
        "CARETAKER_RECONCILE_INTERVAL": ["-A", "--reconcile-interval", "2.5"],
        "CARETAKER_LEADER_ELECT": ["-A", "--leader-elect"],
        "CARETAKER_LEADER_ELECTION_LEASE": ["-A", "--leader-election-lease", "l"],
        "CARETAKER_LEADER_ELECTION_LEASE_DURATION": [
            "-A",
            "--leader-election-lease-duration",
            "15",
        ],
        "CARETAKER_LEADER_ELECTION_RENEW_DEADLINE": ["-A", "--leader-election-renew-deadline", "9"],
        "CARETAKER_LEADER_ELECTION_RETRY_PERIOD": ["-A", "--leader-election-retry-period", "1"],
    }
    assert sorted(flags) == sorted(ENV_VARIABLES)
    bad = "not valid for anything: \u2603"
    assert settings_for({variable: bad}, *flags[variable]) == settings_for({}, *flags[variable])


@settings(max_examples=150, deadline=None, database=None)
@given(value=ENV_TEXT)
def test_any_metrics_port_is_a_port_or_a_usage_error(value: str) -> None:
    environ = {"CARETAKER_METRICS_PORT": value}
    if not value.strip():
        assert settings_for(environ, "-A").metrics_port == Settings.metrics_port  # empty: unset
        return
    try:
        port = settings_for(environ, "-A").metrics_port
    except SystemExit:
        assert_usage_error("CARETAKER_METRICS_PORT", value)
        return
    assert isinstance(port, int)
    assert 0 <= port <= 65535
    assert str(port) == value.strip().lstrip("0") or port == 0


@settings(max_examples=150, deadline=None, database=None)
@given(value=st.one_of(ENV_TEXT, st.floats().map(str), st.integers().map(str)))
def test_any_reconcile_interval_is_positive_seconds_or_a_usage_error(value: str) -> None:
    environ = {"CARETAKER_RECONCILE_INTERVAL": value}
    if not value.strip():
        assert settings_for(environ, "-A").reconcile_interval == Settings.reconcile_interval
        return
    try:
        seconds = settings_for(environ, "-A").reconcile_interval
    except SystemExit:
        assert_usage_error("CARETAKER_RECONCILE_INTERVAL", value)
        return
    assert isinstance(seconds, float)
    assert math.isfinite(seconds)
    assert 0 < seconds <= setting_types.MAX_INTERVAL_SECONDS


@settings(max_examples=300, deadline=None, database=None)
@given(variable=st.sampled_from(ENV_VARIABLES), value=ENV_TEXT)
def test_any_value_of_any_variable_is_a_setting_or_a_usage_error(variable: str, value: str) -> None:
    try:
        settings_for({variable: value}, *argv_for(variable))
    except SystemExit:
        assert_usage_error(variable, value)


@settings(max_examples=300, deadline=None, database=None)
@given(value=ENV_TEXT)
def test_the_type_functions_raise_nothing_but_argument_type_errors(value: str) -> None:
    for setting in ENV_SETTINGS:
        with contextlib.suppress(argparse.ArgumentTypeError):
            setting.parse(value)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["-A", "--metrics-port", "65536"], "argument --metrics-port: expected a port number"),
        (["-A", "--reconcile-interval", "0"], "argument --reconcile-interval: expected a number"),
        (["-A", "--liveness", "tcp://0.0.0.0:8080/"], "argument --liveness: expected 'off' or"),
        (["--namespace", "Team_A"], "argument --namespace/-n: expected a namespace name"),
        (["-A", "--prometheus-header", "X-A"], "argument --prometheus-header: expected a header"),
        (["-A", "--prometheus-url", "prometheus:9090"], "argument --prometheus-url: expected an"),
        (["-A", "--ceph-user", "admin"], "argument --ceph-user: expected a Ceph user"),
        (
            ["-A", "--leader-election-lease-duration", "1.5"],
            "argument --leader-election-lease-duration: expected a whole number of seconds",
        ),
        (
            ["-A", "--leader-election-lease-duration", "10"],
            "--leader-election-renew-deadline=10 ($CARETAKER_LEADER_ELECTION_RENEW_DEADLINE) "
            "must be less than --leader-election-lease-duration=10",
        ),
        (
            ["-A", "--leader-election-retry-period", "10"],
            "--leader-election-retry-period=10 ($CARETAKER_LEADER_ELECTION_RETRY_PERIOD) "
            "must be less than --leader-election-renew-deadline=10",
        ),
    ],
)
def test_bad_flags_are_usage_errors_with_the_same_words(argv: list[str], message: str) -> None:
    code, stderr = usage_error({}, *argv)
    assert code == 2
    assert message in stderr
    assert not EXCEPTION_NAME.search(stderr), stderr


def test_values_from_the_environment() -> None:
    environ = {
        "CARETAKER_NAMESPACES": "storage-ops, team-b,,",
        "CARETAKER_VERBOSE": "TRUE",
        "CARETAKER_LOG_FORMAT": "plain",
        "CARETAKER_LIVENESS": "off",
        "CARETAKER_METRICS_PORT": " 0 ",
        "CARETAKER_PEERING": "caretaker.example",
        "CARETAKER_PROMETHEUS_HEADERS": "X-Scope-OrgID = team-a,Authorization=Basic a=",
        "CARETAKER_CEPH_USER": "client.caretaker",
        "CARETAKER_FAILURE_DOMAIN_TYPE": "rack",
        "CARETAKER_RECONCILE_INTERVAL": "2.5",
        "CARETAKER_PROMETHEUS_URL": "http://[::1]:9090",
        "POD_NAMESPACE": "caretaker-system-2",
        "KUBECONFIG": "/home/kube/config",
        "CARETAKER_LEADER_ELECT": "on",
        "CARETAKER_LEADER_ELECTION_LEASE": "caretaker-team-b",
        "CARETAKER_LEADER_ELECTION_LEASE_DURATION": "60",
        "CARETAKER_LEADER_ELECTION_RENEW_DEADLINE": "40",
        "CARETAKER_LEADER_ELECTION_RETRY_PERIOD": "0.5",
    }
    assert settings_for(environ) == Settings(
        namespaces=("storage-ops", "team-b"),
        verbose=True,
        log_format="plain",
        liveness="off",
        metrics_port=0,
        peering="caretaker.example",
        prometheus_headers={"X-Scope-OrgID": "team-a", "Authorization": "Basic a="},
        ceph_user="client.caretaker",
        failure_domain_type="rack",
        reconcile_interval=2.5,
        prometheus_url="http://[::1]:9090",
        lease_namespace="caretaker-system-2",
        kubeconfig=Path("/home/kube/config"),
        leader_elect=True,
        leader_election_lease="caretaker-team-b",
        leader_election_lease_duration=60,
        leader_election_renew_deadline=40.0,
        leader_election_retry_period=0.5,
    )


def test_empty_variables_are_unset_and_caretaker_ones_come_first() -> None:
    empty = dict.fromkeys(ENV_VARIABLES, "") | {"CARETAKER_ALL_NAMESPACES": "yes"}
    assert settings_for(empty) == Settings(all_namespaces=True)
    first = {
        "CARETAKER_KUBECONFIG": "/a",
        "KUBECONFIG": "/b",
        "CARETAKER_LEASE_NAMESPACE": "leases",
        "POD_NAMESPACE": "pods",
    }
    chosen = settings_for(first, "-A")
    assert (chosen.kubeconfig, chosen.lease_namespace) == (Path("/a"), "leases")


def test_no_namespace_is_a_usage_error() -> None:
    code, stderr = usage_error({"CARETAKER_ALL_NAMESPACES": "false"}, "--verbose")
    assert code == 2
    assert "give --namespace NS (repeatable) or --all-namespaces" in stderr


def test_plan_reports_through_its_own_usage() -> None:
    args = cli.build_parser().parse_args(["plan", "-f", "m.yaml"])
    stderr = io.StringIO()
    with contextlib.redirect_stderr(stderr), pytest.raises(SystemExit) as exited:
        settings_from_args(args, {"CARETAKER_LEASE_NAMESPACE": SERVICE_LINK})
    assert exited.value.code == 2
    assert (
        "caretaker plan: error: CARETAKER_LEASE_NAMESPACE: expected a namespace"
        in stderr.getvalue()
    )


def test_caretaker_run_exits_2_before_starting(monkeypatch: pytest.MonkeyPatch) -> None:
    import caretaker.app.runtime  # noqa: PLC0415

    def must_not_run(settings: Settings) -> int:
        raise AssertionError(f"the operator started with {settings}")

    monkeypatch.setattr(caretaker.app.runtime, "run_operator", must_not_run)
    monkeypatch.setenv("CARETAKER_METRICS_PORT", SERVICE_LINK)
    with pytest.raises(SystemExit) as exited:
        cli.main(["run", "--all-namespaces"])
    assert exited.value.code == 2


def test_the_process_prints_no_traceback() -> None:
    """Nothing reads the environment at import: the real command, as the pod runs it."""
    env = {"CARETAKER_METRICS_PORT": SERVICE_LINK, "PATH": "/usr/bin:/bin"}
    code = "import sys; from caretaker.cli.main import main; sys.exit(main())"
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "--all-namespaces"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert not EXCEPTION_NAME.search(done.stderr), done.stderr
    assert "CARETAKER_METRICS_PORT: expected a port number (0-65535)" in done.stderr
