"""The Helm chart (charts/caretaker): lint, render, schemas, the API server, and the operator
running a Maintenance as a user that has nothing but the chart's RBAC.

The chart's RBAC claims to be exactly what the code needs. The lifecycle tests hold it to that:
the operator runs with a kubeconfig whose user is bound only to the rendered (Cluster)Roles,
takes a node with real OSDs through a whole Maintenance, and any refused request (kopf logs
403s and "Not enough permissions", Caretaker logs failed actions) fails the test.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from kubernetes.client import ApiClient

from caretaker.clients.kube.api import KubeApiError, api_path, load_api_client, request_json
from caretaker.clients.kube.events import ObjectRef
from fixtures.ceph import CephTestbed
from fixtures.chart import (
    CHART,
    HELM,
    MONITORING_API,
    RBAC_KINDS,
    REPO,
    Manifest,
    OpenApiSchema,
    PrivateKube,
    applied,
    bound_to_user,
    create,
    create_rook_objects,
    ensure_namespace,
    helm_fails,
    is_hook,
    object_path,
    of_kind,
    one,
    operator_args,
    permission_problems,
    render,
    run_tool,
    unique_name,
    validate_current,
)
from fixtures.health import (
    create_policy,
    create_secret,
    delete_policy,
    get_policy,
    records,
    wait_evaluations,
)
from fixtures.kube import KubeTestbed, create_node, create_pod, delete_ignoring_missing
from fixtures.kube_reads import get_pod, list_events
from fixtures.maintenance import (
    CORDON_ANNOTATION,
    LEASE_NAMESPACE,
    create_maintenance,
    delete_maintenance,
    get_maintenance,
    is_cordoned,
    lease_holder,
    node_object,
    noout_osds,
    patch_maintenance,
    wait_phase,
)
from fixtures.operator import apply_crd, operator_process, wait_until
from fixtures.prom import PrometheusTestbed
from fixtures.receivers import MakeReceiver, Reply

CARETAKER_USER = "caretaker"  # the testbed's token user with no rights of its own
KOPF_KINDS = frozenset({"ClusterKopfPeering", "KopfPeering"})
MONITORING_KINDS = frozenset({"ServiceMonitor", "PrometheusRule"})


# --- Value sets: the defaults and each optional feature on ---


@dataclass(frozen=True)
class Spaces:
    """Namespaces a rendering refers to (unique per test when objects go to the server)."""

    release: str = "caretaker-system"
    watched: tuple[str, ...] = ("storage-ops", "team-b")
    rook: str = "rook-ceph"
    dashboards: str = "grafana"
    peering: str = "caretaker"  # the ClusterKopfPeering is cluster-scoped


VARIANTS = (
    "defaults",
    "namespaced-rook-peering",
    "ceph-secret-prometheus",
    "monitoring",
    "clusterwide-peering",
    "maintenance-only",
    "host-network",
)


def variant(name: str, spaces: Spaces) -> tuple[dict[str, Any], tuple[str, ...]]:
    """(values, --api-versions) of a named value set."""
    if name == "defaults":
        return {}, ()
    if name == "namespaced-rook-peering":
        values = {
            "watchNamespaces": list(spaces.watched),
            "rook": {"namespace": spaces.rook},
            "peering": {"enabled": True, "name": spaces.peering},
        }
        return values, ()
    if name == "ceph-secret-prometheus":
        values = {
            "ceph": {"existingSecret": "ceph-client", "user": "client.caretaker"},
            "prometheus": {
                "url": "https://prometheus.monitoring.svc:9090",
                "bearerTokenSecret": {"name": "prometheus-token"},
                "caSecret": {"name": "prometheus-ca", "key": "ca.pem"},
                "headers": {"X-Scope-OrgID": "storage"},
            },
            "leaseNamespace": spaces.rook,
            "logFormat": "plain",
            "verbose": True,
            "image": {"digest": "sha256:" + "0" * 64},
            "extraEnv": [{"name": "TZ", "value": "UTC"}],
            "healthPolicies": {"secretNamespaces": list(spaces.watched)},
            "notifications": {"pagerdutyEventsUrl": "https://events.eu.pagerduty.com/v2/enqueue"},
        }
        return values, ()
    if name == "monitoring":
        values = {
            "metrics": {
                "serviceMonitor": {"enabled": True, "labels": {"release": "prom"}},
                "prometheusRule": {"enabled": True},
                "dashboard": {"enabled": True, "namespace": spaces.dashboards},
            }
        }
        return values, (MONITORING_API,)
    if name == "clusterwide-peering":
        return {"peering": {"enabled": True, "name": spaces.peering}}, ()
    if name == "maintenance-only":
        values = {
            "healthPolicies": {"enabled": False},
            "serviceAccount": {"create": False, "name": "caretaker-existing"},
            "metrics": {"service": {"enabled": False}},
        }
        return values, ()
    if name == "host-network":  # a cluster without kube-proxy (docs/install.md)
        values = {
            "hostNetwork": True,
            "kubernetesApi": {"host": "127.0.0.1", "port": 6443},
            "liveness": {"port": 18080},
            "metrics": {"port": 19095},
            "extraEnv": [{"name": "TZ", "value": "UTC"}],
        }
        return values, ()
    raise AssertionError(name)


def render_variant(name: str, spaces: Spaces = Spaces(), release: str = "ct") -> list[Manifest]:
    values, api_versions = variant(name, spaces)
    return render(values, api_versions=api_versions, namespace=spaces.release, release=release)


# --- CRDs: one source of truth ---


def test_chart_crds_are_the_repository_crds() -> None:
    """Helm installs charts/caretaker/crds/; they must be byte-for-byte the repo's crds/."""
    repo = {p.name: p.read_bytes() for p in (REPO / "crds").glob("*.yaml")}
    chart = {p.name: p.read_bytes() for p in (CHART / "crds").glob("*.yaml")}
    fix = "run: cp crds/*.yaml charts/caretaker/crds/"
    assert sorted(chart) == sorted(repo), f"chart CRD files differ from crds/; {fix}"
    stale = [name for name in repo if chart[name] != repo[name]]
    assert not stale, f"charts/caretaker/crds/ {stale} differ from crds/; {fix}"


