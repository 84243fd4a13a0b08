"""What a node's status remembers of its Alertmanager silences (``status.nodes[].silence``).

The IDs let a restarted operator extend the same silences instead of creating more; a lost
create answer is covered by the marker in each silence's comment (``silence_marker``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from caretaker.domain.common.timestamps import format_time, parse_time

CREATED_BY = "caretaker"
MARKER_PREFIX = "caretaker.dev/silence="


class SilenceState(StrEnum):
    ACTIVE = "Active"  # held: extended every reconcile while the node is away
    EXPIRED = "Expired"  # ended by Caretaker (node restored, rolled back, Maintenance deleted)
    LAPSED = "Lapsed"  # spec.silence.maxDuration reached: left to end by itself


@dataclass(frozen=True)
class SilenceRecord:
    state: SilenceState = SilenceState.ACTIVE
    url: str = ""  # the Alertmanager holding them (expired there even if the spec changes)
    token_secret: str = ""  # and the Secret with its bearer token ("" when none)
    token_key: str = ""
    ids: tuple[str, ...] = ()  # one per silence of spec.silence.matchers, in that order
    matchers: tuple[str, ...] = ()  # each silence's matchers as written to Alertmanager
    started_at: datetime | None = None  # the hold's start: maxDuration counts from here
    ends_at: datetime | None = None  # the end Alertmanager was last given
    error: str = ""  # the last failure ("" when the last call worked)
    tried_at: datetime | None = None  # when the last failed call was made

    def with_(self, **changes: Any) -> SilenceRecord:
        return replace(self, **changes)


def silence_marker(identity: str, node: str, index: int) -> str:
    """The tag in the comment of silence ``index`` that ``identity`` holds for ``node``."""
    return f"{MARKER_PREFIX}{identity}/{node}#{index}"


def node_marker_prefix(identity: str, node: str) -> str:
    return f"{MARKER_PREFIX}{identity}/{node}#"


def silence_to_dict(record: SilenceRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {
        "state": str(record.state),
        "alertmanager": record.url,
        "bearerTokenSecretRef": {"name": record.token_secret, "key": record.token_key}
        if record.token_secret
        else None,
        "ids": list(record.ids),
        "matchers": list(record.matchers),
        "startedAt": format_time(record.started_at) if record.started_at else None,
        "endsAt": format_time(record.ends_at) if record.ends_at else None,
        "error": record.error,
        "triedAt": format_time(record.tried_at) if record.tried_at else None,
    }


def silence_from_dict(raw: object) -> SilenceRecord | None:
    if not isinstance(raw, Mapping):
        return None
    token = raw.get("bearerTokenSecretRef")
    token = token if isinstance(token, Mapping) else {}
    try:
        state = SilenceState(raw.get("state", SilenceState.ACTIVE))
    except ValueError:
        state = SilenceState.ACTIVE
    return SilenceRecord(
        state=state,
        url=str(raw.get("alertmanager") or ""),
        token_secret=str(token.get("name") or ""),
        token_key=str(token.get("key") or ""),
        ids=tuple(str(i) for i in raw.get("ids") or ()),
        matchers=tuple(str(m) for m in raw.get("matchers") or ()),
        started_at=parse_time(raw.get("startedAt")),
        ends_at=parse_time(raw.get("endsAt")),
        error=str(raw.get("error") or ""),
        tried_at=parse_time(raw.get("triedAt")),
    )
