"""Caretaker: a Kubernetes operator that keeps Ceph healthy through maintenance and failures."""

__version__ = "0.1.0"
