"""`make test` collects every folder of tests/ in one pytest run, and the folders are not
packages: two test modules with one basename stop the whole run at collection."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_every_test_module_has_its_own_basename() -> None:
    places: dict[str, list[str]] = defaultdict(list)
    for module in TESTS.rglob("test_*.py"):
        places[module.name].append(str(module.relative_to(TESTS)))
    assert {name: where for name, where in places.items() if len(where) > 1} == {}
