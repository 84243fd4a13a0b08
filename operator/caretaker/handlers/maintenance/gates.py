"""PromQL gates: a gate holds when its query returns no series (an alert that is not firing)."""

from __future__ import annotations

from collections.abc import Sequence

from caretaker.domain.maintenance.spec import PromqlGate
from caretaker.domain.maintenance.world import GateResult
from caretaker.handlers.services import Services


def evaluate_gates(services: Services, gates: Sequence[PromqlGate]) -> tuple[GateResult, ...]:
    """One query per gate; an unreachable Prometheus or a bad query means the gate does not hold."""
    client = services.prometheus
    if client is None:
        return tuple(
            GateResult(g.name, False, "no Prometheus configured (--prometheus-url)") for g in gates
        )
    results = []
    for gate in gates:
        try:
            samples = client.query(gate.expr)
        except Exception as error:  # noqa: BLE001 - any failure means "unknown", never "holds"
            results.append(GateResult(gate.name, False, f"cannot evaluate: {error}"))
            continue
        if samples:
            shown = ", ".join(f"{dict(s.labels)}={s.value:g}" for s in samples[:3])
            results.append(GateResult(gate.name, False, f"{len(samples)} series: {shown}"))
        else:
            results.append(GateResult(gate.name, True, "no series"))
    return tuple(results)
