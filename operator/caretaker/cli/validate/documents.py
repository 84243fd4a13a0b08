"""`caretaker validate`: checks manifests offline in three layers, as far as each can see.

1. The CRD's structural schema (what the API server would refuse, and unknown fields, which
   it would silently drop).
2. The operator's own reading of the spec (what it would refuse with an InvalidSpec status):
   cron, time zones, durations, presets, ladders... A field already reported by the schema
   is not reported again.
3. PromQL syntax with promtool; without promtool this is said, never silently passed.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from caretaker.cli.validate import crds
from caretaker.cli.validate.manifests import Document
from caretaker.cli.validate.promql_check import NOT_FOUND, check_exprs
from caretaker.cli.validate.schema_check import SchemaError, schema_errors
from caretaker.domain.common.durations import format_duration
from caretaker.domain.common.freeze import read_freeze_spec
from caretaker.domain.common.timestamps import format_time
from caretaker.domain.common.validation import FieldError
from caretaker.domain.common.windows import Window, final_end, is_over
from caretaker.domain.health.spec import read_health_policy_spec
from caretaker.domain.maintenance.spec import MaintenanceSpec, read_maintenance_spec

SpecReader = Callable[[Mapping[str, Any]], tuple[object, list[FieldError]]]
SEMANTIC_READERS: dict[str, SpecReader] = {
    "Maintenance": read_maintenance_spec,
    "HealthPolicy": read_health_policy_spec,
    "MaintenanceFreeze": read_freeze_spec,
}


class FindingLevel(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Finding:
    source: str
    document: int  # from 1; 0: the whole source
    subject: str  # "Maintenance/name", or "" when the document is not an object
    path: str  # "spec.window.timeZone", or "" for the whole document
    message: str
    stage: str  # input, kind, schema, spec, promql, duplicate
    severity: FindingLevel = FindingLevel.ERROR
    item: str = ""  # where in a list of manifests ("items[2]"), or "" for the whole document

    def __str__(self) -> str:
        where = Document(self.source, self.document, item=self.item).where
        message = (
            self.message if self.severity is FindingLevel.ERROR else f"warning: {self.message}"
        )
        return ": ".join(part for part in (where, self.subject, self.path, message) if part)


@dataclass(frozen=True)
class Checked:
    """One document and what became of it: valid, invalid or skipped (not a Caretaker kind)."""

    source: str
    document: int
    kind: str
    name: str
    namespace: str
    result: str
    item: str = ""


@dataclass
class Report:
    documents: list[Checked] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    promql: str = "no PromQL expressions"

    def count(self, severity: FindingLevel) -> int:
        return sum(f.severity is severity for f in self.findings)

    def ok(self, *, strict: bool = False) -> bool:
        return not self.count(FindingLevel.ERROR) and not (
            strict and self.count(FindingLevel.WARNING)
        )


@dataclass(frozen=True)
class _Expr:
    finding: Finding  # where it is; the message is filled in when it fails
    expr: str


def validate_documents(
    documents: Iterable[Document], promtool: str | None, now: datetime | None = None
) -> Report:
    """Checks every document; PromQL of all of them in one promtool run at the end. With
    ``now`` (``caretaker validate``), a one-off window over by then is an error too; without
    (``caretaker plan``, which shows such a window as over), it is not looked at."""
    report = Report()
    exprs: list[_Expr] = []
    seen: dict[tuple[str, str, str], str] = {}
    for doc in documents:
        checked, findings, found = check_document(doc, now)
        report.findings.extend(findings)
        exprs.extend(found)
        if checked is None:
            continue
        report.documents.append(checked)
        key = (checked.kind, checked.namespace, checked.name)
        if checked.result != "skipped" and checked.name and key in seen:
            subject = f"{checked.kind}/{checked.name}"
            text = f"defined twice: also at {seen[key]} (only one would survive an apply)"
            warning = Finding(doc.source, doc.index, subject, "", text, "duplicate")
            report.findings.append(replace(warning, severity=FindingLevel.WARNING, item=doc.item))
        seen.setdefault(key, doc.where)
    report.findings.extend(_promql_findings(report, exprs, promtool))
    failed = {
        (f.source, f.document, f.item) for f in report.findings if f.severity is FindingLevel.ERROR
    }
    report.documents = [
        replace(c, result="invalid") if (c.source, c.document, c.item) in failed else c
        for c in report.documents
    ]
    return report


def check_document(
    doc: Document, now: datetime | None = None
) -> tuple[Checked | None, list[Finding], list[_Expr]]:
    """One document: which kind it is, then schema, spec and the PromQL it carries."""
    if doc.error:
        return None, [Finding(doc.source, doc.index, "", "", doc.error, "input", item=doc.item)], []
    body = doc.body
    if not isinstance(body, Mapping):
        text = f"not a Kubernetes object (a YAML {type(body).__name__}); skipped"
        skipped = Finding(
            doc.source, doc.index, "", "", text, "input", FindingLevel.WARNING, doc.item
        )
        return None, [skipped], []
    kind, api_version = body.get("kind"), body.get("apiVersion")
    meta = body.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    name, namespace = str(meta.get("name") or ""), str(meta.get("namespace") or "")
    subject = f"{kind or '?'}/{name or '?'}"
    checked = Checked(doc.source, doc.index, str(kind or ""), name, namespace, "skipped", doc.item)

    def finding(
        path: str, message: str, stage: str, severity: FindingLevel = FindingLevel.ERROR
    ) -> Finding:
        return Finding(doc.source, doc.index, subject, path, message, stage, severity, doc.item)

    version, problem = _resolve_kind(api_version, kind)
    if version is None:
        return checked, [finding(problem.path, problem.message, "kind", problem.severity)], []
    semantic = _semantic_errors(str(kind), body.get("spec"), now)
    schema = [
        finding(e.path, _better_message(e, semantic), "schema")
        for e in schema_errors(body, version.schema)
    ]
    reported = {f.path for f in schema}
    findings = schema + [
        finding(e.path, e.message, "spec") for e in semantic if not _related(e.path, reported)
    ]
    result = "invalid" if findings else "valid"
    exprs = [_Expr(finding(path, "", "promql"), expr) for path, expr in promql_of(kind, body)]
    return replace(checked, result=result), findings, exprs


@dataclass(frozen=True)
class _KindProblem:
    path: str
    message: str
    severity: FindingLevel


def _resolve_kind(api_version: Any, kind: Any) -> tuple[crds.CrdVersion | None, _KindProblem]:
    """The CRD version of a document; or why not, as an error (Caretaker's group) or warning."""
    if not isinstance(api_version, str) or not isinstance(kind, str) or not kind:
        text = "no apiVersion and kind: not a Kubernetes object; skipped"
        return None, _KindProblem("", text, FindingLevel.WARNING)
    group = api_version.rpartition("/")[0]
    if group not in crds.groups():
        text = f"{api_version} {kind} is not a Caretaker kind; skipped"
        return None, _KindProblem("", text, FindingLevel.WARNING)
    versions = crds.lookup(group, kind)
    if not versions:
        known = crds.kinds_of(group)
        close = difflib.get_close_matches(kind, known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"known: {', '.join(known)}"
        return None, _KindProblem(
            "kind", f"{group} has no kind {kind!r}; {hint}", FindingLevel.ERROR
        )
    for version in versions:
        if version.api_version == api_version:
            return version, _KindProblem("", "", FindingLevel.ERROR)
    served = ", ".join(v.api_version for v in versions)
    text = f"{kind} is not served as {api_version}; use {served}"
    return None, _KindProblem("apiVersion", text, FindingLevel.ERROR)


def _semantic_errors(kind: str, spec: Any, now: datetime | None) -> list[FieldError]:
    reader = SEMANTIC_READERS.get(kind)
    if reader is None or not (spec is None or isinstance(spec, Mapping)):
        return []  # no reader for the kind, or the schema already said spec is not an object
    try:
        value, errors = reader(spec or {})
    except Exception:  # noqa: BLE001 - a reader crash must fail the check, loudly
        return [FieldError("spec", "the operator could not read this spec (a bug: report it)")]
    if now is not None and isinstance(value, MaintenanceSpec) and is_over(value.window, now):
        return [_window_over(value.window, now)]
    return errors


def _window_over(window: Window, now: datetime) -> FieldError:
    """A one-off window already over when the manifest is checked: the operator would start no
    node (it reports WindowOver), so the manifest cannot do what it says."""
    end = final_end(window) or now
    return FieldError(
        "spec.window",
        f"the one-off window ended at {format_time(end)} ({format_duration(now - end)} ago): "
        "no node would be maintained; give a later spec.window.start",
    )


def _related(path: str, reported: set[str]) -> bool:
    """Whether the schema already reported this field, one inside it or one containing it:
    the operator's complaint is then a consequence (``spec.nodes`` is not a list, so "name the
    nodes to maintain")."""
    return any(
        path == p or p.startswith((f"{path}.", f"{path}[")) or path.startswith((f"{p}.", f"{p}["))
        for p in reported
        if p != "(document)"
    )


def _better_message(error: SchemaError, semantic: list[FieldError]) -> str:
    """A failed pattern says only the regular expression; the operator's words say more."""
    if error.keyword == "pattern":
        words = [e.message for e in semantic if e.path == error.path]
        if words:
            return "; ".join(words)
    return error.message


def promql_of(kind: Any, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field path, expression) of every PromQL expression a manifest carries."""
    spec = body.get("spec")
    if not isinstance(spec, Mapping):
        return []
    if kind == "Maintenance":
        gates = spec.get("gates")
        items = gates.get("promql") if isinstance(gates, Mapping) else None
        prefix = "spec.gates.promql"
    elif kind == "HealthPolicy":
        items, prefix = spec.get("rules"), "spec.rules"
    else:
        return []
    if not isinstance(items, list):
        return []
    return [
        (f"{prefix}[{i}].expr", item["expr"])
        for i, item in enumerate(items)
        if isinstance(item, Mapping) and isinstance(item.get("expr"), str) and item["expr"].strip()
    ]


def _promql_findings(report: Report, exprs: list[_Expr], promtool: str | None) -> list[Finding]:
    if not exprs:
        return []
    outcome = check_exprs([e.expr for e in exprs], promtool)
    failure = outcome.failure
    if outcome.promtool is None or failure:
        report.promql = NOT_FOUND if outcome.promtool is None else outcome.failure
        severity = FindingLevel.WARNING if outcome.promtool is None else FindingLevel.ERROR
        message = NOT_FOUND if outcome.promtool is None else f"PromQL not checked: {failure}"
        return [replace(e.finding, message=message, severity=severity) for e in exprs]
    report.promql = f"{len(exprs)} PromQL expression(s) checked with {outcome.promtool}"
    return [
        replace(e.finding, message=f"invalid PromQL: {outcome.problems[i]}")
        for i, e in enumerate(exprs)
        if i in outcome.problems
    ]
