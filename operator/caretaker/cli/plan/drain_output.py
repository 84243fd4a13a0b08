"""The drain preflight in `caretaker plan`'s output: lines for people, a mapping for JSON."""

from __future__ import annotations

from typing import Any

from caretaker.domain.drain.preflight import DrainPreflight, PodVerdict

# (label in the text, JSON key, attribute of DrainPreflight)
SECTIONS = (
    ("evict", "evict", "evict"),
    ("BLOCK", "blocking", "blocking"),
    ("wait", "terminating", "terminating"),
    ("skip", "stuck", "stuck"),
    ("delete", "delete", "delete"),
)


def drain_summary(drain: DrainPreflight) -> str:
    source = (
        "budgets checked by server-side dry-run evictions"
        if drain.dry_run
        else "budgets checked by their status (the server answered no dry-run eviction)"
    )
    counts = [
        f"{len(drain.evict)} to evict",
        f"{len(drain.blocking)} blocking",
        f"{len(drain.terminating)} terminating",
    ]
    if drain.stuck:
        counts.append(f"{len(drain.stuck)} stuck terminating (not waited for)")
    if drain.delete:
        counts.append(f"{len(drain.delete)} finished (deleted)")
    return f"drain: {', '.join(counts)}; {source}"


def drain_lines(drain: DrainPreflight | None, indent: str = "       ") -> list[str]:
    if drain is None:
        return [f"{indent}drain: off (spec.drain.enabled is false)"]
    lines = [f"{indent}{drain_summary(drain)}"]
    rows = [
        (label, verdict)
        for label, _key, attribute in SECTIONS
        for verdict in getattr(drain, attribute)
    ]
    width = max((len(v.pod.ref) for _, v in rows), default=0)
    owners = max((len(_owner(v)) for _, v in rows), default=0)
    for label, verdict in rows:
        text = f"{indent}  {label:<6}  {verdict.pod.ref:<{width}}  {_owner(verdict):<{owners}}"
        lines.append(f"{text}  {verdict.reason}".rstrip())
    return lines


def _owner(verdict: PodVerdict) -> str:
    return verdict.pod.controller_kind or "no controller"


def drain_json(drain: DrainPreflight | None) -> dict[str, Any] | None:
    if drain is None:
        return None
    payload: dict[str, Any] = {"dryRun": drain.dry_run, "clear": drain.clear}
    for _label, key, attribute in SECTIONS:
        payload[key] = [
            {
                "namespace": v.pod.namespace,
                "name": v.pod.name,
                "controller": v.pod.controller_kind,
                "reason": v.reason,
                "budgets": list(v.budgets),
            }
            for v in getattr(drain, attribute)
        ]
    return payload
