# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: deprecated_name
short_description: Pass a value through and print a deprecation warning naming its new variable
version_added: 0.2.0
description:
  - Playbooks and roles of the collection keep an old variable name as a deprecated alias of the new
    one; this filter returns the old variable's value unchanged and prints a deprecation warning that
    names the new variable. The old names are removed in version 2.0.0 of the collection.
options:
  _input:
    description: The value of the old variable.
    type: raw
    required: true
  old:
    description: The old variable name.
    type: str
    required: true
  new:
    description: The variable to use instead.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: Accept -e clouds=... as a deprecated alias of -e accounts=...
  ansible.builtin.set_fact:
    selected_accounts: >-
      {{ accounts if accounts is defined else (clouds | cmdb.openstack.deprecated_name('clouds', 'accounts')) }}
  when: accounts is defined or clouds is defined
"""

RETURN = r"""
_value:
  description: The input, unchanged.
  type: raw
"""

from ansible.utils.display import Display


def deprecated_name(value, old, new):
    Display().deprecated(
        "the variable %s is deprecated, use %s (same meaning: registered account names)" % (old, new)
        if new == "accounts" or new.endswith("_accounts")
        else "the variable %s is deprecated, use %s" % (old, new),
        version="2.0.0",
        collection_name="cmdb.openstack",
    )
    return value


class FilterModule(object):
    def filters(self):
        return {"deprecated_name": deprecated_name}