# --- helm lint and rendering ---


@pytest.mark.parametrize("name", VARIANTS)
def test_helm_lint_is_clean(name: str, tmp_path: Path) -> None:
    values, _ = variant(name, Spaces())
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    out = run_tool(HELM, "lint", "--strict", CHART, "--values", values_file)
    assert "0 chart(s) failed" in out
    assert "[WARNING]" not in out, out
    assert "[ERROR]" not in out, out


def container(docs: list[Manifest]) -> dict[str, Any]:
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1
    result: dict[str, Any] = pod["containers"][0]
    return result


def test_defaults_two_replicas_with_leader_election_restricted_pod() -> None:
    docs = render()
    deployment = one(docs, "Deployment")
    spec = deployment["spec"]
    # a leader and a standby; a new pod starts (as a standby) before an old one stops
    assert spec["replicas"] == 2
    assert spec["strategy"] == {
        "type": "RollingUpdate",
        "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
    }
    spread = spec["template"]["spec"]["affinity"]["podAntiAffinity"]
    term = spread["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]
    assert term["topologyKey"] == "kubernetes.io/hostname"
    assert term["labelSelector"]["matchLabels"].items() <= pod_labels(deployment).items()
    pod = spec["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] != 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    main = container(docs)
    security = main["securityContext"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    tmp = next(m for m in main["volumeMounts"] if m["mountPath"] == "/tmp")
    volume = next(v for v in pod["volumes"] if v["name"] == tmp["name"])
    assert "emptyDir" in volume
    app_version = yaml.safe_load((CHART / "Chart.yaml").read_text())["appVersion"]
    assert main["image"] == f"caretaker:{app_version}"
    assert main["resources"]["requests"]
    assert main["resources"]["limits"]["memory"]
    # the operator as the image's CMD would run it, plus the chart's settings
    args = main["args"]
    assert args[0] == "run"
    assert "--all-namespaces" in args
    assert not [a for a in args if a.startswith(("--namespace", "--peering"))]
    # liveness: kopf's endpoint on the port the probes use
    ports = {p["name"]: p["containerPort"] for p in main["ports"]}
    assert f"--liveness=http://0.0.0.0:{ports['healthz']}/healthz" in args
    assert f"--metrics-port={ports['metrics']}" in args
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        assert main[probe]["httpGet"] == {"path": "/healthz", "port": "healthz"}
    env = {e["name"] for e in main["env"]}
    assert {"POD_NAME", "POD_NAMESPACE"} <= env
    # lease namespace defaults to the release namespace; the leader Lease is there too, and
    # the Role there grants what kube_lease calls on it
    assert "--lease-namespace=caretaker-system" in args
    assert "--leader-elect" in args
    assert "--leader-election-lease=ct-caretaker-leader" in args
    leases = {
        ("coordination.k8s.io", "leases", v, ())
        for v in ("get", "list", "watch", "create", "patch")
    }
    assert rbac_by_namespace(docs)["caretaker-system"] == leases
    service = one(docs, "Service")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    assert service["spec"]["selector"].items() <= pod_labels(deployment).items()
    # optional parts are off
    kinds = {doc["kind"] for doc in docs}
    assert not kinds & (MONITORING_KINDS | KOPF_KINDS | {"CustomResourceDefinition", "ConfigMap"})


def test_without_leader_election_one_replica_and_recreate() -> None:
    docs = render({"replicaCount": 1, "leaderElection": {"enabled": False}})
    spec = one(docs, "Deployment")["spec"]
    assert (spec["replicas"], spec["strategy"]) == (1, {"type": "Recreate"})
    assert "affinity" not in spec["template"]["spec"]
    assert not [a for a in container(docs)["args"] if a.startswith("--leader-elect")]


def test_leader_election_timings_become_flags() -> None:
    timings = {"leaseDuration": 60, "renewDeadline": 40, "retryPeriod": 5}
    args = container(render({"leaderElection": timings, "fullnameOverride": "ops"}))["args"]
    assert [a for a in args if a.startswith("--leader-election")] == [
        "--leader-election-lease=ops-leader",
        "--leader-election-lease-duration=60",
        "--leader-election-renew-deadline=40",
        "--leader-election-retry-period=5",
    ]


def pod_labels(deployment: Manifest) -> dict[str, str]:
    labels: dict[str, str] = deployment["spec"]["template"]["metadata"]["labels"]
    return labels


def test_settings_become_operator_flags_and_mounted_secrets() -> None:
    docs = render_variant("ceph-secret-prometheus")
    main = container(docs)
    args = main["args"]
    for expected in (
        "--ceph-conf=/etc/caretaker/ceph/ceph.conf",
        "--ceph-keyring=/etc/caretaker/ceph/keyring",
        "--ceph-user=client.caretaker",
        "--prometheus-url=https://prometheus.monitoring.svc:9090",
        "--prometheus-token-file=/etc/caretaker/prometheus-token/token",
        "--prometheus-ca-file=/etc/caretaker/prometheus-ca/ca.crt",
        "--prometheus-header=X-Scope-OrgID=storage",
        "--pagerduty-events-url=https://events.eu.pagerduty.com/v2/enqueue",
        "--lease-namespace=rook-ceph",
        "--log-format=plain",
        "--verbose",
    ):
        assert expected in args
    assert not [a for a in args if a.startswith("--rook-namespace")]
    assert main["image"] == "caretaker@sha256:" + "0" * 64
    volumes = {v["name"]: v for v in one(docs, "Deployment")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["ceph"]["secret"]["secretName"] == "ceph-client"
    assert volumes["prometheus-ca"]["secret"]["items"] == [{"key": "ca.pem", "path": "ca.crt"}]
    mounts = {m["mountPath"]: m for m in main["volumeMounts"]}
    assert mounts["/etc/caretaker/ceph"]["readOnly"] is True
    # the settings exist in the CLI: every flag the chart passes is one `caretaker run` knows
    from caretaker.cli.main import build_parser  # noqa: PLC0415

    parsed = build_parser().parse_args(args)
    assert parsed.ceph_user == "client.caretaker"
    assert parsed.prometheus_header == ["X-Scope-OrgID=storage"]


@pytest.mark.parametrize("name", VARIANTS)
def test_every_rendered_argument_is_a_caretaker_flag(name: str) -> None:
    from caretaker.cli.main import build_parser  # noqa: PLC0415
    from caretaker.settings.flags import settings_from_args  # noqa: PLC0415

    settings = settings_from_args(
        build_parser().parse_args(container(render_variant(name))["args"])
    )
    assert settings.liveness.endswith("/healthz")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"rook": {"namespace": "rook-ceph"}, "ceph": {"existingSecret": "c"}}, "not both"),
        (
            {"leaderElection": {"enabled": False}},
            "replicaCount above 1 needs leaderElection.enabled",
        ),
        ({"replicaCount": 0}, "replicaCount: at least 1"),
        (
            {"leaderElection": {"renewDeadline": 15}},
            "retryPeriod < renewDeadline < leaseDuration",
        ),
        ({"watchNamespaces": ["team-*"]}, "not a namespace name"),
        ({"serviceAccount": {"create": False}}, "serviceAccount.name is required"),
    ],
)
def test_values_that_make_no_sense_are_refused(values: dict[str, Any], message: str) -> None:
    assert message in helm_fails(values)


