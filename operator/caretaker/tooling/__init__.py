"""Offline and read-only tools behind `caretaker validate` and `caretaker plan`."""
