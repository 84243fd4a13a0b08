"""The HealthPolicy and Remediation CRDs: names, columns, documented fields, and a schema that
matches the spec reader and the records Caretaker writes (checked with a small validator of
the OpenAPI subset CRDs use; the testbed's kube-apiserver accepts both CRDs)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from health_fleet import Fleet
from test_health_spec import BAD_SPECS, FULL_SPEC

from caretaker.domain.health import spec as health_spec
from caretaker.domain.health.actions import (
    ACTION_KINDS,
    Flag,
    Severity,
    TaintEffect,
    VerifyCondition,
)
from caretaker.domain.health.presets import PRESETS
from caretaker.domain.health.status import Result
from caretaker.domain.health.targets import MAPPED_KINDS

CRDS = Path(__file__).resolve().parents[2] / "crds"


def load(name: str) -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load((CRDS / name).read_text())
    return crd


def schema(name: str) -> dict[str, Any]:
    version = load(name)["spec"]["versions"][0]
    result: dict[str, Any] = version["schema"]["openAPIV3Schema"]
    return result


POLICY = schema("healthpolicy.yaml")
RECORD = schema("remediation.yaml")
SPEC = POLICY["properties"]["spec"]
RULE = SPEC["properties"]["rules"]["items"]
STEP = RULE["properties"]["actions"]["items"]


_LIMITS: dict[str, Callable[[Any, Any], bool]] = {
    "minimum": operator.ge,
    "maximum": operator.le,
    "minLength": lambda value, limit: len(value) >= limit,
    "maxLength": lambda value, limit: len(value) <= limit,
    "minItems": lambda value, limit: len(value) >= limit,
    "maxItems": lambda value, limit: len(value) <= limit,
}


def validate(value: Any, node: dict[str, Any], path: str = "spec") -> Iterator[str]:
    """Errors of ``value`` against a structural schema (unknown fields are pruned, not errors)."""
    if value is None:
        if not node.get("nullable"):
            yield f"{path}: null"
        return
    kind = node.get("type")
    checks = {
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
        "string": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
    }
    if kind and not checks[kind]:
        yield f"{path}: not {kind}"
        return
    if "enum" in node and value not in node["enum"]:
        yield f"{path}: {value!r} not in enum"
    if "pattern" in node and not re.search(node["pattern"], value):
        yield f"{path}: {value!r} does not match"
    for key, holds in _LIMITS.items():
        if key in node and not holds(value, node[key]):
            yield f"{path}: {key}"
    if isinstance(value, dict):
        yield from _validate_object(value, node, path)
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from validate(item, node["items"], f"{path}[{index}]")


def _validate_object(value: dict[str, Any], node: dict[str, Any], path: str) -> Iterator[str]:
    for key in node.get("required", []):
        if key not in value:
            yield f"{path}.{key}: required"
    if "oneOf" in node and sum(all(k in value for k in b["required"]) for b in node["oneOf"]) != 1:
        yield f"{path}: oneOf"
    if "anyOf" in node and not any(all(k in value for k in b["required"]) for b in node["anyOf"]):
        yield f"{path}: anyOf"
    for key, item in value.items():
        if key in node.get("properties", {}):
            yield from validate(item, node["properties"][key], f"{path}.{key}")
        elif isinstance(node.get("additionalProperties"), dict):
            yield from validate(item, node["additionalProperties"], f"{path}.{key}")


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every named field (array items are described by their array)."""
    yield path, node
    for key, child in node.get("properties", {}).items():
        yield from walk(child, f"{path}.{key}")
    for key, child in node.get("items", {}).get("properties", {}).items():
        yield from walk(child, f"{path}[].{key}")