# --- RBAC: least privilege, the same in both modes ---

Rule = tuple[str, str, str, tuple[str, ...]]  # api group, resource, verb, resourceNames


def rules_of(doc: Manifest) -> set[Rule]:
    found: set[Rule] = set()
    for rule in doc.get("rules") or []:
        names = tuple(rule.get("resourceNames") or ())
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                for verb in rule["verbs"]:
                    found.add((group, resource, verb, names))
    return found


def rbac_by_namespace(docs: list[Manifest]) -> dict[str | None, set[Rule]]:
    """Rules per namespace (None: the ClusterRole)."""
    result: dict[str | None, set[Rule]] = {}
    for doc in of_kind(docs, "ClusterRole") + of_kind(docs, "Role"):
        namespace = doc["metadata"].get("namespace")
        result.setdefault(namespace, set()).update(rules_of(doc))
    return result


def test_rbac_is_explicit_and_bound_to_the_service_account() -> None:
    for name in VARIANTS:
        docs = render_variant(name)
        for doc in of_kind(docs, "ClusterRole") + of_kind(docs, "Role"):
            for group, resource, verb, _ in rules_of(doc):
                assert "*" not in (group, resource, verb), (name, doc["metadata"]["name"])
        roles = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) for d in docs}
        account = "caretaker-existing" if name == "maintenance-only" else "ct-caretaker"
        for binding in of_kind(docs, "ClusterRoleBinding") + of_kind(docs, "RoleBinding"):
            ref = binding["roleRef"]
            namespace = binding["metadata"].get("namespace") if ref["kind"] == "Role" else None
            assert (ref["kind"], namespace, ref["name"]) in roles
            assert binding["subjects"] == [
                {"kind": "ServiceAccount", "name": account, "namespace": "caretaker-system"}
            ]


def test_clusterwide_and_namespaced_grant_the_same_rules() -> None:
    """Watching every namespace moves the per-namespace rules into the ClusterRole; nothing
    else changes, except kopf's namespace observer that only namespaced mode runs."""
    spaces = Spaces()
    namespaced = rbac_by_namespace(render_variant("namespaced-rook-peering", spaces))
    clusterwide = rbac_by_namespace(render_variant("clusterwide-peering", spaces))
    namespaces_rule = {("", "namespaces", "list", ()), ("", "namespaces", "watch", ())}
    assert namespaces_rule <= namespaced[None]
    assert not namespaces_rule & clusterwide[None]
    for watched in spaces.watched:
        own = {r for r in namespaced[watched] if r[1] != "secrets"}
        peering = {r for r in own if r[1] == "kopfpeerings"}
        cluster_peering = {("kopf.dev", "clusterkopfpeerings", *r[2:]) for r in peering}
        assert (own - peering) | cluster_peering == clusterwide[None] - (
            namespaced[None] - namespaces_rule
        )
        assert namespaced[watched] - own == {("", "secrets", "get", ())}
    rook = namespaced[spaces.rook]
    assert ("", "configmaps", "get", ("rook-ceph-mon-endpoints",)) in rook
    assert ("", "secrets", "get", ("rook-ceph-mon",)) in rook
    assert {r for r in rook if r[1] == "secrets"} == {("", "secrets", "get", ("rook-ceph-mon",))}
    # every Secret rule is get-only: no list, no watch of Secrets anywhere
    for rules in namespaced.values():
        assert {r[2] for r in rules if r[1] == "secrets"} <= {"get"}
    assert not any(r[1] == "secrets" for r in clusterwide[None])
    assert clusterwide["caretaker-system"] == {
        ("coordination.k8s.io", "leases", verb, ())
        for verb in ("get", "list", "watch", "create", "patch")
    }


