"""`caretaker validate`: the bad-manifest corpus (one mistake per file, each reported at its field
with a clear message), every example accepted, and the edges: stdin, several documents, unknown
kinds, YAML errors, PromQL without promtool, the schema adaptations of OpenAPI v3."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from caretaker.cli.main import main
from caretaker.cli.validate import crds
from caretaker.cli.validate import documents as validate
from caretaker.cli.validate.manifests import SUFFIXES, parse_documents
from caretaker.cli.validate.promql_check import NOT_FOUND, find_promtool
from caretaker.cli.validate.schema_check import schema_errors

REPO = Path(__file__).resolve().parents[2]
CORPUS = REPO / "tests" / "data" / "bad-manifests"
EXAMPLES = REPO / "examples"
# "# expect: STAGE PATH: MESSAGE" (PATH "-": the whole document); "# where: DOC#1.items[1]" when
# the mistake is not in the file's first document
EXPECT = re.compile(r"^# expect: (?P<stage>\w+) (?P<path>\S+): (?P<message>.+)$", re.MULTILINE)
WHERE = re.compile(r"^# where: (?P<where>\S+)$", re.MULTILINE)
MAINTENANCE = """\
apiVersion: caretaker.dev/v1alpha1
kind: Maintenance
metadata: {name: NAME, namespace: ops}
spec:
  nodes: [ct-node-a]
