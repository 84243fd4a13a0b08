"""The Eviction API version choice: policy/v1 when served, else policy/v1beta1, else an error."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from caretaker.clients.kube.api import KubeApiError, StatusCause
from caretaker.clients.kube.eviction import (
    POLICY_V1,
    POLICY_V1BETA1,
    EvictionUnsupportedError,
    budget_message,
    choose_eviction_version,
    eviction_body,
    is_budget_block,
)

OTHER_VERSIONS = st.sampled_from(["policy/v2alpha1", "policy/v1alpha1", "apps/v1", "v1", ""])


@pytest.mark.parametrize(
    ("served", "expected"),
    [
        ([POLICY_V1, POLICY_V1BETA1], POLICY_V1),
        ([POLICY_V1BETA1, POLICY_V1], POLICY_V1),
        ([POLICY_V1], POLICY_V1),
        ([POLICY_V1BETA1], POLICY_V1BETA1),  # Kubernetes <= 1.21 (the testbed's 1.20)
    ],
)
def test_prefers_v1_and_falls_back_to_v1beta1(served: list[str], expected: str) -> None:
    assert choose_eviction_version(served) == expected


@pytest.mark.parametrize("served", [[], ["policy/v1alpha1"], ["v1", "apps/v1"]])
def test_no_known_version_is_an_error(served: list[str]) -> None:
    with pytest.raises(EvictionUnsupportedError, match="policy/v1"):
        choose_eviction_version(served)


@given(others=st.lists(OTHER_VERSIONS), has_v1=st.booleans(), has_beta=st.booleans())
def test_choice_depends_only_on_known_versions(
    others: list[str], has_v1: bool, has_beta: bool
) -> None:
    served = [*others, *([POLICY_V1] if has_v1 else []), *([POLICY_V1BETA1] if has_beta else [])]
    if has_v1:
        assert choose_eviction_version(served) == POLICY_V1
    elif has_beta:
        assert choose_eviction_version(served) == POLICY_V1BETA1
    else:
        with pytest.raises(EvictionUnsupportedError):
            choose_eviction_version(served)


@given(served=st.permutations([POLICY_V1, POLICY_V1BETA1, "policy/v1alpha1"]))
def test_order_of_discovery_does_not_matter(served: list[str]) -> None:
    assert choose_eviction_version(served) == POLICY_V1


def test_eviction_body_carries_version_and_grace_period() -> None:
    body = eviction_body(POLICY_V1BETA1, "ns", "pod", 0)
    assert body["apiVersion"] == POLICY_V1BETA1
    assert body["metadata"] == {"name": "pod", "namespace": "ns"}
    assert body["deleteOptions"] == {"gracePeriodSeconds": 0}
    assert "deleteOptions" not in eviction_body(POLICY_V1, "ns", "pod", None)


def test_only_a_budget_429_counts_as_blocked() -> None:
    cause = StatusCause("DisruptionBudget", "The disruption budget b needs 1 healthy pods")
    blocked = KubeApiError(429, "TooManyRequests", "Cannot evict pod", (cause,))
    throttled = KubeApiError(429, "TooManyRequests", "Too many requests")
    assert is_budget_block(blocked)
    assert not is_budget_block(throttled)
    assert not is_budget_block(KubeApiError(500, "InternalError", "boom", (cause,)))
    assert budget_message(blocked) == (
        "Cannot evict pod The disruption budget b needs 1 healthy pods"
    )