def test_other_tools_holds_are_read_and_only_our_node_conditions_written() -> None:
    """Node lifecycle conditions (nodes/status patch), medik8s NodeMaintenances (list) and
    kured's lock on its one DaemonSet (get): nothing more of the other tools."""
    for name in VARIANTS:
        rules = rbac_by_namespace(render_variant(name))
        cluster = rules[None]
        assert {r for r in cluster if r[1] == "nodes/status"} == {("", "nodes/status", "patch", ())}
        assert {r for r in cluster if r[1] == "nodemaintenances"} == {
            ("nodemaintenance.medik8s.io", "nodemaintenances", "list", ())
        }
        assert rules["kube-system"] == {("apps", "daemonsets", "get", ("kured",))}, name
        others = {r for space, found in rules.items() if space != "kube-system" for r in found}
        assert not any(r[1] == "daemonsets" for r in others)


def test_freezes_are_read_and_only_their_status_written() -> None:
    """MaintenanceFreezes: listed and watched (read cache), and the status subresource patched
    (active, until, next window); their spec is never written."""
    for name in VARIANTS:
        cluster = rbac_by_namespace(render_variant(name))[None]
        assert {r for r in cluster if r[1].startswith("maintenancefreezes")} == {
            ("caretaker.dev", "maintenancefreezes", "list", ()),
            ("caretaker.dev", "maintenancefreezes", "watch", ()),
            ("caretaker.dev", "maintenancefreezes/status", "patch", ()),
        }, name


def test_hook_jobs_are_created_and_listed_in_the_watched_namespaces_only() -> None:
    """spec.hooks[].job: Jobs in the Maintenance's namespace, create and list, nothing more."""
    spaces = Spaces()
    namespaced = rbac_by_namespace(render_variant("namespaced-rook-peering", spaces))
    clusterwide = rbac_by_namespace(render_variant("clusterwide-peering", spaces))
    jobs = {("batch", "jobs", "create", ()), ("batch", "jobs", "list", ())}
    for watched in spaces.watched:
        assert {r for r in namespaced[watched] if r[0] == "batch"} == jobs
    others = {
        r for space, rules in namespaced.items() if space not in spaces.watched for r in rules
    }
    assert not any(r[0] == "batch" for r in others)
    assert {r for r in clusterwide[None] if r[0] == "batch"} == jobs


def test_maintenance_only_grants_nothing_for_health_policies() -> None:
    docs = render(
        {"healthPolicies": {"enabled": False}, "rook": {"namespace": "rook-ceph"}},
    )
    resources = {r[1] for rules in rbac_by_namespace(docs).values() for r in rules}
    assert not resources & {"healthpolicies", "healthpolicies/status", "remediations"}
    rook = rbac_by_namespace(docs)["rook-ceph"]
    assert not any(r[1] == "pods" for r in rook)
    assert {r[1] for r in rook} == {"configmaps", "secrets"}


def test_peering_objects_and_crds_only_with_peering() -> None:
    assert not [d for d in render() if d["kind"] in KOPF_KINDS or "kopf" in json.dumps(d)]
    clusterwide = render_variant("clusterwide-peering")
    assert [d["metadata"]["name"] for d in of_kind(clusterwide, "ClusterKopfPeering")] == [
        "caretaker"
    ]
    assert all(is_hook(d) for d in clusterwide if d["kind"] in KOPF_KINDS)
    crds = of_kind(clusterwide, "CustomResourceDefinition")
    assert sorted(c["metadata"]["name"] for c in crds) == [
        "clusterkopfpeerings.kopf.dev",
        "kopfpeerings.kopf.dev",
    ]
    assert "--peering=caretaker" in container(clusterwide)["args"]
    namespaced = render_variant("namespaced-rook-peering")
    peerings = of_kind(namespaced, "KopfPeering")
    assert sorted(p["metadata"]["namespace"] for p in peerings) == sorted(Spaces().watched)
    assert not of_kind(namespaced, "ClusterKopfPeering")
    no_crds = render({"peering": {"enabled": True, "installCRDs": False}})
    assert not of_kind(no_crds, "CustomResourceDefinition")


# --- Schemas: a current Kubernetes and 1.20 ---


@pytest.mark.kube
@pytest.mark.parametrize("name", VARIANTS)
def test_manifests_match_the_schemas_of_kubernetes_1_20_and_current(
    name: str, openapi_1_20: OpenApiSchema
) -> None:
    values, api_versions = variant(name, Spaces())
    docs = render(values, api_versions=api_versions, include_crds=True)
    errors: list[str] = []
    not_known: dict[str, set[str]] = {"current": set(), "1.20": set()}
    for doc in docs:
        where = f"{doc['kind']} {doc['metadata']['name']}"
        try:
            validate_current(doc)
        except kubernetes_validate.SchemaNotFoundError:
            not_known["current"].add(doc["kind"])
        except kubernetes_validate.ValidationError as error:
            errors.append(f"{where} (Kubernetes {error.version}): {error.message}")
        if openapi_1_20.knows(doc):
            errors += [f"{where} (Kubernetes 1.20): {e}" for e in openapi_1_20.errors(doc)]
        else:
            not_known["1.20"].add(doc["kind"])
    assert not errors, "\n".join(errors)
    # only kinds of other projects' CRDs lack a built-in schema (validated separately below)
    for unknown in not_known.values():
        assert unknown <= MONITORING_KINDS | KOPF_KINDS, not_known


@pytest.fixture(scope="session")
def kopf_peering_crds(kube_api: ApiClient) -> None:
    """kopf's peering CRDs as the chart renders them (cluster-scoped; left installed)."""
    for crd in of_kind(render({"peering": {"enabled": True}}), "CustomResourceDefinition"):
        apply_crd(kube_api, crd)


