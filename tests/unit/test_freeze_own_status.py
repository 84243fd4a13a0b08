"""A MaintenanceFreeze's own status (``domain.common.freeze_status``): active or not, until
when, the next window, kstatus conditions; an invalid freeze is active and Stalled. The active
decision is the one the Maintenances use (``freeze_view``), checked against it for any instant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from caretaker.domain.common.freeze import freeze_of, freeze_view
from caretaker.domain.common.freeze_status import freeze_status

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def freeze(**spec: Any) -> dict[str, Any]:
    body = {
        "reason": "year-end peak (CHG-2291)",
        "windows": [{"start": "2026-05-04T10:00:00Z", "duration": "1h"}],
    }
    return {"metadata": {"name": "peak", "generation": 3}, "spec": {**body, **spec}}


def conditions(doc: dict[str, Any]) -> dict[str, tuple[str, str]]:
    return {c["type"]: (c["status"], c["reason"]) for c in doc["conditions"]}


def test_before_the_window_it_is_not_active_and_says_when_it_opens() -> None:
    status = freeze_status(freeze_of(freeze()), T0, 3)
    assert status.doc["active"] is False
    assert status.doc["activeUntil"] is None
    assert status.doc["nextStart"] == "2026-05-04T10:00:00Z"
    assert status.doc["message"] == "not active; next window opens 2026-05-04T10:00:00Z"
    assert status.doc["observedGeneration"] == 3
    assert conditions(status.doc)["Active"] == ("False", "NoWindowOpen")
    assert conditions(status.doc)["Ready"] == ("True", "NoWindowOpen")
    assert status.changes_at == datetime(2026, 5, 4, 10, 0, tzinfo=UTC)


def test_inside_the_window_it_is_active_until_its_end_with_the_reason() -> None:
    now = T0 + timedelta(hours=1, minutes=5)
    status = freeze_status(freeze_of(freeze(namespaces=["storage-ops"])), now, 3)
    assert status.doc["active"] is True
    assert status.doc["activeUntil"] == "2026-05-04T11:00:00Z"
    assert status.doc["message"] == (
        "active until 2026-05-04T11:00:00Z in storage-ops: year-end peak (CHG-2291)"
    )
    assert conditions(status.doc)["Active"] == ("True", "WindowOpen")
    assert status.changes_at == datetime(2026, 5, 4, 11, 0, tzinfo=UTC)


def test_after_its_last_window_nothing_is_ahead() -> None:
    status = freeze_status(freeze_of(freeze()), T0 + timedelta(hours=3), 3)
    assert status.doc["active"] is False
    assert status.doc["nextStart"] is None
    assert status.doc["message"] == "not active; no window ahead"
    assert status.changes_at is None


def test_a_recurring_freeze_names_its_next_opening_in_utc() -> None:
    weekly = [{"schedule": "0 18 * * 5", "duration": "60h", "timeZone": "Europe/Berlin"}]
    status = freeze_status(freeze_of(freeze(windows=weekly)), T0, 1)  # a Monday
    assert status.doc["active"] is False
    assert status.doc["nextStart"] == "2026-05-08T16:00:00Z"  # Friday 18:00 in Berlin (CEST)


def test_an_invalid_freeze_is_active_everywhere_and_stalled_naming_the_field() -> None:
    status = freeze_status(freeze_of(freeze(windows=[{"duration": "1h", "start": "soon"}])), T0, 2)
    assert status.doc["active"] is True
    assert "spec.windows[0].start" in status.doc["message"]
    assert "counted as active in every namespace" in status.doc["message"]
    assert conditions(status.doc)["Active"] == ("True", "InvalidSpec")
    assert conditions(status.doc)["Stalled"] == ("True", "InvalidSpec")
    assert conditions(status.doc)["Ready"] == ("False", "InvalidSpec")
    assert status.changes_at is None


def test_the_transition_time_stays_while_the_state_stays() -> None:
    first = freeze_status(freeze_of(freeze()), T0, 3)
    later = freeze_status(
        freeze_of(freeze()), T0 + timedelta(minutes=5), 3, first.doc["conditions"]
    )
    assert later.doc == first.doc  # nothing to write: the keeper sends no request
    opened = freeze_status(freeze_of(freeze()), T0 + timedelta(hours=1), 3, first.doc["conditions"])
    (active,) = [c for c in opened.doc["conditions"] if c["type"] == "Active"]
    assert active["lastTransitionTime"] == "2026-05-04T10:00:00Z"


@given(minutes=st.integers(min_value=-600, max_value=600))
def test_the_status_agrees_with_what_the_maintenances_see(minutes: int) -> None:
    """One decision: the status is active exactly when freeze_view holds the namespace."""
    now = T0 + timedelta(minutes=minutes)
    weekly = [
        {"start": "2026-05-04T10:00:00Z", "duration": "1h"},
        {"schedule": "30 */3 * * *", "duration": "45m", "timeZone": "UTC"},
    ]
    item = freeze_of(freeze(windows=weekly, namespaces=["storage-ops"]))
    status = freeze_status(item, now, 1)
    assert status.doc["active"] == freeze_view((item,), "storage-ops", now).frozen
    assert not freeze_view((item,), "elsewhere", now).frozen
    if status.changes_at is not None:
        assert status.changes_at > now
