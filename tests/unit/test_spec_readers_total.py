"""Every parse failure is a field-named error, never an exception: the operator's spec readers
(which ``caretaker validate`` calls too) are given the examples with any one field, at any
depth the CRD schema knows, replaced by anything JSON can carry or a value people get wrong."""

from __future__ import annotations

import builtins
import copy
import re
from collections.abc import Callable, Iterator, Mapping
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from caretaker.cli.validate import crds
from caretaker.domain.common.validation import FieldError
from caretaker.domain.health.spec import read_health_policy_spec
from caretaker.domain.maintenance.spec import read_maintenance_spec

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
READERS: dict[str, Callable[[Mapping[str, Any]], tuple[object, list[FieldError]]]] = {
    "Maintenance": read_maintenance_spec,
    "HealthPolicy": read_health_policy_spec,
}
TRICKY = [
    "99999999999d",
    "9" * 400 + "s",
    "0.0000000001ms",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:00:00-05:00",
    "0001-01-01T00:00:00+05:00",
    "http://prometheus:99999",
    "http://[fd00::1",
    "Europe/" + "x" * 300,
    "../../etc/passwd",
    "rack name",
    "\x00",
    "* * * * * *",
    "@reboot",
    10**30,
    -(10**30),
    float("inf"),
    float("nan"),
]
# Without capitals, no text can spell an exception's name by chance (a key "Warning" did).
NO_CAPITALS = st.characters(blacklist_categories=["Lu", "Cs"])
Junk = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(NO_CAPITALS, max_size=20)
    | st.sampled_from(TRICKY),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(NO_CAPITALS, max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _examples() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if isinstance(doc, dict) and doc.get("kind") in READERS:
                found.append((str(doc["kind"]), doc["spec"]))
    return found


def _paths(
    schema: Mapping[str, Any], path: tuple[str | int, ...] = ()
) -> Iterator[tuple[str | int, ...]]:
    for key, sub in schema.get("properties", {}).items():
        yield (*path, key)
        yield from _paths(sub, (*path, key))
    items = schema.get("items")
    if isinstance(items, Mapping):
        yield from _paths(items, (*path, 0))


def _put(spec: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    """Sets ``path`` in ``spec``, making the objects and lists on the way."""
    here: Any = spec
    for key, following in pairwise(path):
        empty: Any = [] if isinstance(following, int) else {}
        if isinstance(key, int):
            while len(here) <= key:
                here.append(copy.deepcopy(empty))
            if not isinstance(here[key], type(empty)):
                here[key] = empty
        elif not isinstance(here.get(key), type(empty)):
            here[key] = empty
        here = here[key]
    last = path[-1]
    if isinstance(last, int):
        while len(here) <= last:
            here.append(None)
    here[last] = value


CASES = [
    (kind, spec, path)
    for kind, spec in _examples()
    for path in _paths(crds.lookup("caretaker.dev", kind)[0].schema["properties"]["spec"])
]
_EXCEPTION_NAME = re.compile(
    r"\b("
    + "|".join(
        n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)
    )
    + r")\b"
)


def test_the_cases_cover_both_kinds_deeply() -> None:
    assert {kind for kind, _spec, _path in CASES} == set(READERS)
    assert max(len(path) for _kind, _spec, path in CASES) >= 5


@settings(max_examples=1500, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=st.sampled_from(CASES), value=Junk)
def test_a_spec_reader_never_raises(
    case: tuple[str, dict[str, Any], tuple[str | int, ...]], value: Any
) -> None:
    kind, example, path = case
    spec = copy.deepcopy(example)
    _put(spec, path, value)
    parsed, errors = READERS[kind](spec)
    assert (parsed is None) == bool(errors)
    for error in errors:
        assert error.path == "spec" or error.path.startswith(("spec.", "spec[")), error
        assert error.message
        assert not _EXCEPTION_NAME.search(error.message), error
