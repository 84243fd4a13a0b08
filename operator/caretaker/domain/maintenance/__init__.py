"""Maintenance decisions: spec, windows of work per node, the per-node state machine."""
