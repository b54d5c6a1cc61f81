# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors raised by the shared code; modules turn them into one clear ``fail_json`` message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class CmdbError(Exception):
    """An error a person can act on: ``message`` names what failed and how to fix it."""

    def __init__(self, message, **details):
        super(CmdbError, self).__init__(message)
        self.message = message
        self.details = details


class ConfigurationError(CmdbError):
    """Bad input: an option, a clouds.yaml entry, a database URL."""


class CloudError(CmdbError):
    """A cloud could not be reached, authenticated against, or listed."""


class StoreError(CmdbError):
    """The CMDB database could not be opened, migrated, read or written."""
