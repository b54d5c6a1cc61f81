# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the CMDB modules (cmdb_sync, cmdb_info, cmdb_purge) share: argument specs, library checks."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.cmdb.openstack.plugins.module_utils import catalog
from ansible_collections.cmdb.openstack.plugins.module_utils.cmdb import migrations, store

#: ``types`` accepts plural and singular names and ``all``.
TYPE_CHOICES = catalog.TYPE_CHOICES

CMDB_ARGUMENT_SPEC = dict(cmdb_url=dict(type="str"))


def cmdb_argument_spec(**extra):
    spec = copy.deepcopy(CMDB_ARGUMENT_SPEC)
    spec.update(copy.deepcopy(extra))
    return spec


def check_libraries(module):
    """fail_json with Ansible's standard message when SQLAlchemy or alembic is missing."""
    if not store.HAS_SQLALCHEMY:
        module.fail_json(msg=missing_required_lib("SQLAlchemy"), exception=store.SQLALCHEMY_IMPORT_ERROR)
    if not migrations.HAS_ALEMBIC:
        module.fail_json(msg=missing_required_lib("alembic"), exception=migrations.ALEMBIC_IMPORT_ERROR)


def url_secrets(url):
    """The password inside a database URL (to hide it from the output), as a list."""
    if not url or not store.HAS_SQLALCHEMY:
        return []
    try:
        password = store.sa.engine.make_url(url).password
    except Exception:
        return []
    return [str(password)] if password else []
