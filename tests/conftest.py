"""Test configuration: real-component fixtures live in tests/fixtures/, one module each."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

# The machines tests run on are shared and noisy: a property example that takes longer than
# hypothesis' default 200 ms deadline there is slow, not wrong. Timing lives in bench/.
settings.register_profile("caretaker", deadline=None)
settings.load_profile("caretaker")

pytest_plugins = [
    "fixtures.testbed",
    "fixtures.kube",
    "fixtures.cluster",
    "fixtures.ceph",
    "fixtures.prom",
    "fixtures.operator",
    "fixtures.receivers",
    "fixtures.maintenance",
    "fixtures.chart",
    "fixtures.health",
    "fixtures.holders",
]


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keeps each phase's report on the test item, so fixtures can show logs of failed tests."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report
