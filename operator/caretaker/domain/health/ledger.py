"""What the Remediation records say Caretaker has done to OSDs and cluster flags (the ledger
outlives restarts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from caretaker.domain.disruption.ledger import Claim, ClaimKind
from caretaker.domain.health.records import RemediationView
from caretaker.domain.health.status import Result
from caretaker.domain.health.targets import target_from_key

_OUT_RESULTS = frozenset({Result.PENDING, Result.VERIFYING, Result.SUCCEEDED})
_FLAG_ACTIONS = ("setFlag", "unsetFlag")
_FLAG_SET = frozenset({Result.VERIFYING, Result.SUCCEEDED})  # known to have run


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


def marked_out_by_caretaker(
    records: Iterable[RemediationView], osd: int, claims: Iterable[Claim] = ()
) -> bool:
    """Whether a markOut of this OSD by Caretaker ran (markIn acts only on such OSDs): a record
    says so, or the disruption ledger does (it outlives the records of a deleted policy)."""
    in_ledger = any(c.kind == ClaimKind.MARK_OUT and osd in c.osds for c in claims)
    return in_ledger or any(marks_out(r, frozenset({osd})) for r in records)


def marks_out(record: RemediationView, osds: frozenset[int]) -> bool:
    """A markOut record that ran on one of these OSDs."""
    return record.action == "markOut" and record.result in _OUT_RESULTS and _osd_of(record) in osds


def flag_set_by_caretaker(records: Iterable[RemediationView], flag: str) -> RemediationView | None:
    """The setFlag record that makes this cluster flag Caretaker's, or None: the newest
    setFlag/unsetFlag of the flag that ran or may have run must be a setFlag that is known to
    have run. A setFlag that found the flag already set is Skipped or Failed: never ours. A
    Pending one may not have run: not ours (a flag left set is the safe mistake)."""
    runs = [
        r
        for r in records
        if r.action in _FLAG_ACTIONS
        and r.parameters.get("flag") == flag
        and r.result in _OUT_RESULTS
    ]
    newest = max(runs, key=lambda r: r.started_at, default=None)
    if newest is None or newest.action != "setFlag" or newest.result not in _FLAG_SET:
        return None
    return newest


def _osd_of(record: RemediationView) -> int | None:
    try:
        return target_from_key(record.target).osd_id
    except ValueError:
        return None
