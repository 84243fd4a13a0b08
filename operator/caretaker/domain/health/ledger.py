"""What the Remediation records say Caretaker has done to OSDs (the ledger outlives restarts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.status import Result
from caretaker.domain.health.targets import target_from_key

_OUT_RESULTS = frozenset({Result.PENDING, Result.VERIFYING, Result.SUCCEEDED})


def osds_out_by_caretaker(
    records: Iterable[RemediationView], osd_in: Mapping[int, bool]
) -> frozenset[int]:
    """OSDs whose newest markOut/markIn record is a markOut that did not fail, and that are out
    now (or whose markOut has not run yet): those count against ``maxOsdsOut``."""
    newest: dict[int, RemediationView] = {}
    for record in records:
        osd = _osd_of(record)
        if record.action not in ("markOut", "markIn") or osd is None:
            continue
        if record.result not in _OUT_RESULTS:
            continue
        if osd not in newest or record.started_at > newest[osd].started_at:
            newest[osd] = record
    return frozenset(
        osd
        for osd, record in newest.items()
        if record.action == "markOut"
        and (record.result is Result.PENDING or not osd_in.get(osd, True))
    )


def marked_out_by_caretaker(records: Iterable[RemediationView], osd: int) -> bool:
    """Whether a markOut of this OSD by Caretaker ran (markIn acts only on such OSDs)."""
    return any(
        r.action == "markOut" and r.result in _OUT_RESULTS and _osd_of(r) == osd for r in records
    )


def _osd_of(record: RemediationView) -> int | None:
    try:
        return target_from_key(record.target).osd_id
    except ValueError:
        return None
