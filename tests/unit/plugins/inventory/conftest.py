"""Makes ``inventory_fakes`` importable by the inventory plugin's tests (unit and integration)."""

from __future__ import annotations

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)
