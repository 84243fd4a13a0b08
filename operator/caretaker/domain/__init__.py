"""Pure decisions: given a snapshot of the world, what is the next step. No I/O."""
