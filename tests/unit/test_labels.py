"""matchLabels selection, shared by node selection and the drain's podSelector."""

from __future__ import annotations

import pytest

from caretaker.domain.labels import matches_labels


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
