"""Reads Kubernetes manifests: files, directories (recursively) and stdin, multi-document YAML.

Values are read as the API server reads them: an unquoted ``2026-12-05T22:00:00Z`` stays a
string (PyYAML would make it a datetime, which no CRD field is). A key given twice in one
mapping is an error, as for kubectl (PyYAML alone would keep the last one silently). Lists of
manifests are opened: a document that is a YAML sequence, and a ``kind: List`` (or any
``...List``) with ``items``, yield each item as a document of its own.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

STDIN = "-"
STDIN_NAME = "<stdin>"
SUFFIXES = (".yaml", ".yml", ".json")
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
MERGE_TAG = "tag:yaml.org,2002:merge"


class _ManifestLoader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type, noting keys given twice."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[str] = []

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, yaml.Node] = {}
        for key_node, _value in node.value:
            if key_node.tag == MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue  # merged keys (<<) may be overridden; complex keys are not manifests'
            key = self.construct_object(key_node)
            if key in first:
                line, column = key_node.start_mark.line + 1, key_node.start_mark.column + 1
                self.duplicates.append(
                    f"key {key!r} given twice (line {line}, column {column}; first on line "
                    f"{first[key].start_mark.line + 1}): kubectl refuses this, other readers "
                    "keep only one of the two"
                )
            else:
                first[key] = key_node
        return super().construct_mapping(node, deep)


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Document:
    """One YAML document of a source: ``index`` counts from 1; ``item`` says where in a list of
    manifests it is (``items[2]``, ``[2]``; empty: the whole document); ``error`` when it
    cannot be read."""

    source: str
    index: int
    body: Any = None
    error: str = ""
    item: str = ""

    @property
    def where(self) -> str:
        if not self.index:
            return self.source
        item = self.item if not self.item or self.item.startswith("[") else f".{self.item}"
        return f"{self.source}:DOC#{self.index}{item}"


def expand(paths: Sequence[str]) -> Iterator[tuple[str, Path | None, str]]:
    """(name, path or None for stdin, problem) for every file named or found under a directory."""
    for given in paths:
        if given == STDIN:
            yield STDIN_NAME, None, ""
            continue
        path = Path(given)
        if path.is_dir():
            found = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
            if not found:
                yield given, None, f"no {', '.join(SUFFIXES)} files in this directory"
            for file in found:
                yield str(file), file, ""
        elif path.is_file():
            yield given, path, ""
        else:
            yield given, None, "no such file or directory"


def read_documents(paths: Sequence[str]) -> Iterator[Document]:
    """Every document of every source, in order; unreadable sources and YAML errors included."""
    for name, path, problem in expand(paths):
        if problem:
            yield Document(name, 0, error=problem)
            continue
        try:
            text = sys.stdin.read() if path is None else path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            yield Document(name, 0, error=f"cannot read: {error}")
            continue
        yield from parse_documents(name, text)


def parse_documents(source: str, text: str) -> Iterator[Document]:
    """The documents of one YAML (or JSON) text; empty documents are skipped but counted. After
    keys given twice the next documents are still read; after a syntax error nothing is."""
    loader = _ManifestLoader(text)
    index = 0
    try:
        while True:
            index += 1  # the document being read
            if not loader.check_data():  # type: ignore[no-untyped-call]
                return
            loader.duplicates = []
            body = loader.get_data()
            if loader.duplicates:
                for problem in loader.duplicates:
                    yield Document(source, index, error=f"not valid YAML: {problem}")
            elif body is not None:
                yield from manifests_in(Document(source, index, body))
    except yaml.YAMLError as error:
        yield Document(source, index, error=f"not valid YAML: {_yaml_problem(error)}")
    finally:
        loader.dispose()


def manifests_in(doc: Document) -> Iterator[Document]:
    """The manifests a document holds: itself, or each item of a YAML sequence or of a
    ``kind: ...List`` with ``items`` (lists in lists too)."""
    body = doc.body
    if isinstance(body, list):
        items, prefix = body, doc.item
    elif _is_list_kind(body):
        items, prefix = body.get("items") or [], f"{doc.item}.items" if doc.item else "items"
        if not isinstance(items, list):
            yield replace(doc, body=None, error=f"{body['kind']}: items must be a list")
            return
    else:
        yield doc
        return
    for position, item in enumerate(items):
        yield from manifests_in(replace(doc, body=item, item=f"{prefix}[{position}]"))


def _is_list_kind(body: Any) -> bool:
    if not isinstance(body, Mapping):
        return False
    kind = body.get("kind")
    return isinstance(kind, str) and kind.endswith("List") and "items" in body


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(error)
