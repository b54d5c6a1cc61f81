# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""netbox_sync: the CMDB's servers into NetBox, in parts.

``model`` (kinds, tag, custom fields, pure helpers) <- ``client`` (REST through pynetbox's public API),
``desired`` (what NetBox should hold, read through ``cmdb/netbox_view.py``), ``reconcile`` (one rule for VMs,
interfaces, IP addresses and disks) <- ``runner`` (the module's run). Nothing outside this package imports
anything but ``runner`` and ``client.missing_libraries``.
"""
