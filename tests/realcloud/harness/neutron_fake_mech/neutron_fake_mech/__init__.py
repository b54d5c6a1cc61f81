"""An ML2 mechanism driver for the real-cloud test harness: binds ports with no L2 agent running."""
