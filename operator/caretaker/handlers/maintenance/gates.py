"""PromQL gates, asked the way every feature asks Prometheus (``caretaker.handlers.promql``);
whether a gate holds is the domain's ``promql_gate``."""

from __future__ import annotations

from collections.abc import Sequence

from caretaker.domain.maintenance.gates import promql_gate
from caretaker.domain.maintenance.spec import PromqlGate
from caretaker.domain.maintenance.world import GateResult
from caretaker.handlers.promql.query import ask
from caretaker.handlers.services import Services


def evaluate_gates(services: Services, gates: Sequence[PromqlGate]) -> tuple[GateResult, ...]:
    """One query per gate; without a Prometheus no gate holds."""
    client = services.prometheus
    if client is None:
        return tuple(
            GateResult(g.name, False, "no Prometheus configured (--prometheus-url)") for g in gates
        )
    return tuple(promql_gate(gate.name, ask(client, gate.expr)) for gate in gates)
