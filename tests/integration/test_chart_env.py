"""The chart's pod environment: no service links, Service names clear of the operator's
variables, and the values for a cluster without kube-proxy (hostNetwork, kubernetesApi, ports).

Render-only (the real `helm template`), no API server. The incident behind the first half: with
the release named caretaker, the Service caretaker-metrics made the kubelet set
CARETAKER_METRICS_PORT=tcp://10.96.0.93:9095 in the operator's pod, and the operator crashed.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from caretaker.cli.main import build_parser
from caretaker.settings.flags import ENV_VARIABLES, settings_from_args
from fixtures.chart import (
    CHART,
    HELM,
    MONITORING_API,
    Manifest,
    helm_fails,
    of_kind,
    one,
    render,
    run_tool,
    validate_current,
)

# Every optional part on: whatever Services the chart can render are in this rendering.
EVERYTHING: dict[str, Any] = {
    "watchNamespaces": ["storage-ops", "team-b"],
    "rook": {"namespace": "rook-ceph"},
    "peering": {"enabled": True},
    "prometheus": {"url": "http://prometheus.monitoring.svc:9090"},
    "metrics": {
        "service": {"enabled": True},
        "serviceMonitor": {"enabled": True},
        "prometheusRule": {"enabled": True},
        "dashboard": {"enabled": True},
    },
    "hostNetwork": True,
    "kubernetesApi": {"host": "127.0.0.1", "port": 6443},
}
RELEASES = ("caretaker", "ct", "caretaker-metrics", "storage")
# Stands for the chart's full name in Service names: a fullnameOverride may be anything.
FULLNAME = "fullname-stand-in"
ENV_NAME = "[A-Z0-9](?:[A-Z0-9_]*[A-Z0-9])?"  # what any full name becomes in a variable name
HOST_NETWORK = {
    "hostNetwork": True,
    "kubernetesApi": {"host": "127.0.0.1", "port": 6443},
    "liveness": {"port": 18080},
    "metrics": {"port": 19095, "service": {"port": 9100}},
    "extraEnv": [{"name": "TZ", "value": "UTC"}],
}


def env_name(name: str) -> str:
    """Kubernetes' makeEnvVariableName: upper case, '-' -> '_'."""
    return name.replace("-", "_").upper()


def service_link_variables(service: Manifest) -> set[str]:
    """The variables the kubelet sets for this Service in every pod of its namespace when
    service links are on (pkg/kubelet/envvars: FromServices, makeLinkVariables)."""
    prefix = env_name(service["metadata"]["name"])
    ports = service["spec"]["ports"]
    names = {f"{prefix}_SERVICE_HOST", f"{prefix}_SERVICE_PORT", f"{prefix}_PORT"}
    for port in ports:
        if port.get("name"):
            names.add(f"{prefix}_SERVICE_PORT_{env_name(port['name'])}")
        link = f"{prefix}_PORT_{port['port']}_{port.get('protocol', 'TCP').upper()}"
        names |= {link, f"{link}_PROTO", f"{link}_PORT", f"{link}_ADDR"}
    return names


def pod_spec(docs: list[Manifest]) -> dict[str, Any]:
    spec: dict[str, Any] = one(docs, "Deployment")["spec"]["template"]["spec"]
    return spec


def container(docs: list[Manifest]) -> dict[str, Any]:
    main: dict[str, Any] = pod_spec(docs)["containers"][0]
    return main


def plain_env(docs: list[Manifest]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(docs)["env"] if "value" in e}


# --- Service links ---


def test_the_rule_finds_the_incident() -> None:
    """The computation below reproduces what crashed the operator."""
    service = {
        "metadata": {"name": "caretaker-metrics"},
        "spec": {"ports": [{"name": "metrics", "port": 9095, "protocol": "TCP"}]},
    }
    found = service_link_variables(service)
    assert "CARETAKER_METRICS_PORT" in found & set(ENV_VARIABLES)
    assert {
        "CARETAKER_METRICS_SERVICE_PORT_METRICS",
        "CARETAKER_METRICS_PORT_9095_TCP_ADDR",
    } <= found


@pytest.mark.parametrize(
    "values", [{}, EVERYTHING, {"metrics": {"service": {"enabled": False}}}], ids=str
)
def test_the_pod_gets_no_service_links(values: dict[str, Any]) -> None:
    assert pod_spec(render(values, api_versions=[MONITORING_API]))["enableServiceLinks"] is False


@pytest.mark.parametrize("release", RELEASES)
def test_no_service_sets_a_variable_the_operator_reads(release: str) -> None:
    """Even with service links on (an older chart, a copied manifest, another Service in the
    namespace named like the chart's), no Service of the chart names a setting."""
    docs = render(EVERYTHING, api_versions=[MONITORING_API], release=release)
    services = of_kind(docs, "Service")
    assert services, "the rendering with every feature on has no Service"
    for service in services:
        clash = service_link_variables(service) & set(ENV_VARIABLES)
        assert not clash, f"Service {service['metadata']['name']} would set {sorted(clash)}"


