"""I/O: Kubernetes, Prometheus, Ceph and notifiers. Retries (tenacity) live here."""
