"""matchLabels selection, shared by node selection and the drain's podSelector."""

from __future__ import annotations

import pytest

from caretaker.domain.common.labels import label_key_problem, label_value_problem, matches_labels


@pytest.mark.parametrize(
    ("labels", "selector", "expected"),
    [
        ({"rack": "r1", "role": "osd"}, {"rack": "r1"}, True),
        ({"rack": "r1"}, {"rack": "r1", "role": "osd"}, False),
        ({"rack": "r2"}, {"rack": "r1"}, False),
        ({}, None, True),
        ({"rack": "r1"}, {}, True),
    ],
)
def test_matches_labels(
    labels: dict[str, str], selector: dict[str, str] | None, expected: bool
) -> None:
    assert matches_labels(labels, selector) is expected


@pytest.mark.parametrize(
    "key",
    ["rack", "topology.kubernetes.io/zone", "node-role.kubernetes.io/storage", "a_b.c-d", "A1"],
)
def test_valid_label_keys(key: str) -> None:
    assert label_key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "hint"),
    [
        ("", "the name is empty"),
        ("rack name", "letters, digits"),
        ("-rack", "beginning and ending"),
        ("rack.", "beginning and ending"),
        ("r" * 64, "at most 63"),
        ("/rack", "prefix before '/' is empty"),
        ("example.com/", "the name is empty"),
        ("Example.com/rack", "prefix 'Example.com' must be a DNS name"),
        ("a/b/c", "prefix 'a/b'"),
        (("p" * 254) + "/rack", "at most 253"),
    ],
)
def test_invalid_label_keys_say_why(key: str, hint: str) -> None:
    problem = label_key_problem(key)
    assert problem is not None
    assert problem.startswith(f"{key!r} is not a valid label key")
    assert hint in problem


@pytest.mark.parametrize("value", ["", "r1", "R_1.a-b", "v" * 63])
def test_valid_label_values(value: str) -> None:
    assert label_value_problem(value) is None


@pytest.mark.parametrize("value", ["r 1", "r7:top", "-r", "r-", "v" * 64, "ü", "r1\n"])
def test_invalid_label_values(value: str) -> None:
    problem = label_value_problem(value)
    assert problem is not None
    assert problem.startswith(f"{value!r} is not a valid label value")