def test_no_service_sets_a_variable_the_operator_reads_for_any_release_name() -> None:
    """The full name in a Service name may be anything (fullnameOverride, release name): no
    choice of it turns a Service's variables into a setting's name."""
    docs = render({**EVERYTHING, "fullnameOverride": FULLNAME}, api_versions=[MONITORING_API])
    services = of_kind(docs, "Service")
    assert services
    for service in services:
        for variable in service_link_variables(service):
            head, found, tail = variable.partition(env_name(FULLNAME))
            pattern = re.escape(head) + (ENV_NAME if found else "") + re.escape(tail)
            clash = [v for v in ENV_VARIABLES if re.fullmatch(pattern, v)]
            assert not clash, f"Service {service['metadata']['name']}: {variable} ~ {clash}"


def test_the_pods_environment_runs_even_with_service_links_on() -> None:
    """The pod's environment as the kubelet would build it with service links on (every Service
    of the chart, and the kubernetes Service) is a valid configuration for `caretaker run`,
    with the chart's flags and without them (then every setting comes from the environment)."""
    docs = render(EVERYTHING, api_versions=[MONITORING_API], release="caretaker")
    environ = {
        variable: "tcp://10.96.0.93:9095"
        for service in of_kind(docs, "Service")
        for variable in service_link_variables(service)
    }
    environ |= {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    environ |= plain_env(docs) | {"POD_NAME": "caretaker-0", "POD_NAMESPACE": "caretaker-system"}
    args = container(docs)["args"]
    with_flags = settings_from_args(build_parser().parse_args(args), environ)
    assert with_flags.namespaces == ("storage-ops", "team-b")
    bare = settings_from_args(build_parser().parse_args(["run", "-A"]), environ)
    assert bare.metrics_port == 9095
    assert bare.lease_namespace == "caretaker-system"


# --- A cluster without kube-proxy: hostNetwork, kubernetesApi, ports ---


def test_defaults_keep_the_pod_network_and_the_kubernetes_service() -> None:
    docs = render()
    pod = pod_spec(docs)
    assert "hostNetwork" not in pod
    assert "dnsPolicy" not in pod
    env = {e["name"] for e in container(docs)["env"]}
    assert not {"KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"} & env


def test_host_network_and_the_api_server_address() -> None:
    docs = render(HOST_NETWORK)
    pod = pod_spec(docs)
    assert pod["hostNetwork"] is True
    assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    env = [e["name"] for e in container(docs)["env"]]
    # the explicit values win over the kubelet's; extraEnv comes last
    assert env == [
        "POD_NAME",
        "POD_NAMESPACE",
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "TZ",
    ]
    assert plain_env(docs) == {
        "KUBERNETES_SERVICE_HOST": "127.0.0.1",
        "KUBERNETES_SERVICE_PORT": "6443",
        "TZ": "UTC",
    }


@pytest.mark.parametrize("port", [6443, "6443"])
def test_the_api_port_is_a_string_whatever_its_yaml_type(port: object) -> None:
    docs = render({"kubernetesApi": {"host": "10.0.0.5", "port": port}})
    assert plain_env(docs)["KUBERNETES_SERVICE_PORT"] == "6443"
    assert plain_env(docs)["KUBERNETES_SERVICE_HOST"] == "10.0.0.5"
    assert "hostNetwork" not in pod_spec(docs)  # independent of each other


@pytest.mark.parametrize(
    ("api", "message"),
    [
        ({"host": "127.0.0.1"}, "kubernetesApi.host needs kubernetesApi.port"),
        ({"port": 6443}, "kubernetesApi.port needs kubernetesApi.host"),
        ({"host": "127.0.0.1", "port": "https"}, "is not a port number"),
        ({"host": "127.0.0.1", "port": 70000}, "is not a port number"),
    ],
)
def test_half_an_api_address_is_refused(api: dict[str, Any], message: str) -> None:
    assert message in helm_fails({"kubernetesApi": api})


def test_ports_are_values_used_by_flags_probes_and_the_service() -> None:
    docs = render(HOST_NETWORK)
    main = container(docs)
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    assert ports == {"metrics": 19095, "healthz": 18080}
    assert "--liveness=http://0.0.0.0:18080/healthz" in main["args"]
    assert "--metrics-port=19095" in main["args"]
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert main[probe]["httpGet"]["port"] == "healthz"
    service = one(docs, "Service")
    assert service["spec"]["ports"] == [
        {"name": "metrics", "port": 9100, "targetPort": "metrics", "protocol": "TCP"}
    ]


def test_host_network_rendering_is_valid_and_lint_clean(tmp_path: Path) -> None:
    docs = render({**EVERYTHING, **HOST_NETWORK}, api_versions=[MONITORING_API])
    for doc in docs:
        if doc["kind"] in {"Deployment", "Service"}:
            validate_current(doc)
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(HOST_NETWORK))
    out = run_tool(HELM, "lint", "--strict", CHART, "--values", values)
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out, out
    assert "[ERROR]" not in out, out
