"""Caretaker's CRDs (``caretaker/crds``, package data: the repository's ``crds/`` itself) and
their OpenAPI v3 schemas turned into JSON Schema (draft 4, the dialect OpenAPI 3.0 builds on).

What the API server does differently from plain JSON Schema, and how it is mirrored here:

* ``nullable: true`` admits null (JSON Schema: ``type: [T, "null"]``).
* ``x-kubernetes-int-or-string`` admits an integer or a string.
* ``x-kubernetes-preserve-unknown-fields`` keeps any field; ``x-kubernetes-embedded-resource``
  implies apiVersion, kind and metadata.
* Any other object rejects unknown fields, as ``kubectl apply`` does (strict field validation):
  without it the API server prunes them silently, and a misspelt ``windw`` would mean "now".
* ``apiVersion``, ``kind`` and ``metadata`` are implied at the root; metadata is ObjectMeta.
* Other ``x-kubernetes-*`` keys, ``default``, ``description`` and ``example`` do not validate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

DNS_SUBDOMAIN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
DNS_LABEL = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
OBJECT_META: dict[str, Any] = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 253, "pattern": DNS_SUBDOMAIN},
        "namespace": {"type": "string", "minLength": 1, "maxLength": 63, "pattern": DNS_LABEL},
        "labels": _STRING_MAP,
        "annotations": _STRING_MAP,
        "generateName": {"type": "string"},
        "finalizers": {"type": "array", "items": {"type": "string"}},
        "ownerReferences": {"type": "array", "items": {"type": "object"}},
        **{
            key: {}
            for key in (
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "managedFields",
                "selfLink",
            )
        },
    },
}
_ROOT_FIELDS: dict[str, Any] = {
    "apiVersion": {"type": "string"},
    "kind": {"type": "string"},
    "metadata": OBJECT_META,
}
_NOT_VALIDATING = {"default", "description", "example", "externalDocs", "nullable"}
_SUBSCHEMA = {"items", "additionalProperties", "not"}
_SUBSCHEMA_LISTS = {"allOf", "anyOf", "oneOf"}
_SUBSCHEMA_MAPS = {"properties", "patternProperties"}


class CrdsMissing(RuntimeError):
    """The package was built without its CRDs (caretaker/crds links to the repository's crds/,
    which the build must see: e.g. ``COPY crds/ crds/`` next to ``COPY operator/``)."""


@dataclass(frozen=True)
class CrdVersion:
    group: str
    kind: str
    version: str
    served: bool
    schema: Mapping[str, Any]  # JSON Schema of the whole object

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"


def crd_texts() -> Iterator[tuple[str, str]]:
    """(file name, text) of every CRD shipped with the package."""
    folder = resources.files("caretaker").joinpath("crds")
    entries = sorted(folder.iterdir(), key=lambda e: e.name) if folder.is_dir() else []
    for entry in entries:
        if entry.name.endswith(".yaml"):
            yield entry.name, entry.read_text(encoding="utf-8")


@cache
def catalog() -> tuple[CrdVersion, ...]:
    """Every version of every Caretaker CRD, with its adapted schema."""
    found: list[CrdVersion] = []
    for _name, text in crd_texts():
        for crd in yaml.safe_load_all(text):
            if not isinstance(crd, Mapping) or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                raw = version["schema"]["openAPIV3Schema"]
                found.append(
                    CrdVersion(
                        group=spec["group"],
                        kind=spec["names"]["kind"],
                        version=version["name"],
                        served=bool(version.get("served", True)),
                        schema=root_schema(raw),
                    )
                )
    if not found:
        raise CrdsMissing(
            "Caretaker's CRDs are missing from this installation (package data caretaker/crds):"
            " it was built without the repository's crds/ directory"
        )
    return tuple(found)


def groups() -> frozenset[str]:
    return frozenset(v.group for v in catalog())


def kinds_of(group: str) -> tuple[str, ...]:
    return tuple(sorted({v.kind for v in catalog() if v.group == group}))


def lookup(group: str, kind: str) -> tuple[CrdVersion, ...]:
    """The served versions of ``kind`` in ``group`` (empty: not a Caretaker kind)."""
    return tuple(v for v in catalog() if v.group == group and v.kind == kind and v.served)


def root_schema(openapi: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a whole object from a CRD's ``openAPIV3Schema``."""
    schema = to_json_schema(openapi)
    schema["properties"] = {**_ROOT_FIELDS, **schema.get("properties", {})}
    schema["required"] = sorted({"apiVersion", "kind", "metadata", *schema.get("required", [])})
    return schema


def to_json_schema(node: Mapping[str, Any]) -> dict[str, Any]:
    """One OpenAPI v3 (structural) schema node as JSON Schema draft 4."""
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NOT_VALIDATING or key.startswith("x-kubernetes-"):
            continue
        if key in _SUBSCHEMA_MAPS:
            out[key] = {name: to_json_schema(sub) for name, sub in value.items()}
        elif key in _SUBSCHEMA_LISTS:
            out[key] = [to_json_schema(sub) for sub in value]
        elif key in _SUBSCHEMA and isinstance(value, Mapping):
            out[key] = to_json_schema(value)
        else:
            out[key] = value
    if node.get("x-kubernetes-int-or-string"):
        out["type"] = ["integer", "string"]
    if node.get("x-kubernetes-embedded-resource"):
        out["properties"] = {**_ROOT_FIELDS, **out.get("properties", {})}
    preserve = bool(node.get("x-kubernetes-preserve-unknown-fields"))
    if node.get("type") == "object" and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    if node.get("nullable"):
        kinds = out.get("type")
        if isinstance(kinds, str):
            out["type"] = [kinds, "null"]
        elif isinstance(kinds, list):
            out["type"] = [*kinds, "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
    return out
