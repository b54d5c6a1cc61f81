# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    # The connection options shared by every module that talks to a cloud.
    DOCUMENTATION = r"""
options:
  cloud:
    description:
      - The cloud to connect to, either the name of a cloud in C(clouds.yaml) or a dictionary with a
        complete cloud configuration (the same keys as a C(clouds.yaml) entry, for example C(auth),
        C(auth_type), C(region_name) or C(regions), C(interface), C(verify)).
      - A name is looked up like openstacksdk does, in C(OS_CLIENT_CONFIG_FILE), C(./clouds.yaml),
        C(~/.config/openstack/clouds.yaml) and C(/etc/openstack/clouds.yaml); secrets may live in a
        C(secure.yaml) next to it.
      - When neither O(cloud) nor O(auth) is given, C(OS_CLOUD) names the cloud, or the C(OS_*)
        environment variables (C(OS_AUTH_URL), C(OS_USERNAME), C(OS_PASSWORD), ...) describe it.
      - Passwords and application credential secrets inside a dictionary are hidden from the output
        and the logs, like O(auth).
      - A dictionary may carry a C(name) key, used as the cloud name in the records; otherwise the
        host name of the auth URL is used.
    type: raw
  auth:
    description:
      - Authentication parameters for O(auth_type), for example C(auth_url), C(username),
        C(password), C(project_name) or C(project_id), C(user_domain_name), C(project_domain_name);
        or C(auth_url), C(application_credential_id) and C(application_credential_secret) with
        O(auth_type=v3applicationcredential).
      - Merged over the authentication of O(cloud) when both are given.
      - Every value of this dictionary is hidden from the output (no_log), so prefer O(cloud) when
        the user or project names must stay readable in the results.
    type: dict
  auth_type:
    description:
      - The keystoneauth plugin, for example C(password) (the default of openstacksdk),
        C(v3applicationcredential) or C(token).
    type: str
  interface:
    description:
      - The endpoint interface of the service catalog to use.
      - Defaults to the cloud's configuration, or C(public).
    type: str
    choices: [public, internal, admin]
    aliases: [endpoint_type]
  validate_certs:
    description:
      - Whether to verify the TLS certificates of the cloud's endpoints.
      - Defaults to the cloud's configuration (C(verify)), or C(true).
    type: bool
    aliases: [verify]
  ca_cert:
    description:
      - A CA bundle file used to verify the TLS certificates of the cloud's endpoints.
    type: path
    aliases: [cacert]
  api_timeout:
    description:
      - Timeout of one HTTP request to the cloud, in seconds, also during authentication (how long
        to wait for the connection and then for each answer).
      - Defaults to the cloud's configuration (C(api_timeout) in C(clouds.yaml)), or 120 seconds for
        an answer (and O(connect_timeout) for the connection).
    type: float
  connect_timeout:
    description:
      - How long to wait for a connection to an endpoint of the cloud (TCP and TLS handshake), in
        seconds.
      - Defaults to the cloud's configuration (C(connect_timeout) in C(clouds.yaml)), or 15 seconds
        (O(api_timeout) when it is shorter).
    type: float
  deadline:
    description:
      - The longest a run may talk to the cloud, counted from the start of authentication, in
        seconds or as a duration such as C(30m) or C(1h30m).
      - After it, no request is sent and a request still waiting is cut off; listings not finished
        by then are reported as failed (status C(error), with a message naming the endpoint), never
        as empty, so nothing is marked deleted.
      - Defaults to the cloud's configuration (C(deadline) in C(clouds.yaml)), or one hour.
    type: raw
notes:
  - Requires the openstacksdk Python library (4.x) on the host that runs the module.
requirements:
  - python >= 3.8
  - openstacksdk >= 4.0
"""

    # The region option of the *_info modules (the name openstack.cloud uses).
    REGION_NAME = r"""
options:
  region_name:
    description:
      - The regions to gather, one name or a list.
      - C(all) means every region of the service catalog.
      - When not given, the regions of the cloud's configuration (C(regions) or C(region_name) in
        C(clouds.yaml), C(OS_REGION_NAME)) are used, and when the configuration names none, every
        region of the service catalog.
      - A region that is not in the service catalog is an error that lists the regions available.
    type: list
    elements: str
"""

    # The region option of cmdb_sync and cloud_permissions_info (region_name is a deprecated alias).
    REGIONS = r"""
options:
  regions:
    description:
      - The regions to use, a list of names (they must be in the service catalog; a region that is
        not is an error that lists the regions available).
      - When not given, the regions of the account (with O(account)), else of the cloud's
        configuration (C(regions) or C(region_name) in C(clouds.yaml), C(OS_REGION_NAME)), else
        every region of the service catalog.
      - The alias C(region_name) (the name of the C(*_info) modules) is deprecated and will be
        removed in version 2.0.0 of this collection; one name per idea, C(regions) is a list.
    type: list
    elements: str
    aliases: [region_name]
"""

    # The options and attributes every *_info module shares.
    INFO = r"""
options:
  all_projects:
    description:
      - List the resources of every project the credentials may see (C(all_tenants) for Nova and
        Cinder, the default for admins in Neutron and Octavia).
      - Non-admin users get C(forbidden) for Nova and Cinder with V(true); set V(false) for them.
      - With V(false), Neutron and Octavia listings are filtered on the project of the token.
    type: bool
    default: true
  project_id:
    description:
      - Only list the resources of this project (the API's own project filter).
    type: str
  filters:
    description:
      - Query parameters passed to the API as server-side filters, for example
        C(status=ACTIVE) given as a dictionary with the key C(status) and the value C(ACTIVE).
      - For C(resource_info), either one dictionary for every type, or a dictionary whose keys are
        type names and whose values are the filters of that type (see the examples).
      - A filter the API does not know is reported by the API (usually HTTP 400, scope C(error)).
    type: dict
  strict:
    description:
      - Stop at the first listing (a region and type) that is not complete, cancelling the others.
    type: bool
    default: false
  fail_on_listing_errors:
    description:
      - Fail when any listing (a region and type) is not complete (C(forbidden), C(auth_failed),
        C(error)); the results of the listings that succeeded are still returned with the
        failure, and each listing's status is in RV(scopes). A failed listing never looks like an
        empty one.
      - A service that is not in the catalog (C(not_in_catalog)) is a warning, not a failure.
      - With V(false), failed listings are only warnings (the result looks successful).
    type: bool
    default: true
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: none
  platform:
    description: Target OS/families that can be operated against.
    support: N/A
    platforms: all
  action_group:
    description: Use C(group/cmdb.openstack.openstack) in C(module_defaults) to set the connection options once.
    support: full
    membership:
      - cmdb.openstack.openstack
"""
