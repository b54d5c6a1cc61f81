"""OpenStack API simulator: Keystone, Nova, Neutron, Cinder, Glance and Octavia over real HTTP.

openstacksdk, keystoneauth1 and python-openstackclient talk to it unchanged. See
``simulator/README.md`` for the fixture and command-line API.
"""

from __future__ import annotations

from .cloud import SimCloud
from .faults import KINDS as FAULT_KINDS
from .faults import Fault, Faults
from .server import Simulator
from .store import TYPE_NAMES

__all__ = ["FAULT_KINDS", "TYPE_NAMES", "Fault", "Faults", "SimCloud", "Simulator"]
__version__ = "0.1.0"
