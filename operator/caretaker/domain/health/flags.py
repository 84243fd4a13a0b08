"""setFlag and unsetFlag touch only Caretaker's own cluster flags.

Ceph does not say who set a flag, so the Remediation records do (``ledger.flag_set_by_caretaker``):
a setFlag of a flag that is set already (a person's, or an earlier one of Caretaker's) does
nothing and is recorded ``Skipped``, so it never becomes Caretaker's; an unsetFlag of a flag
that no setFlag of Caretaker's holds is ``Skipped`` too: the flag is left alone. The executor
checks both again against Ceph and the records at the moment it acts.
"""

from __future__ import annotations

from collections.abc import Iterable

from caretaker.domain.health.actions import Action, SetFlag, UnsetFlag
from caretaker.domain.health.ledger import flag_set_by_caretaker
from caretaker.domain.health.records import RemediationView


def flag_skip(
    action: Action, cluster_flags: frozenset[str] | None, records: Iterable[RemediationView]
) -> str:
    """Why this setFlag/unsetFlag step is skipped ("" when it may run). ``cluster_flags``:
    None when Ceph could not be read (the circuit then holds the step anyway)."""
    if isinstance(action, SetFlag) and cluster_flags is not None and action.flag in cluster_flags:
        ours = flag_set_by_caretaker(records, action.flag)
        owner = f"Caretaker (rule {ours.rule}, record {ours.name})" if ours else "someone else"
        return f"{action.flag} is already set by {owner}: left as it is"
    if isinstance(action, UnsetFlag) and flag_set_by_caretaker(records, action.flag) is None:
        return unset_refusal(action.flag)
    return ""


def unset_refusal(flag: str) -> str:
    return (
        f"{flag} left alone: set by someone else (Caretaker unsets only a flag that one of "
        f"its setFlag steps set)"
    )


def set_refusal(flag: str) -> str:
    return f"{flag} was set by someone else meanwhile: left as it is, not Caretaker's to unset"