def test_names() -> None:
    policy, record = load("healthpolicy.yaml"), load("remediation.yaml")
    assert policy["spec"]["group"] == record["spec"]["group"] == "caretaker.dev"
    assert policy["spec"]["names"]["shortNames"] == ["hp"]
    assert record["spec"]["names"]["shortNames"] == ["rem"]
    for crd in (policy, record):
        assert crd["spec"]["names"]["categories"] == ["caretaker"]
        assert [v["name"] for v in crd["spec"]["versions"]] == ["v1alpha1"]
    columns = [c["name"] for c in record["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns[:6] == ["Policy", "Rule", "Target", "Action", "Result", "Age"]
    columns = [c["name"] for c in policy["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns[:4] == ["Ready", "Firing", "Last-Evaluation", "Age"]
    assert "subresources" not in record["spec"]["versions"][0]  # one write creates a record


@pytest.mark.parametrize("root", [POLICY, RECORD], ids=["HealthPolicy", "Remediation"])
def test_every_field_is_documented(root: dict[str, Any]) -> None:
    missing = [path for path, node in walk(root) if path and "description" not in node]
    assert missing == []


def test_schema_fields_are_what_the_reader_reads() -> None:
    assert set(SPEC["properties"]) == health_spec._TOP_KEYS
    assert set(RULE["properties"]) == health_spec._RULE_KEYS
    assert set(STEP["properties"]) == {"after", "verify", *ACTION_KINDS}
    assert [b["required"][0] for b in STEP["oneOf"]] == list(ACTION_KINDS)


def test_enums_match_the_domain() -> None:
    props = RULE["properties"]
    assert props["severity"]["enum"] == [str(s) for s in Severity]
    assert props["preset"]["enum"] == list(PRESETS)
    assert props["target"]["properties"]["kind"]["enum"] == [str(k) for k in MAPPED_KINDS]
    steps = STEP["properties"]
    assert steps["setFlag"]["properties"]["flag"]["enum"] == [str(f) for f in Flag]
    assert steps["taint"]["properties"]["effect"]["enum"] == [str(e) for e in TaintEffect]
    condition = steps["verify"]["properties"]["condition"]["enum"]
    assert condition == [str(c) for c in VerifyCondition]
    result = RECORD["properties"]["status"]["properties"]["result"]["enum"]
    assert result == [str(r) for r in Result]
    assert RECORD["properties"]["spec"]["properties"]["action"]["enum"] == list(ACTION_KINDS)


def test_records_caretaker_writes_are_valid() -> None:
    fleet = Fleet(restart_heals=False)
    fleet.osd_up[3] = False
    fleet.run_for(timedelta(minutes=25))
    fleet.osd_up[3] = True
    fleet.tick()
    assert len(fleet.records) == 4
    for body in fleet.records.values():
        assert list(validate(body, RECORD, "remediation")) == []


def test_the_full_example_is_valid() -> None:
    assert list(validate(FULL_SPEC, SPEC)) == []


SCHEMA_REJECTS = {
    "empty",
    "no-rules",
    "interval-garbage",
    "dry-run-string",
    "rule-not-object",
    "rule-no-name",
    "rule-bad-name",
    "neither",
    "bad-severity",
    "bad-for",
    "target-kind",
    "target-kind-list",
    "target-bad-label",
    "actions-object",
    "step-no-after",
    "step-bad-after",
    "after-huge",
    "two-actions",
    "no-action",
    "bad-flag",
    "no-flag",
    "taint-no-key",
    "taint-bad-effect",
    "drain-negative-grace",
    "notify-bad-route",
    "webhook-both",
    "webhook-neither",
    "webhook-ftp",
    "webhook-secret-no-key",
    "verify-bad",
    "safety-ratio",
    "safety-ratio-string",
    "safety-negative",
    "history-zero",
    "prom-no-url",
    "prom-bad-url",
    "prom-token-no-key",
    "prom-ref-string",
    "prom-headers",
    "receivers-object",
    "receiver-no-kind",
    "receiver-two-kinds",
    "receiver-bad-name",
    "pagerduty-no-key",
    "pagerduty-ref-no-key",
    "slack-no-url",
    "route-bad-severity",
    "route-empty",
    "unknown-preset",
    "unknown-action",
}


@pytest.mark.parametrize("case", BAD_SPECS, ids=[c[0] for c in BAD_SPECS])
def test_the_schema_rejects_what_it_can(case: tuple[str, dict[str, Any], str, str]) -> None:
    name, raw, _, _ = case
    errors = list(validate(raw, SPEC))
    assert bool(errors) == (name in SCHEMA_REJECTS), errors
