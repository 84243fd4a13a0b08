"""The scale benchmark's table: each figure beside its target (issue 10), MET or MISSED, and where
the API requests and Ceph commands come from."""

from __future__ import annotations

from typing import Any

Key = tuple[str, str, str]  # verb, resource, subresource of apiserver_request_total
EVICTION: Key = ("POST", "pods", "eviction")
TOP = 12


def _operator_requests(phase: dict[Key, float], baseline: dict[Key, float]) -> dict[Key, float]:
    """Requests per minute beyond the baseline, per (verb, resource, subresource)."""
    keys = set(phase) | set(baseline)
    rates = {k: phase.get(k, 0.0) - baseline.get(k, 0.0) for k in keys}
    return {k: v for k, v in rates.items() if v > 0.05}


def _without_watches(rates: dict[Key, float]) -> float:
    return sum(v for k, v in rates.items() if k[0] != "WATCH")


def _verdict(met: bool) -> str:
    return "MET" if met else "MISSED"


def _nth(values: list[float], n: int) -> float | None:
    return values[n - 1] if len(values) >= n else None


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


def _breakdown(title: str, rates: dict[Key, float], objects: int) -> list[str]:
    lines = [f"{title} (requests/min beyond the baseline; per object):"]
    for (verb, resource, sub), rate in sorted(rates.items(), key=lambda item: -item[1])[:TOP]:
        what = f"{verb} {resource or '(non-resource)'}{'/' + sub if sub else ''}"
        lines.append(f"  {what:<44} {rate:9.1f}  {rate / objects:7.3f}")
    return lines


def _ceph(title: str, rates: dict[str, float]) -> list[str]:
    lines = [f"{title}: {sum(rates.values()):.0f} commands/min"]
    for prefix, rate in sorted(rates.items(), key=lambda item: -item[1])[:TOP]:
        if rate > 0:
            lines.append(f"  {prefix:<24} {rate:8.1f}/min")
    return lines


def report(results: dict[str, Any]) -> str:
    objects, base = results["objects"], results["baseline"]
    idle, busy = results["idle"], results["busy"]
    idle_api = _operator_requests(idle["api"], base)
    busy_api = _operator_requests(busy["api"], base)
    idle_per_object = _without_watches(idle_api) / objects
    busy_per_object = _without_watches(busy_api) / objects
    evictions_per_5s = busy_api.get(EVICTION, 0.0) / 12
    first, n = results["first_action"], results["args"]["maintenances"]
    hundredth = _nth(first, n)
    rows = [
        ("Operator CPU, idle", f"{idle['cpu_per_min']:.1f} CPU s/min", "-", ""),
        ("Operator CPU, rolling maintenance", f"{busy['cpu_per_min']:.1f} CPU s/min", "-", ""),
        ("RSS, idle (max sampled)", f"{idle['rss_mib_max']:.0f} MiB", "<= 150 MB", ""),
        (
            "RSS, rolling maintenance (peak, VmHWM)",
            f"{busy['hwm_mib']:.0f} MiB",
            "<= 150 MB",
            _verdict(busy["hwm_mib"] * 1.048576 <= 150),
        ),
        (
            "API requests/min per object, idle, no watches",
            f"{idle_per_object:.2f}",
            "<= 1",
            _verdict(idle_per_object <= 1),
        ),
        ("API requests/min per object, rolling", f"{busy_per_object:.2f}", "-", ""),
        ("Ceph commands/min, idle", f"{sum(idle['ceph'].values()):.0f}", "-", ""),
        ("Ceph commands/min, rolling", f"{sum(busy['ceph'].values()):.0f}", "-", ""),
        (
            "Blocked drain: reconciles (evictions) per 5 s",
            f"{evictions_per_5s:.2f}",
            "<= 1",
            _verdict(evictions_per_5s <= 1),
        ),
        (
            f"Window opens -> first action of the {n}th Maintenance",
            _seconds(hundredth),
            "<= 2 s",
            _verdict(hundredth is not None and hundredth <= 2),
        ),
    ]
    rev = results["args"].get("code")
    code = f"the operator of {rev}" if rev else "this checkout"
    width = max(len(r[0]) for r in rows)
    lines = [f"{'What':<{width}}  {'Figure':>16}  {'Target':>10}  Verdict"]
    lines += [f"{a:<{width}}  {b:>16}  {c:>10}  {d}" for a, b, c, d in rows]
    lines += [
        "",
        f"objects: {objects}; setup {results['setup_seconds']:.0f} s; every object had a status "
        + (
            f"{results['settle_seconds']:.0f} s after the operator started"
            if results["settle_seconds"] is not None
            else f"NOT within {results['args']['settle_seconds']:.0f} s"
        ),
        f"with a status (Maintenances, HealthPolicies): after settling "
        f"{results['with_status_after_settle']}, at the end {results['with_status_at_end']}",
        f"operator code: {code}",
        f"baseline (no operator): {sum(base.values()):.1f} requests/min",
        f"first action (Lease taken) after the window opened: 1st {_seconds(_nth(first, 1))}, "
        f"{n // 2}th {_seconds(_nth(first, n // 2))}, {n}th {_seconds(hundredth)} "
        f"({len(first)} of {n} acted; the benchmark's watches reopened "
        f"{results.get('watch_reconnects', 0)} times)",
        f"the node whose drain a budget blocks, at the end: {results.get('blocked_node', '?')}",
        "first status change (a node left Pending): "
        + ", ".join(f"{k}th {_seconds(_nth(results['first_status'], k))}" for k in (1, n // 2, n)),
        f"reconciles/min (controller_runtime_reconcile_total): idle "
        f"{idle['reconciles_per_min']:.0f}, rolling {busy['reconciles_per_min']:.0f}",
        f"Ceph commands/min by the operator's own metric: idle {idle['ceph_metric_per_min']:.0f}, "
        f"rolling {busy['ceph_metric_per_min']:.0f}",
        f"Maintenance nodes by phase at the end: {results['phases']}",
        f"commands the synthetic Ceph could not answer: {results['ceph_unknown'] or 'none'}",
        "",
        *_breakdown("API, idle", idle_api, objects),
        *_breakdown("API, rolling maintenance", busy_api, objects),
        "",
        *_ceph("Ceph, idle", idle["ceph"]),
        *_ceph("Ceph, rolling maintenance", busy["ceph"]),
    ]
    return "\n".join(lines)
