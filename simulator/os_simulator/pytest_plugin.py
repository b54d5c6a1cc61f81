"""pytest fixtures of the simulator (placeholder until the simulator lands)."""
