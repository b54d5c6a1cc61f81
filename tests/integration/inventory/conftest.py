"""Makes ``inventory_fakes`` (tests/unit/plugins/inventory) importable in the integration tests."""

from __future__ import annotations

import os
import sys

FAKES = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "unit", "plugins", "inventory"
)
if FAKES not in sys.path:
    sys.path.insert(0, FAKES)