@pytest.mark.kube
@pytest.mark.parametrize("name", VARIANTS)
def test_manifests_are_accepted_by_the_api_server(
    name: str, kube_api: ApiClient, caretaker_crds: None, kopf_peering_crds: None
) -> None:
    """RBAC objects are created for real (and removed); the rest is a server-side dry run.
    The chart's own CRDs are installed already (caretaker_crds, identical files)."""
    spaces = Spaces(
        release=unique_name("ct-rel"),
        watched=(unique_name("ct-w1"), unique_name("ct-w2")),
        rook=unique_name("ct-rook"),
        dashboards=unique_name("ct-graf"),
        peering=unique_name("ct-peering"),
    )
    for namespace in (spaces.release, *spaces.watched, spaces.rook, spaces.dashboards):
        ensure_namespace(kube_api, namespace)
    release = unique_name("ct")
    docs = render_variant(name, spaces, release=release)
    rbac = [d for d in docs if d["kind"] in RBAC_KINDS]
    others = [d for d in docs if d not in rbac and d["kind"] not in MONITORING_KINDS]
    with applied(kube_api, rbac) as created:
        for doc in created:
            stored = request_json(kube_api, "GET", object_path(doc))
            field = "roleRef" if doc["kind"].endswith("Binding") else "rules"
            assert stored.get(field) == doc.get(field)
        for doc in others:
            if doc["kind"] == "CustomResourceDefinition":
                continue  # kopf_peering_crds installed exactly these
            create(kube_api, doc, dry_run=True)


# --- prometheus-operator objects and the dashboard ---


def test_monitoring_objects_only_when_enabled_and_served() -> None:
    values, _ = variant("monitoring", Spaces())
    without_api = render(values)
    assert not [d for d in without_api if d["kind"] in MONITORING_KINDS]
    assert of_kind(without_api, "ConfigMap"), "the dashboard needs no prometheus-operator"
    with_api = render(values, api_versions=[MONITORING_API])
    monitor = one(with_api, "ServiceMonitor")
    service = one(with_api, "Service")
    selector = monitor["spec"]["selector"]["matchLabels"]
    assert selector.items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {p["name"] for p in service["spec"]["ports"]}
    assert monitor["spec"]["namespaceSelector"] == {"matchNames": ["caretaker-system"]}
    assert monitor["metadata"]["labels"]["release"] == "prom"
    one(with_api, "PrometheusRule")
    assert not [d for d in render(api_versions=[MONITORING_API]) if d["kind"] in MONITORING_KINDS]


def rule_groups() -> dict[str, Any]:
    values, api_versions = variant("monitoring", Spaces())
    rule = one(render(values, api_versions=api_versions), "PrometheusRule")
    groups: dict[str, Any] = rule["spec"]
    return groups


def expected_annotations(alert: str, labels: dict[str, str]) -> dict[str, str]:
    """The alert's annotations with {{ $labels.x }} filled in, as Prometheus renders them."""
    rule = next(r for g in rule_groups()["groups"] for r in g["rules"] if r.get("alert") == alert)
    return {
        key: re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels[m.group(1)], text)
        for key, text in rule["annotations"].items()
    }


def test_prometheus_rules_are_valid_and_fire(tmp_path: Path) -> None:
    """promtool checks the rules and runs them against synthetic series."""
    promtool = shutil.which("promtool")
    assert promtool, "promtool missing: run `make testbed-install` (Debian's prometheus)"
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(rule_groups()))
    run_tool(promtool, "check", "rules", rules)
    alerts = {r["alert"] for g in rule_groups()["groups"] for r in g["rules"]}
    assert {
        "CaretakerDown",
        "CaretakerMaintenanceFailed",
        "CaretakerMaintenanceStalled",
        "CaretakerRemediationsFailing",
        "CaretakerCircuitBreakerOpen",
    } <= alerts

    def alert(alertname: str, /, **labels: str) -> dict[str, Any]:
        severity = "critical" if alertname == "CaretakerDown" else "warning"
        return {
            "exp_labels": {"severity": severity, **labels},
            "exp_annotations": expected_annotations(alertname, labels),
        }

    failed = {"namespace": "ops", "name": "fans"}
    stuck = {"namespace": "ops", "name": "rack-7", "phase": "Draining"}
    remediation = {"namespace": "ops", "policy": "osds", "rule": "down", "action": "restartOsd"}
    circuit = {"namespace": "ops", "policy": "osds"}
    series = [
        (series_name("caretaker_maintenances", **failed, phase="Failed"), "1x120"),
        (series_name("caretaker_maintenances", **stuck), "1x120"),
        (
            series_name(
                "caretaker_maintenances", namespace="ops", name="ok", phase="InMaintenance"
            ),
            "1x120",
        ),
        (
            series_name("caretaker_remediations_total", **remediation, result="Failed"),
            "0 0 0 1 1 1",
        ),
        (
            series_name("caretaker_remediations_total", **remediation, result="Succeeded"),
            "0 1 2 3 4 5",
        ),
        (series_name("caretaker_circuit_breaker_open", **circuit), "1x120"),
    ]
    expectations = [
        ("1m", "CaretakerMaintenanceFailed", [alert("CaretakerMaintenanceFailed", **failed)]),
        ("30m", "CaretakerMaintenanceStalled", []),
        ("61m", "CaretakerMaintenanceStalled", [alert("CaretakerMaintenanceStalled", **stuck)]),
        ("2m", "CaretakerRemediationsFailing", []),
        (
            "5m",
            "CaretakerRemediationsFailing",
            [alert("CaretakerRemediationsFailing", **remediation)],
        ),
        ("3m", "CaretakerCircuitBreakerOpen", []),
        ("6m", "CaretakerCircuitBreakerOpen", [alert("CaretakerCircuitBreakerOpen", **circuit)]),
        # no `up` series of the operator's job at all: Caretaker is down
        ("6m", "CaretakerDown", [alert("CaretakerDown")]),
    ]
    up = series_name("up", job="ct-caretaker-monitoring", namespace="caretaker-system")
    tests = {
        "rule_files": [rules.name],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": [{"series": name, "values": v} for name, v in series],
                "alert_rule_test": [
                    {"eval_time": at, "alertname": name, "exp_alerts": exp}
                    for at, name, exp in expectations
                ],
            },
            {  # scraped: not down
                "interval": "1m",
                "input_series": [{"series": up, "values": "1x20"}],
                "alert_rule_test": [
                    {"eval_time": "10m", "alertname": "CaretakerDown", "exp_alerts": []}
                ],
            },
        ],
    }
    test_file = tmp_path / "rules_test.yaml"
    test_file.write_text(yaml.safe_dump(tests))
    run_tool(promtool, "test", "rules", test_file)


