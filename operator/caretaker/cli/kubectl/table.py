"""`kubectl caretaker status` output, as `kubectl get` prints it: a table (the CRD's printer
columns, NAMESPACE first with -A, MESSAGE with -o wide), or the objects as JSON, YAML or names."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import yaml

from caretaker.constants import GROUP

OUTPUTS = ("json", "yaml", "wide", "name")
KIND = f"maintenance.{GROUP}"


def age(created: str | None, now: datetime) -> str:
    """kubectl's short age: 45s, 12m, 5h, 3d (2 units below 10: 5m30s, 2d4h)."""
    if not created:
        return "<unknown>"
    then = datetime.fromisoformat(created.replace("Z", "+00:00"))
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds}s"
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s" if seconds % 60 else f"{minutes}m"
    if hours < 3:
        return f"{minutes}m"
    if hours < 8:
        return f"{hours}h{minutes % 60}m" if minutes % 60 else f"{hours}h"
    if days < 2:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d"


def row(obj: Mapping[str, Any], now: datetime, *, namespaced: bool, wide: bool) -> list[str]:
    meta, status = obj.get("metadata") or {}, obj.get("status") or {}
    cells = [str(meta.get("namespace", ""))] if namespaced else []
    cells += [
        str(meta.get("name", "")),
        str(status.get("phase") or ""),
        str(status.get("progress") or ""),
        str(status.get("currentNode") or ""),
        str(status.get("nextWindow") or ""),
        age(meta.get("creationTimestamp"), now),
    ]
    if wide:
        cells.append(str(status.get("message") or ""))
    return cells


def table(rows: Sequence[Sequence[str]], header: Sequence[str]) -> str:
    """Columns padded to their widest cell plus three spaces, as kubectl prints them."""
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "   ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip()
        for r in [header, *rows]
    ]
    return "\n".join(lines) + "\n"


def render_list(
    objects: Sequence[Mapping[str, Any]], output: str | None, now: datetime, *, namespaced: bool
) -> str:
    if output == "json":
        return json.dumps(as_list(objects), indent=4) + "\n"
    if output == "yaml":
        return yaml.safe_dump(as_list(objects), sort_keys=False)
    if output == "name":
        return "".join(f"{KIND}/{o['metadata']['name']}\n" for o in objects)
    wide = output == "wide"
    header = ["NAMESPACE"] if namespaced else []
    header += ["NAME", "PHASE", "PROGRESS", "CURRENT", "NEXT-WINDOW", "AGE"]
    header += ["MESSAGE"] if wide else []
    rows = [row(o, now, namespaced=namespaced, wide=wide) for o in objects]
    return table(rows, header)


def render_one(obj: Mapping[str, Any], output: str | None, now: datetime) -> str:
    """One Maintenance: its row, then (for people) one line per node."""
    if output == "json":
        return json.dumps(obj, indent=4) + "\n"
    if output == "yaml":
        return yaml.safe_dump(dict(obj), sort_keys=False)
    head = render_list([obj], output, now, namespaced=False)
    nodes = (obj.get("status") or {}).get("nodes") or []
    if output == "name" or not nodes:
        return head
    header = ["NODE", "PHASE", "OSDS", "FAILURE-DOMAIN", "EVICTED", "PENDING", "MESSAGE"]
    rows = [
        [
            str(n.get("name", "")),
            str(n.get("phase", "")),
            ",".join(f"osd.{i}" for i in n.get("osds") or []) or "-",
            str(n.get("failureDomain") or "-"),
            str(n.get("podsEvicted", 0)),
            str(n.get("podsPending", 0)),
            str(n.get("message") or ""),
        ]
        for n in nodes
    ]
    return head + "\n" + table(rows, header)


def as_list(objects: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "List", "items": list(objects), "metadata": {}}
