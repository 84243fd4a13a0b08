"""Ceph client: one interface, librados and CLI backends."""
