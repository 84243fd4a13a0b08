"""HealthPolicy decisions: rule evaluation, escalation ladders, safety limits, records."""
