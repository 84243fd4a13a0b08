"""Reads Kubernetes manifests: files, directories (recursively) and stdin, multi-document YAML.

Values are read as the API server reads them: an unquoted ``2026-12-05T22:00:00Z`` stays a
string (PyYAML would make it a datetime, which no CRD field is).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

STDIN = "-"
STDIN_NAME = "<stdin>"
SUFFIXES = (".yaml", ".yml", ".json")
TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


class _ManifestLoader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp type."""


_ManifestLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class Document:
    """One YAML document of a source: ``index`` counts from 1; ``error`` when it cannot be read."""

    source: str
    index: int
    body: Any = None
    error: str = ""

    @property
    def where(self) -> str:
        return f"{self.source}:DOC#{self.index}" if self.index else self.source


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
    """The documents of one YAML (or JSON) text; empty documents are skipped but counted."""
    index = 0
    documents = yaml.load_all(text, Loader=_ManifestLoader)
    while True:
        try:
            body = next(documents)
        except StopIteration:
            return
        except yaml.YAMLError as error:
            yield Document(source, index + 1, error=f"not valid YAML: {_yaml_problem(error)}")
            return
        index += 1
        if body is not None:
            yield Document(source, index, body)


def _yaml_problem(error: yaml.YAMLError) -> str:
    if isinstance(error, yaml.MarkedYAMLError) and error.problem_mark is not None:
        mark = error.problem_mark
        return f"{error.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(error)
