"""Stable keys: idempotency keys, episode ids, PagerDuty dedup keys and record names."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.health.keys import (
    MAX_DEDUP_KEY,
    dedup_key,
    episode_id,
    idempotency_key,
    record_name,
    resolve_key,
)

T0 = datetime(2026, 5, 4, 10, 0, 30, tzinfo=UTC)
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")


def test_keys_are_pinned() -> None:
    """sha256 over the parts joined by \\x1f. A change here breaks dedup across an upgrade of
    the operator: do it on purpose only."""
    assert idempotency_key("uid", "osd-down", "osd/osd.3", 1, T0) == (
        "907c724505c9d8bea956d925d22f3471"
    )
    assert episode_id("uid", "osd-down", "osd/osd.3", T0) == "d915c03ecfd0ae65fbc6"
    assert dedup_key("ceph", "osd-health", "osd-down", "osd/osd.3", "907c724505c9d8be") == (
        "caretaker/ceph/osd-health/osd-down/osd/osd.3/907c724505c9"
    )
    assert resolve_key("907c724505c9d8bea956d925d22f3471") == "25408db8524b2c0e9b235a0bc815edd2"


def test_the_same_moment_in_another_zone_gives_the_same_key() -> None:
    elsewhere = T0.astimezone(datetime.now().astimezone().tzinfo)
    assert idempotency_key("u", "r", "t", 0, elsewhere) == idempotency_key("u", "r", "t", 0, T0)


parts = st.text(min_size=1, max_size=30)


@given(parts, parts, parts, st.integers(-1, 30), st.integers(0, 10**6))
def test_every_part_of_an_idempotency_key_matters(
    uid: str, rule: str, target: str, step: int, seconds: int
) -> None:
    since = T0 + timedelta(seconds=seconds)
    key = idempotency_key(uid, rule, target, step, since)
    assert re.fullmatch(r"[0-9a-f]{32}", key)
    assert key == idempotency_key(uid, rule, target, step, since)
    assert key != idempotency_key(uid + "x", rule, target, step, since)
    assert key != idempotency_key(uid, rule + "x", target, step, since)
    assert key != idempotency_key(uid, rule, target + "x", step, since)
    assert key != idempotency_key(uid, rule, target, step + 1, since)
    assert key != idempotency_key(uid, rule, target, step, since + timedelta(seconds=1))


def test_parts_cannot_be_shifted_into_each_other() -> None:
    assert idempotency_key("a", "bc", "d", 0, T0) != idempotency_key("ab", "c", "d", 0, T0)


step_keys = st.from_regex(r"[0-9a-f]{32}", fullmatch=True)


@given(parts, parts, parts, st.text(min_size=1, max_size=300), step_keys, step_keys)
def test_dedup_key_fits_pagerduty_and_is_one_per_step_of_an_episode(
    namespace: str, policy: str, rule: str, target: str, step: str, other: str
) -> None:
    key = dedup_key(namespace, policy, rule, target, step)
    assert len(key) <= MAX_DEDUP_KEY
    assert key == dedup_key(namespace, policy, rule, target, step)
    assert key != dedup_key(namespace, policy, rule, target + "x", step)
    if other[:12] != step[:12]:  # another episode, or another notify step of this one
        assert key != dedup_key(namespace, policy, rule, target, other)


def test_a_new_episode_gets_a_new_dedup_key() -> None:
    first = idempotency_key("uid", "osd-down", "osd/osd.3", 0, T0)
    again = idempotency_key("uid", "osd-down", "osd/osd.3", 0, T0 + timedelta(minutes=5))
    escalation = idempotency_key("uid", "osd-down", "osd/osd.3", 3, T0)
    keys = {dedup_key("ceph", "p", "osd-down", "osd/osd.3", k) for k in (first, again, escalation)}
    assert len(keys) == 3


@given(st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", fullmatch=True))
def test_record_names_are_valid_object_names(policy: str) -> None:
    name = record_name(policy, "0123456789abcdef" * 2)
    assert DNS_SUBDOMAIN.match(name)
    assert len(name) <= 63