def series_name(metric: str, **labels: str) -> str:
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}"


GRAFANA_VARIABLES = {"$namespace": ".*", "$__rate_interval": "5m", "$__range": "1h"}


@pytest.mark.prometheus
def test_dashboard_queries_are_valid_promql(prometheus_testbed: PrometheusTestbed) -> None:
    values, _ = variant("monitoring", Spaces())
    configmap = one(render(values), "ConfigMap")
    assert configmap["metadata"]["namespace"] == Spaces().dashboards
    assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
    text = configmap["data"]["caretaker.json"]
    assert text.strip() == (CHART / "dashboards" / "caretaker.json").read_text().strip()
    dashboard = json.loads(text)
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Maintenance timeline", "Remediations by result", "Time to recover"} <= titles
    metrics_used = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, expr
            prometheus_testbed.instant(expr)  # raises on a query Prometheus rejects
            metrics_used |= set(re.findall(r"\b(caretaker_\w+|controller_runtime_\w+)", expr))
    for metric in (
        "caretaker_maintenances",
        "caretaker_remediations_total",
        "caretaker_time_to_recover_seconds_bucket",
    ):
        assert metric in metrics_used


def test_alerts_and_dashboard_use_metrics_the_operator_exports() -> None:
    from caretaker import metrics  # noqa: PLC0415

    exported = set()
    for value in vars(metrics).values():
        describe = getattr(value, "describe", None)
        if callable(describe) and getattr(value, "_name", None):
            for family in describe():
                exported.add(family.name)
    used = set(re.findall(r"\b(caretaker_\w+|controller_runtime_\w+)", json.dumps(rule_groups())))
    used |= set(
        re.findall(
            r"\b(caretaker_\w+|controller_runtime_\w+)",
            (CHART / "dashboards" / "caretaker.json").read_text(),
        )
    )
    base = {re.sub(r"_(bucket|sum|count)$", "", name) for name in used}
    normalized = {re.sub(r"_total$", "", name) for name in base}
    assert normalized <= {re.sub(r"_total$", "", name) for name in exported}, normalized - exported


# --- The operator with nothing but the chart's RBAC ---


def caretaker_api(kubeconfig: Path) -> ApiClient:
    return load_api_client(kubeconfig)


def wait_for_rbac(kubeconfig: Path) -> None:
    """RBAC changes reach the authorizer through an informer: wait until they have."""
    api = caretaker_api(kubeconfig)

    def allowed() -> bool:
        try:
            request_json(api, "GET", "/api/v1/nodes", query={"limit": "1"})
        except KubeApiError as error:
            if error.status == 403:
                return False
            raise
        return True

    wait_until(allowed, 30, "the chart's ClusterRole to take effect")


def run_lifecycle(
    api: ApiClient,
    ceph: CephTestbed,
    node: str,
    osds: list[int],
    namespace: str,
    env: dict[str, str],
    args: list[str],
    log: Path,
) -> None:
    """A Maintenance of ``node`` from creation to deletion, with the operator as the chart runs
    it: drain (an Eviction), noout on exactly the node's OSDs, cordon, Lease, Events, release,
    restore, Completed, and the finalizer removed on delete."""
    # Only this test's pod is drained: pods that other tests left on the shared testbed's nodes
    # (in namespaces that never finish terminating) are not this test's business.
    labels = {"app": "chart-test"}
    create_pod(api, namespace, "web-1", node=node, owner_kind="ReplicaSet", labels=labels)
    spec = {
        "nodes": [node],
        "drain": {"gracePeriodSeconds": 0, "force": True, "podSelector": labels},
        "hold": {"mode": "manual"},
        # a hook Job (create, then list while it runs: the chart's batch rule); no image on the
        # nodes, so Kubernetes' deadline fails it, which is reported and blocks nothing
        "hooks": {"postNode": [{"name": "smoke", "job": {"template": _NO_IMAGE, "timeout": "5s"}}]},
    }
    create_maintenance(api, namespace, "fans", spec)
    identity = f"{namespace}/fans"
    try:
        with operator_process(env, args, log):
            status = wait_phase(api, namespace, "fans", "InMaintenance")
            assert noout_osds(ceph) == set(osds)
            assert is_cordoned(api, node)
            assert node_object(api, node)["metadata"]["annotations"][CORDON_ANNOTATION] == identity
            assert get_pod(api, namespace, "web-1") is None, "the drain evicted the pod"
            assert lease_holder(api, node) == identity
            assert status["currentNode"] == node
            patch_maintenance(
                api,
                namespace,
                "fans",
                {"metadata": {"annotations": {"caretaker.dev/release": node}}},
            )
            status = wait_phase(api, namespace, "fans", "Completed", timeout=120)
            assert noout_osds(ceph) == set()
            assert not is_cordoned(api, node)
            assert lease_holder(api, node) != identity
            regarding = ObjectRef("caretaker.dev/v1alpha1", "Maintenance", "fans", namespace)
            reasons = {e.reason for e in list_events(api, regarding) if e.component == "caretaker"}
            assert {"NooutSet", "Cordoned", "Completed", "HookFailed"} <= reasons, reasons
            (hook,) = status["hooks"]
            assert (hook["stage"], hook["state"]) == ("postNode", "Failed"), hook
            assert "DeadlineExceeded" in hook["message"] or "did not complete" in hook["message"]
            delete_maintenance(api, namespace, "fans")
            wait_until(
                lambda: get_maintenance(api, namespace, "fans") is None,
                60,
                "the Maintenance to be gone (kopf removes its finalizer)",
            )
    finally:  # a test that failed half-way must not block the node for the Lease's 15 min
        if lease_holder(api, node) == identity:
            lease = f"caretaker-node-{node}"
            path = "/apis/coordination.k8s.io/v1/namespaces/{}/leases/{}"
            delete_ignoring_missing(api, api_path(path, LEASE_NAMESPACE, lease))
    assert status["progress"] == "1/1"
    problems = permission_problems(log.read_text(errors="replace"))
    assert not problems, "the operator was refused requests:\n" + "\n".join(problems[:20])


