"""kopf wiring only: thin handlers that gather a snapshot, ask the domain, execute."""
