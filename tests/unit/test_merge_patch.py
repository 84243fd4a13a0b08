"""The merge-patch model that lets an idle reconcile skip its status write."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.common.merge_patch import apply_merge_patch, changes_nothing

scalars = st.one_of(st.booleans(), st.integers(), st.text(max_size=3))
documents = st.recursive(
    st.dictionaries(st.sampled_from("abc"), scalars, max_size=3),
    lambda inner: st.dictionaries(
        st.sampled_from("abc"), st.one_of(scalars, inner, st.lists(scalars, max_size=2))
    ),
    max_leaves=8,
)


def test_rfc7386_examples() -> None:
    assert apply_merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert apply_merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert apply_merge_patch({"a": "b"}, {"a": None}) == {}
    assert apply_merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}
    assert apply_merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert apply_merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}


def test_a_null_for_a_missing_key_changes_nothing() -> None:
    status: dict[str, Any] = {"phase": "Scheduled", "nodes": [{"name": "n1"}]}
    patch = {"phase": "Scheduled", "currentNode": None, "nodes": [{"name": "n1"}]}
    assert changes_nothing(status, patch)
    assert not changes_nothing(status, {**patch, "phase": "Running"})
    assert not changes_nothing(status, {**patch, "nodes": [{"name": "n1", "x": None}]} | {"a": 1})
    assert not changes_nothing(None, {"phase": "Scheduled"})


@given(documents)
def test_a_document_patched_with_itself_is_unchanged(document: dict[str, Any]) -> None:
    assert changes_nothing(document, document)


@given(documents, documents)
def test_patching_is_idempotent(target: dict[str, Any], patch: dict[str, Any]) -> None:
    once = apply_merge_patch(target, patch)
    assert apply_merge_patch(once, patch) == once
    assert changes_nothing(once, patch)
