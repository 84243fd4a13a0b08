"""`kubectl caretaker`: argument parsing, tables, the release patch, messages and exit codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from caretaker.cli.kubectl.actions import UsageError, plan_release, spec_patch
from caretaker.cli.kubectl.approve import plan_approve
from caretaker.cli.kubectl.command import main
from caretaker.cli.kubectl.config import context_namespace, context_user, describe_api_error
from caretaker.cli.kubectl.parser import build_parser
from caretaker.cli.kubectl.plan import as_manifest
from caretaker.cli.kubectl.table import age, render_list, render_one
from caretaker.clients.kube.api import KubeApiError

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def mnt(name: str = "fans", namespace: str = "ops", **status: Any) -> dict[str, Any]:
    created = (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "caretaker.dev/v1alpha1",
        "kind": "Maintenance",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "creationTimestamp": created,
            "resourceVersion": "42",
        },
        "spec": {"nodes": ["node-a", "node-b"]},
        "status": status,
    }


def test_kubectl_flags_are_parsed_after_the_command() -> None:
    args = build_parser().parse_args(["status", "-A", "-o", "wide", "--context", "prod"])
    assert (args.command, args.all_namespaces, args.output, args.context) == (
        "status",
        True,
        "wide",
        "prod",
    )
    args = build_parser().parse_args(["release", "fans", "node-a", "node-b", "-n", "ops"])
    assert (args.name, args.nodes, args.namespace, args.all) == (
        "fans",
        ["node-a", "node-b"],
        "ops",
        False,
    )
    args = build_parser().parse_args(["abort", "fans", "--yes", "--kubeconfig", "/k"])
    assert args.yes
    assert args.kubeconfig == Path("/k")


@pytest.mark.parametrize(
    "argv", [["bogus"], ["status", "-o", "toml"], ["release"], [], ["suspend"]]
)
def test_a_usage_error_exits_1_with_one_error_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") or "error:" in err
    assert "Traceback" not in err


def approvable(approval: dict[str, bool], annotation: str = "", **status: Any) -> dict[str, Any]:
    obj = mnt(**status)
    obj["spec"]["approval"] = approval
    if annotation:
        obj["metadata"]["annotations"] = {"caretaker.dev/approved": annotation}
    return obj


def test_approve_adds_to_the_annotation_guarded_by_the_resource_version() -> None:
    args = build_parser().parse_args(["approve", "fans", "--node", "node-a", "--by", "bob"])
    assert (args.name, args.node, args.by, args.namespace) == ("fans", "node-a", "bob", None)
    obj = approvable({"required": True, "perNode": True}, '[{"by":"alice","node":"*"}]')
    planned = plan_approve(obj, "node-a", "bob")
    assert planned.patch == {
        "metadata": {
            "resourceVersion": "42",
            "annotations": {
                "caretaker.dev/approved": '[{"by":"alice","node":"*"},{"by":"bob","node":"node-a"}]'
            },
        }
    }
    assert (planned.what, planned.notes) == ("node node-a", ())
    assert plan_approve(obj, None, "alice").patch is None  # the same approval twice: nothing
    first = plan_approve(approvable({"required": True}), None, "alice")
    assert first.patch is not None
    assert first.patch["metadata"]["annotations"] == {
        "caretaker.dev/approved": '[{"by":"alice","node":"*"}]'
    }


def test_approve_refuses_what_the_maintenance_does_not_ask_for() -> None:
    with pytest.raises(UsageError, match=r'"fans" does not require an approval \(spec.approval'):
        plan_approve(mnt(), None, "alice")
    with pytest.raises(UsageError, match="approve a node with --node NODE"):
        plan_approve(approvable({"perNode": True}), None, "alice")
    with pytest.raises(UsageError, match="does not require an approval of each node"):
        plan_approve(approvable({"required": True}), "node-a", "alice")
    with pytest.raises(UsageError, match='"fans" has no node node-z'):
        plan_approve(approvable({"perNode": True}), "node-z", "alice")
    with pytest.raises(UsageError, match=r"is not JSON.*kubectl annotate maintenance fans"):
        plan_approve(approvable({"required": True}, "alice"), None, "bob")
    with pytest.raises(UsageError, match="--by must name who approves"):
        plan_approve(approvable({"required": True}), None, " ")
    late = approvable({"perNode": True}, nodes=[{"name": "node-a", "phase": "Draining"}])
    assert plan_approve(late, "node-a", "bob").notes == (
        "node node-a is Draining, not waiting to start: the approval changes nothing now",
    )


def test_approve_is_by_the_contexts_user_else_user(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "oncall-alice", "user": {"token": "t"}}],
        "contexts": [{"name": "ops", "context": {"cluster": "c", "user": "oncall-alice"}}],
        "current-context": "ops",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    monkeypatch.setenv("USER", "shell-bob")
    assert context_user(path, None) == "oncall-alice"
    assert context_user(path, "other") == "shell-bob"
    assert context_user(tmp_path / "missing", None) == "shell-bob"


def test_approve_against_an_unreachable_server_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["approve", "fans", "--kubeconfig", "/nonexistent/kubeconfig"]) == 1
    assert capsys.readouterr().err == "error: kubeconfig /nonexistent/kubeconfig: no such file\n"


def test_a_missing_kubeconfig_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["status", "--kubeconfig", "/nonexistent/kubeconfig"]) == 1
    assert capsys.readouterr().err == "error: kubeconfig /nonexistent/kubeconfig: no such file\n"


def test_api_errors_in_kubectls_words_never_an_exception_name() -> None:
    missing = KubeApiError(404, "NotFound", 'maintenances.caretaker.dev "x" not found')
    assert describe_api_error(missing, "https://k") == (
        'Error from server (NotFound): maintenances.caretaker.dev "x" not found'
    )
    refused = KubeApiError(
        0,
        "MaxRetryError",
        "HTTPSConnectionPool(host='127.0.0.1', port=1): Max retries exceeded (Caused by "
        "NewConnectionError('<urllib3.connection.HTTPSConnection object>: Failed to establish "
        "a new connection: [Errno 111] Connection refused'))",
    )
    text = describe_api_error(refused, "https://127.0.0.1:1")
    assert text == "Unable to connect to the server https://127.0.0.1:1: Connection refused"


def test_the_namespace_comes_from_the_context(tmp_path: Path) -> None:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
        "contexts": [
            {"name": "ops", "context": {"cluster": "c", "user": "u", "namespace": "storage-ops"}},
            {"name": "bare", "context": {"cluster": "c", "user": "u"}},
        ],
        "current-context": "ops",
    }
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    assert context_namespace(path, None) == "storage-ops"
    assert context_namespace(path, "bare") == "default"
    assert context_namespace(tmp_path / "missing", None) == "default"


def test_ages_as_kubectl_prints_them() -> None:
    def ago(**delta: float) -> str:
        return age((NOW - timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ"), NOW)

    assert [ago(seconds=45), ago(seconds=150), ago(minutes=42), ago(hours=5), ago(days=3)] == [
        "45s",
        "2m30s",
        "42m",
        "5h",
        "3d",
    ]
    assert age(None, NOW) == "<unknown>"


def test_status_table_wide_and_all_namespaces() -> None:
    held = mnt(phase="InMaintenance", progress="0/2", currentNode="node-a", message="held")
    text = render_list([held], "wide", NOW, namespaced=True)
    header, line = text.splitlines()
    assert header.split() == [
        "NAMESPACE",
        "NAME",
        "PHASE",
        "PROGRESS",
        "CURRENT",
        "NEXT-WINDOW",
        "AGE",
        "MESSAGE",
    ]
    assert line.split() == ["ops", "fans", "InMaintenance", "0/2", "node-a", "5m", "held"]
    assert render_list([held], "name", NOW, namespaced=False) == "maintenance.caretaker.dev/fans\n"
    listed = yaml.safe_load(render_list([held], "json", NOW, namespaced=False))
    assert listed["kind"] == "List"
    assert listed["items"][0]["metadata"]["name"] == "fans"


def test_status_of_one_maintenance_shows_its_nodes() -> None:
    nodes = [{"name": "node-a", "phase": "InMaintenance", "osds": [0, 3], "podsEvicted": 2}]
    text = render_one(mnt(phase="InMaintenance", nodes=nodes), None, NOW)
    assert "NODE" in text
    assert "osd.0,osd.3" in text
    assert yaml.safe_load(render_one(mnt(), "yaml", NOW))["metadata"]["name"] == "fans"


def test_release_adds_to_the_annotation_guarded_by_the_resource_version() -> None:
    obj = mnt(nodes=[{"name": "node-a", "phase": "InMaintenance"}])
    obj["metadata"]["annotations"] = {"caretaker.dev/release": "node-b"}
    planned = plan_release(obj, ["node-a"], False)
    assert planned.patch == {
        "metadata": {
            "resourceVersion": "42",
            "annotations": {"caretaker.dev/release": "node-b,node-a"},
        }
    }
    assert planned.notes == ()
    assert plan_release(obj, ["node-b"], False).patch is None
    everything = plan_release(obj, [], True)
    assert everything.value == "node-b,*"


def test_release_refuses_unknown_nodes_and_notes_nodes_not_held() -> None:
    with pytest.raises(UsageError, match='"fans" has no node node-z'):
        plan_release(mnt(), ["node-z"], False)
    with pytest.raises(UsageError, match="or give --all"):
        plan_release(mnt(), ["node-a"], True)
    notes = plan_release(mnt(), ["node-b"], False).notes
    assert notes == (
        "node node-b is not started, not held: the release counts if it gets to InMaintenance",
    )


def test_spec_patches_and_the_manifest_of_a_live_object() -> None:
    assert spec_patch("suspend", True) == {"spec": {"suspend": True}}
    live = mnt(phase="Pending")
    live["metadata"]["finalizers"] = ["caretaker.dev/finalizer"]
    manifest = as_manifest(live)
    assert "status" not in manifest
    assert manifest["metadata"] == {"name": "fans", "namespace": "ops"}
