"""OpenStack API simulator (placeholder until the simulator lands)."""
