"""Which OSDs the Remediation ledger says Caretaker marked out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from caretaker.domain.health.ledger import marked_out_by_caretaker, osds_out_by_caretaker
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.status import Result

T0 = datetime(2026, 11, 21, tzinfo=UTC)


def record(osd: int, action: str, result: Result, minute: int) -> RemediationView:
    return RemediationView(
        name=f"r-{osd}-{minute}",
        key=f"k{minute}",
        episode="e",
        policy="p",
        rule="osd-down",
        target=f"osd/osd.{osd}",
        action=action,
        disruptive=True,
        result=result,
        started_at=T0 + timedelta(minutes=minute),
    )


def test_out_counts_only_the_newest_successful_mark_out_of_an_osd_still_out() -> None:
    records = [
        record(1, "markOut", Result.SUCCEEDED, 0),  # out now
        record(2, "markOut", Result.SUCCEEDED, 0),
        record(2, "markIn", Result.SUCCEEDED, 5),  # marked in again later
        record(3, "markOut", Result.FAILED, 0),  # never went out
        record(4, "markOut", Result.PENDING, 0),  # not run yet: counts already
        record(5, "markOut", Result.SUCCEEDED, 0),  # someone marked it in by hand
    ]
    osd_in = {1: False, 2: True, 3: True, 4: True, 5: True}
    assert osds_out_by_caretaker(records, osd_in) == {1, 4}


def test_mark_in_only_for_osds_caretaker_marked_out() -> None:
    records = [record(1, "markOut", Result.SUCCEEDED, 0), record(2, "markOut", Result.FAILED, 0)]
    assert marked_out_by_caretaker(records, 1)
    assert not marked_out_by_caretaker(records, 2)
    assert not marked_out_by_caretaker(records, 3)
