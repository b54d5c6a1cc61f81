"""Binds every port to the first segment offered, as an OVS port, and marks it ACTIVE.

There is no data plane in the harness (Nova's fake virt driver plugs nothing), so no agent
could ever report the port: without this driver every port binding fails and Nova puts the
server in ERROR. Only for tests: it tells Neutron a port is wired when nothing is.
"""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class FakeBindingMechanismDriver(api.MechanismDriver):
    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True, portbindings.OVS_HYBRID_PLUG: False},
                status=constants.PORT_STATUS_ACTIVE,
            )
            return