"""


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["validate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    code, out, _err = run(capsys, *args, "--output", "json")
    return code, json.loads(out)


def errors(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["severity"] == "error"]


def corpus() -> list[Path]:
    return sorted(CORPUS.glob("*.yaml"))


def test_the_corpus_covers_both_kinds_and_every_layer() -> None:
    cases = [(p.name.split("-")[0], EXPECT.search(p.read_text())) for p in corpus()]
    assert len(cases) >= 30
    assert all(match for _kind, match in cases), "every file states its expected finding"
    layers = {(kind, match["stage"]) for kind, match in cases if match}
    for kind in ("maintenance", "healthpolicy"):
        assert {(kind, "schema"), (kind, "spec"), (kind, "promql")} <= layers


@pytest.mark.parametrize("path", corpus(), ids=lambda p: p.stem)
def test_each_bad_manifest_is_rejected_at_its_field(
    capsys: pytest.CaptureFixture[str], path: Path
) -> None:
    expected = EXPECT.search(path.read_text())
    assert expected, f"{path.name}: no '# expect: STAGE PATH: MESSAGE' line"
    if expected["stage"] == "promql" and find_promtool() is None:
        pytest.fail("promtool not found: install Debian's prometheus (make testbed-install)")
    code, report = run_json(capsys, str(path))
    found = errors(report)
    assert code == 1
    assert len(found) == 1, f"one mistake, one error: {[f['text'] for f in found]}"
    (error,) = found
    field = "" if expected["path"] == "-" else expected["path"]
    assert (error["stage"], error["path"]) == (expected["stage"], field)
    assert expected["message"] in error["message"]
    given = WHERE.search(path.read_text())
    where = f"{path}:{given['where'] if given else 'DOC#1'}"
    invalid = [d for d in report["documents"] if d["result"] == "invalid"]
    if error["stage"] == "input":  # not read at all: no object, no kind
        assert (invalid, error["text"]) == ([], f"{where}: {error['message']}")
        return
    (document,) = invalid
    assert {d["result"] for d in report["documents"]} - {"invalid"} <= {"valid"}
    name = f"{document['kind']}/{document['name'] or '?'}"
    assert error["text"] == f"{where}: {name}: {error['path']}: {error['message']}"


@pytest.mark.parametrize(
    "path", sorted(p for p in EXAMPLES.rglob("*") if p.suffix in SUFFIXES), ids=lambda p: p.name
)
def test_every_example_is_valid(capsys: pytest.CaptureFixture[str], path: Path) -> None:
    strict = ["--strict"] if find_promtool() else []  # strict: no warning at all
    code, report = run_json(capsys, str(path), *strict)
    assert code == 0, [f["text"] for f in report["findings"]]
    assert report["documents"], "an example holds at least one Caretaker document"
    assert {d["result"] for d in report["documents"]} == {"valid"}


def test_the_examples_directory_at_once(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = run(capsys, str(EXAMPLES))
    assert code == 0
    assert err.startswith("OK: ")


def test_stdin_with_several_documents(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "\n---\n".join(
        [
            MAINTENANCE.replace("NAME", "good"),
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n",
            "",  # an empty document still counts
            MAINTENANCE.replace("NAME", "bad") + "  window: {schedule: '0 2 * * 6', "
            "duration: 2h, timeZone: Mars/Olympus}\n",
        ]
    )
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code, out, err = run(capsys, "-")
    assert code == 1
    assert out.splitlines() == [
        "<stdin>:DOC#2: Deployment/web: warning: apps/v1 Deployment is not a Caretaker kind; "
        "skipped",
        "<stdin>:DOC#4: Maintenance/bad: spec.window.timeZone: unknown time zone "
        "'Mars/Olympus'; use an IANA name such as Europe/Berlin",
    ]
    assert "2 Caretaker document(s) checked, 1 skipped; 1 error(s), 1 warning(s)" in err


def test_unknown_kinds_are_warnings_unless_strict(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "cm.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n[1, 2]\n")
    code, report = run_json(capsys, str(path))
    assert code == 0
    assert [(f["severity"], f["text"]) for f in report["findings"]] == [
        (
            "warning",
            f"{path}:DOC#1: ConfigMap/x: warning: v1 ConfigMap is not a Caretaker kind; skipped",
        ),
        ("warning", f"{path}:DOC#2[0]: warning: not a Kubernetes object (a YAML int); skipped"),
        ("warning", f"{path}:DOC#2[1]: warning: not a Kubernetes object (a YAML int); skipped"),
    ]
    assert run_json(capsys, str(path), "--strict")[0] == 1


def test_yaml_errors_missing_files_and_directories(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "nested" / ".git").mkdir(parents=True)
    (tmp_path / "nested" / ".git" / "ignored.yaml").write_text("{broken")
    (tmp_path / "nested" / "README.md").write_text("not a manifest")
    (tmp_path / "nested" / "a.yml").write_text(MAINTENANCE.replace("NAME", "a"))
    (tmp_path / "b.yaml").write_text(MAINTENANCE.replace("NAME", "b") + "---\nkey: [unclosed\n")
    code, out, _err = run(capsys, str(tmp_path), str(tmp_path / "missing.yaml"))
    assert code == 1
    assert out.splitlines() == [
        f"{tmp_path}/b.yaml:DOC#2: not valid YAML: expected ',' or ']', but got '<stream end>' "
        "(line 8, column 1)",
        f"{tmp_path}/missing.yaml: no such file or directory",
    ]


def test_unquoted_times_stay_strings_as_in_the_api_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "m.yaml"
    window = "  window: {start: 2099-12-05T22:00:00Z, duration: 4h}\n"
    path.write_text(MAINTENANCE.replace("NAME", "when") + window)
    assert run(capsys, str(path))[0] == 0


def test_duplicates_are_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "one.yaml").write_text(MAINTENANCE.replace("NAME", "same"))
    (tmp_path / "two.yaml").write_text(MAINTENANCE.replace("NAME", "same"))
    code, report = run_json(capsys, str(tmp_path))
    assert code == 0
    (finding,) = report["findings"]
    assert finding["stage"] == "duplicate"
    assert f"also at {tmp_path}/one.yaml:DOC#1" in finding["message"]


GATED = MAINTENANCE + "  gates:\n    promql: [{name: calm, expr: 'sum(ALERTS) == 0'}]\n"


def test_promql_without_promtool_is_said_never_passed_silently(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(GATED.replace("NAME", "gated"))
    code, out, err = run(capsys, str(path), "--promtool", str(tmp_path / "no-promtool"))
    assert code == 0
    where = f"{path}:DOC#1: Maintenance/gated: spec.gates.promql[0].expr"
    assert out == f"{where}: warning: {NOT_FOUND}\n"
    assert NOT_FOUND in err
    assert run(capsys, str(path), "--promtool", "/nonexistent", "--strict")[0] == 1


def test_a_failing_promtool_fails_the_check(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = tmp_path / "promtool"
    broken.write_text("#!/bin/sh\necho 'unexpected trouble' >&2\nexit 3\n")
    broken.chmod(0o755)
    path = tmp_path / "m.yaml"
    path.write_text(GATED.replace("NAME", "gated"))
    code, report = run_json(capsys, str(path), "--promtool", str(broken))
    assert code == 1
    (error,) = errors(report)
    assert "PromQL not checked: promtool check rules failed: unexpected trouble" in error["message"]


def test_the_packaged_crds_are_the_repository_crds() -> None:
    packaged = dict(crds.crd_texts())
    assert packaged == {p.name: p.read_text() for p in (REPO / "crds").glob("*.yaml")}
    assert {v.kind for v in crds.catalog()} >= {"Maintenance", "HealthPolicy", "Remediation"}


def test_an_installation_without_crds_says_so(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(crds, "crd_texts", lambda: iter(()))
    crds.catalog.cache_clear()
    try:
        code, out, err = run(capsys, str(EXAMPLES))
    finally:
        crds.catalog.cache_clear()
    assert (code, out) == (1, "")
    assert "Caretaker's CRDs are missing from this installation" in err


def test_a_remediation_record_with_a_null_finish_time() -> None:
    (version,) = crds.lookup("caretaker.dev", "Remediation")
    record = {
        "apiVersion": version.api_version,
        "kind": "Remediation",
        "metadata": {"name": "r-1"},
        "spec": {
            "policy": "p",
            "rule": "r",
            "target": "osd/osd.3",
            "action": "restartOsd",
            "idempotencyKey": "k",
        },
        "status": {"result": "Pending", "finishedAt": None},
    }
    assert schema_errors(record, version.schema) == []
    record["status"] = {"result": "Maybe", "finishedAt": "soon"}
    assert [(e.path, e.keyword) for e in schema_errors(record, version.schema)] == [
        ("status.finishedAt", "format"),
        ("status.result", "enum"),
    ]


def test_openapi_adaptations() -> None:
    openapi = {
        "type": "object",
        "properties": {
            "port": {"x-kubernetes-int-or-string": True},
            "note": {"type": "string", "nullable": True, "enum": ["a"]},
            "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
            "pod": {"type": "object", "x-kubernetes-embedded-resource": True},
        },
    }
    schema = crds.to_json_schema(openapi)
    good = {"port": "http", "note": None, "free": {"x": 1}, "pod": {"kind": "Pod"}}
    assert schema_errors(good, schema) == []
    bad = {"port": 1.5, "note": "b", "pod": {"kind": "Pod", "spek": {}}, "extra": 1}
    assert [(e.path, e.message) for e in schema_errors(bad, schema)] == [
        ("extra", "unknown field; known fields: port, note, free, pod"),
        ("note", "must be one of a, None; not 'b'"),
        ("pod.spek", "unknown field; known fields: apiVersion, kind, metadata"),
        ("port", "must be an integer or a string, not 1.5"),
    ]


def test_every_key_given_twice_is_reported_and_later_documents_are_still_read(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "twice.yaml"
    twice = MAINTENANCE.replace("NAME", "twice") + "  suspend: false\n  suspend: true\n"
    twice = twice.replace(
        "metadata: {name: twice, namespace: ops}", "metadata: {name: twice, name: x}"
    )
    bad_later = MAINTENANCE.replace("NAME", "later") + "  strategy: {maxUnavailable: 0}\n"
    path.write_text(twice + "---\n" + bad_later)
    code, out, err = run(capsys, str(path))
    assert code == 1
    assert out.splitlines() == [
        f"{path}:DOC#1: not valid YAML: key 'name' given twice (line 3, column 25; first on line"
        " 3): kubectl refuses this, other readers keep only one of the two",
        f"{path}:DOC#1: not valid YAML: key 'suspend' given twice (line 7, column 3; first on line"
        " 6): kubectl refuses this, other readers keep only one of the two",
        f"{path}:DOC#2: Maintenance/later: spec.strategy.maxUnavailable: must be at least 1, not 0",
    ]
    assert "1 Caretaker document(s) checked" in err


def test_keys_given_twice_in_json_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(
        '{"apiVersion": "caretaker.dev/v1alpha1", "kind": "Maintenance",'
        ' "metadata": {"name": "j"}, "spec": {"nodes": ["a"], "nodes": ["b"]}}'
    )
    code, out, _err = run(capsys, str(path))
    assert code == 1
    assert "not valid YAML: key 'nodes' given twice (line 1, column 117; first on line 1)" in out


def test_merge_keys_may_be_overridden(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "anchors.yaml"
    path.write_text(
        MAINTENANCE.replace("NAME", "anchored")
        + "  drain: &drain {timeout: 10m, force: false}\n"
        + "  ceph: {noout: osd}\n"
        + "---\n"
        + MAINTENANCE.replace("NAME", "merged").replace("nodes: [ct-node-a]", "nodes: [ct-node-b]")
        + "  drain:\n    <<: {timeout: 10m, force: false}\n    force: true\n"
    )
    code, out, _err = run(capsys, str(path))
    assert (code, out) == (0, "")


def test_every_item_of_lists_of_manifests_is_checked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def item(name: str, extra: str = "") -> str:
        body = MAINTENANCE.replace("NAME", name) + extra
        return "\n".join("    " + line if line else line for line in body.splitlines())

    zero = "  strategy: {maxUnavailable: 0}\n"
    path = tmp_path / "lists.yaml"
    path.write_text(
        "apiVersion: v1\nkind: List\nitems:\n"
        + "  -\n"
        + item("one")
        + "\n"
        + "  -\n"
        + item("two", zero)
        + "\n"
        + "  - apiVersion: v1\n    kind: ConfigMapList\n    items: [{kind: ConfigMap}]\n"
        + "---\n"
        + "- "
        + MAINTENANCE.replace("NAME", "three").replace("\n", "\n  ").rstrip()
        + "\n"
        + "- 7\n"
        + "---\n"
        + "apiVersion: caretaker.dev/v1alpha1\nkind: MaintenanceList\nitems: {name: four}\n"
        + "---\n"
        + "[]\n"
    )
    code, report = run_json(capsys, str(path))
    assert code == 1
    assert [(d["document"], d["item"], d["name"], d["result"]) for d in report["documents"]] == [
        (1, "items[0]", "one", "valid"),
        (1, "items[1]", "two", "invalid"),
        (1, "items[2].items[0]", "", "skipped"),
        (2, "[0]", "three", "valid"),
    ]
    assert [f["text"] for f in report["findings"]] == [
        f"{path}:DOC#1.items[1]: Maintenance/two: spec.strategy.maxUnavailable: must be at least"
        " 1, not 0",
        f"{path}:DOC#1.items[2].items[0]: ConfigMap/?: warning: no apiVersion and kind: not a"
        " Kubernetes object; skipped",
        f"{path}:DOC#2[1]: warning: not a Kubernetes object (a YAML int); skipped",
        f"{path}:DOC#3: MaintenanceList: items must be a list",
    ]


def _one_off(start: datetime, duration: str) -> str:
    window = f"  window: {{start: '{start.isoformat()}', duration: {duration}}}\n"
    return MAINTENANCE.replace("NAME", "once") + window


def test_a_one_off_window_already_over_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    path = tmp_path / "over.yaml"
    path.write_text(_one_off(now - timedelta(hours=5), "4h"))
    code, out, _err = run(capsys, str(path))
    assert code == 1
    ended = (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert out.startswith(
        f"{path}:DOC#1: Maintenance/once: spec.window: the one-off window ended at {ended} (1h"
    )
    assert out.rstrip().endswith("no node would be maintained; give a later spec.window.start")
    path.write_text(_one_off(now - timedelta(hours=3), "4h"))  # still open for an hour
    assert run(capsys, str(path))[0] == 0


def test_without_a_time_an_over_window_is_left_to_caretaker_plan() -> None:
    """`caretaker plan` shows such a window as over (and takes --at); it must not fail on it."""
    text = _one_off(datetime(2020, 1, 1, tzinfo=UTC), "4h")
    assert validate.validate_documents(parse_documents("m.yaml", text), None).ok()
    at = datetime(2020, 1, 1, 2, tzinfo=UTC)  # inside the window
    assert validate.validate_documents(parse_documents("m.yaml", text), None, at).ok()
    late = validate.validate_documents(parse_documents("m.yaml", text), None, at + timedelta(3))
    assert [f.path for f in late.findings] == ["spec.window"]


def test_a_reader_crash_fails_the_check_without_an_exception_name(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(_spec: object) -> tuple[object, list[object]]:
        raise OverflowError("date value out of range")

    monkeypatch.setitem(validate.SEMANTIC_READERS, "Maintenance", crash)
    path = tmp_path / "m.yaml"
    path.write_text(MAINTENANCE.replace("NAME", "crash"))
    code, out, _err = run(capsys, str(path))
    assert code == 1
    assert out == (
        f"{path}:DOC#1: Maintenance/crash: spec: the operator could not read this spec (a bug:"
        " report it)\n"
    )