_NO_IMAGE = {
    "spec": {
        "containers": [
            {"name": "smoke", "image": "caretaker.invalid/none:0", "imagePullPolicy": "Never"}
        ]
    }
}


@pytest.fixture
def rook_namespace(kube_api: ApiClient, ceph_testbed: CephTestbed) -> str:
    """A namespace with Rook's mon ConfigMap and Secret for the testbed's cluster, and a Secret
    that the chart's Role must not let Caretaker read."""
    name = unique_name("ct-rook")
    ensure_namespace(kube_api, name)
    create_rook_objects(kube_api, name, ceph_testbed.mon_v1_address(), ceph_testbed.admin_key())
    other = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "rook-ceph-admin-keyring", "namespace": name},
        "stringData": {"keyring": "not for Caretaker"},
    }
    create(kube_api, other)
    return name


@pytest.mark.e2e
@pytest.mark.kube
@pytest.mark.ceph
def test_namespaced_install_runs_a_maintenance_with_only_the_charts_rbac(
    kube_api: ApiClient,
    kube_testbed: KubeTestbed,
    clean_nodes: dict[str, list[int]],
    ceph_cluster: CephTestbed,
    caretaker_crds: None,
    kopf_peering_crds: None,
    lease_namespace: str,
    namespace: str,
    rook_namespace: str,
    operator_log: Path,
) -> None:
    """Watched namespace, Rook discovery (Role limited to Rook's two objects), kopf peering."""
    values = {
        "watchNamespaces": [namespace],
        "rook": {"namespace": rook_namespace},
        "leaseNamespace": lease_namespace,
        "reconcileInterval": 1,
        "peering": {"enabled": True, "installCRDs": False},
    }
    docs = render(values, namespace=lease_namespace, release=unique_name("ct"))
    peering = of_kind(docs, "KopfPeering")
    assert [p["metadata"]["namespace"] for p in peering] == [namespace]
    node = sorted(clean_nodes)[0]
    kubeconfig = kube_testbed.caretaker_kubeconfig
    with applied(kube_api, [*bound_to_user(docs, CARETAKER_USER), *peering]):
        wait_for_rbac(kubeconfig)
        run_lifecycle(
            kube_api,
            ceph_cluster,
            node,
            clean_nodes[node],
            namespace,
            {"KUBECONFIG": str(kubeconfig)},
            operator_args(docs),
            operator_log,
        )
        keepalive = request_json(
            kube_api,
            "GET",
            api_path("/apis/kopf.dev/v1/namespaces/{}/kopfpeerings/caretaker", namespace),
        )
        assert "status" in keepalive, "kopf wrote its keep-alive into the KopfPeering"
        own = caretaker_api(kubeconfig)
        secrets_path = "/api/v1/namespaces/{}/secrets/{}"
        request_json(own, "GET", api_path(secrets_path, rook_namespace, "rook-ceph-mon"))
        with pytest.raises(KubeApiError) as refused:
            request_json(
                own, "GET", api_path(secrets_path, rook_namespace, "rook-ceph-admin-keyring")
            )
        assert refused.value.status == 403


@pytest.mark.e2e
@pytest.mark.kube
@pytest.mark.ceph
@pytest.mark.prometheus
def test_namespaced_install_runs_a_health_policy_with_only_the_charts_rbac(
    kube_api: ApiClient,
    kube_testbed: KubeTestbed,
    ceph_prometheus: PrometheusTestbed,
    caretaker_crds: None,
    lease_namespace: str,
    namespace: str,
    rook_namespace: str,
    make_receiver: MakeReceiver,
    operator_log: Path,
) -> None:
    """A HealthPolicy whose rule fires: the webhook URL read from a Secret, a Remediation
    record created and patched with its outcome, the policy's status and Events written, its
    finalizer removed on delete."""
    chat = make_receiver(Reply.text(200, "ok"), name="chat")
    create_secret(kube_api, namespace, "hooks", {"url": chat.url})
    values = {
        "watchNamespaces": [namespace],
        "rook": {"namespace": rook_namespace},
        "leaseNamespace": lease_namespace,
        "reconcileInterval": 1,
        "prometheus": {"url": ceph_prometheus.url},
    }
    docs = render(values, namespace=lease_namespace, release=unique_name("ct"))
    spec = {
        "interval": "10s",
        "notifications": {
            "receivers": [
                {"name": "chat", "webhook": {"urlSecretRef": {"name": "hooks", "key": "url"}}}
            ]
        },
        "rules": [
            {
                "name": "always",
                "expr": "max(ceph_health_status) >= 0",
                "severity": "routine",
                "target": {"kind": "cluster"},
                "actions": [{"after": "0s", "notify": {"receivers": ["chat"]}}],
            }
        ],
    }
    create_policy(kube_api, namespace, "care", spec)
    kubeconfig = kube_testbed.caretaker_kubeconfig
    with applied(kube_api, bound_to_user(docs, CARETAKER_USER)):
        wait_for_rbac(kubeconfig)
        with operator_process({"KUBECONFIG": str(kubeconfig)}, operator_args(docs), operator_log):
            chat.wait_for_requests(1, timeout=60)

            def recorded() -> list[dict[str, Any]]:
                done = [r for r in records(kube_api, namespace) if r["status"].get("finishedAt")]
                return done or []

            wait_until(recorded, 30, "a finished Remediation record")
            policy = wait_evaluations(kube_api, namespace, "care", 1)
            assert policy["status"]["rules"][0]["state"] == "Firing"
            delete_policy(kube_api, namespace, "care")
            wait_until(
                lambda: not policy_exists(kube_api, namespace, "care"),
                60,
                "the HealthPolicy to be gone (kopf removes its finalizer)",
            )
    problems = permission_problems(operator_log.read_text(errors="replace"))
    assert not problems, "the operator was refused requests:\n" + "\n".join(problems[:20])


def policy_exists(api: ApiClient, namespace: str, name: str) -> bool:
    try:
        get_policy(api, namespace, name)
    except KubeApiError as error:
        if error.not_found:
            return False
        raise
    return True


@pytest.mark.e2e
@pytest.mark.kube
@pytest.mark.ceph
def test_default_install_runs_a_maintenance_cluster_wide_with_only_the_charts_rbac(
    private_kube: PrivateKube,
    ceph_cluster: CephTestbed,
    operator_log: Path,
) -> None:
    """The chart's defaults (all namespaces: ClusterRole) plus the Rook namespace, on an API
    server of its own: a cluster-wide operator on the shared one would pick up the Maintenances
    other tests left behind."""
    api = private_kube.api
    for path in sorted((REPO / "crds").glob("*.yaml")):
        apply_crd(api, yaml.safe_load(path.read_text()))
    for namespace in (LEASE_NAMESPACE, "rook-ceph", "storage-ops"):
        ensure_namespace(api, namespace)
    create_rook_objects(api, "rook-ceph", ceph_cluster.mon_v1_address(), ceph_cluster.admin_key())
    nodes: dict[str, list[int]] = {}
    for osd, host in sorted(ceph_cluster.osd_hosts.items()):
        nodes.setdefault(host, []).append(osd)
    for host in nodes:
        create_node(api, host)
    values = {"rook": {"namespace": "rook-ceph"}, "reconcileInterval": 1}
    docs = render(values, namespace=LEASE_NAMESPACE)
    args = operator_args(docs)
    assert "--all-namespaces" in args
    kubeconfig = private_kube.testbed.caretaker_kubeconfig
    node = sorted(nodes)[-1]
    with applied(api, bound_to_user(docs, CARETAKER_USER)):
        wait_for_rbac(kubeconfig)
        run_lifecycle(
            api,
            ceph_cluster,
            node,
            nodes[node],
            "storage-ops",
            {"KUBECONFIG": str(kubeconfig)},
            args,
            operator_log,
        )


@pytest.mark.e2e
@pytest.mark.kube
def test_a_missing_permission_shows_in_the_operator_log(
    kube_api: ApiClient,
    kube_testbed: KubeTestbed,
    caretaker_crds: None,
    lease_namespace: str,
    namespace: str,
    operator_log: Path,
) -> None:
    """Control for the lifecycle tests: without the status patch the log reports the 403."""
    values = {"watchNamespaces": [namespace], "leaseNamespace": lease_namespace}
    docs = render(values, namespace=lease_namespace, release=unique_name("ct"))
    rbac = bound_to_user(docs, CARETAKER_USER)
    for doc in rbac:
        for rule in doc.get("rules") or []:
            rule["resources"] = [r for r in rule["resources"] if r != "maintenances/status"]
    rbac = [
        {**doc, "rules": [r for r in doc["rules"] if r["resources"]]} if "rules" in doc else doc
        for doc in rbac
    ]
    create_maintenance(kube_api, namespace, "fans", {"nodes": ["no-such-node"]})
    kubeconfig = kube_testbed.caretaker_kubeconfig
    with applied(kube_api, rbac):
        wait_for_rbac(kubeconfig)
        with operator_process({"KUBECONFIG": str(kubeconfig)}, operator_args(docs), operator_log):
            wait_until(
                lambda: permission_problems(operator_log.read_text(errors="replace")),
                60,
                "a refused status patch in the operator log",
            )
    assert "status" not in (get_maintenance(kube_api, namespace, "fans") or {})


@pytest.fixture(autouse=True)
def _no_stray_bindings(request: pytest.FixtureRequest) -> Iterator[None]:
    """Nothing here may leave rights to the shared "caretaker" user behind (other tests
    expect it to have none)."""
    yield
    if "kube_api" not in request.fixturenames:
        return
    api: ApiClient = request.getfixturevalue("kube_api")
    bindings = request_json(api, "GET", "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings")
    leftover = [
        b["metadata"]["name"]
        for b in bindings.get("items") or []
        if any(
            s.get("name") == CARETAKER_USER and s.get("kind") == "User"
            for s in b.get("subjects") or []
        )
    ]
    assert not leftover, f"ClusterRoleBindings of user {CARETAKER_USER} left behind: {leftover}"
