"""One simulated cloud: Keystone (projects, users, roles, tokens, application credentials, the
service catalog), its regions' data and its faults."""

from __future__ import annotations

import copy
import datetime
import gc
import hashlib
import os
import secrets
import threading
import time
from urllib.parse import quote

from . import generator, util
from .faults import Faults
from .store import CloudStore

# service type -> (service name, path of the endpoint below the region/interface prefix)
SERVICES = (
    ("compute", "nova", "compute/v2.1"),
    ("network", "neutron", "network"),
    ("block-storage", "cinder", "volume/v3"),
    ("image", "glance", "image"),
    ("load-balancer", "octavia", "load-balancer"),
)
SERVICE_SEGMENTS = {"compute": "compute", "network": "network", "volume": "block-storage"}
SERVICE_SEGMENTS.update({"image": "image", "load-balancer": "load-balancer"})
INTERFACES = ("public", "internal")
SERVICE_TYPES = tuple(s[0] for s in SERVICES)


def _stable_hex(*parts):
    return hashlib.sha256("/".join(str(p) for p in parts).encode()).hexdigest()[:32]


class Token:
    __slots__ = ("app_cred", "catalog", "expires", "id", "issued", "methods", "project", "roles", "user")

    def __init__(self, token_id, user, project, roles, issued, expires, methods, app_cred, catalog):
        self.id = token_id
        self.user = user
        self.project = project
        self.roles = roles
        self.issued = issued
        self.expires = expires
        self.methods = methods
        self.app_cred = app_cred
        self.catalog = catalog

    @property
    def is_admin(self):
        return "admin" in self.roles

    @property
    def project_id(self):
        return self.project["id"]


class SimCloud:
    """A cloud served by a ``Simulator``. See README.md for the API."""

    def __init__(
        self,
        sim,
        name,
        regions=("RegionOne",),
        seed=0,
        servers=12,
        projects=2,
        max_page_size=1000,
        token_lifetime=3600,
        **counts,
    ):
        if not regions:
            raise ValueError("a cloud needs at least one region")
        self.sim = sim
        self.name = name
        self.regions = tuple(regions)
        self.seed = seed
        self.n_servers = int(servers)
        self.n_projects = max(1, int(projects))
        self.max_page_size = int(max_page_size)
        self.token_lifetime = float(token_lifetime)
        self.counts = {k: int(v) for k, v in counts.items()}
        self.faults = Faults()
        self.tokens = {}
        self.app_creds = {}
        self.lock = threading.Lock()
        self.request_log = []
        self.request_log_limit = 20000
        self.admin_project, self.projects, self.users = generator.identity_data(name, seed, self.n_projects)
        self.store = CloudStore(name, self.regions)
        started = time.monotonic()
        gc_was_enabled = gc.isenabled()
        gc.disable()  # millions of new dicts: the cyclic GC would make generation quadratic
        try:
            self._generate()
        finally:
            if gc_was_enabled:
                gc.enable()
            if self.n_servers * len(self.regions) >= 5000:
                gc.freeze()  # big and long-lived: keep the generated data out of later collections
        self.generation_seconds = time.monotonic() - started

    def _generate(self):
        for index, region in enumerate(self.regions):
            gen = generator.RegionGenerator(
                self.name,
                region,
                index,
                self.seed,
                self.admin_project,
                self.projects,
                self.users,
                self.n_servers,
                self.counts,
            )
            data = gen.build()
            region_store = self.store.region(region)
            for type_name, items in data.items():
                region_store.bulk_load(type_name, items)

    # -- URLs --
    @property
    def base_url(self):
        return "%s/%s" % (self.sim.url, quote(self.name, safe=""))

    @property
    def auth_url(self):
        return "%s/identity/v3" % self.base_url

    def endpoint(self, service_type, region=None, interface="public"):
        region = region or self.regions[0]
        for stype, _name, path in SERVICES:
            if stype == service_type:
                return "%s/%s/%s/%s" % (self.base_url, quote(region, safe=""), interface, path)
        if service_type == "identity":
            return self.auth_url
        raise KeyError("unknown service type %r" % service_type)

    # -- identity --
    def all_projects(self):
        return [self.admin_project, *self.projects]

    def project_by(self, project_id=None, name=None):
        for project in self.all_projects():
            if project_id is not None and project["id"] == project_id:
                return project
            if project_id is None and name is not None and project["name"] == name:
                return project
        return None

    def user_by(self, user_id=None, name=None):
        for user in self.users.values():
            if user_id is not None and user["id"] == user_id:
                return user
            if user_id is None and name is not None and user["name"] == name:
                return user
        return None

    def add_user(self, name, project=None, roles=("reader", "member"), password=None, denied_services=()):
        """Add a user with ``roles`` on ``project`` (a project name or id; default: the first project)."""
        target = self.project_by(project_id=project) or self.project_by(name=project) if project else None
        target = target or (self.projects[0] if self.projects else self.admin_project)
        user = {
            "id": _stable_hex(self.name, "user", name),
            "name": name,
            "password": password or "%s-%s" % (name, secrets.token_hex(5)),
            "domain_id": "default",
            "project": target["id"],
            "roles": list(roles),
            "denied_services": list(denied_services),
        }
        self.users[name] = user
        return user

    def password(self, user="admin"):
        return self.users[user]["password"]

    def credentials(self, user="admin", project=None):
        """Keyword arguments for ``openstack.connect`` (password auth, project scoped)."""
        u = self.users[user]
        project_obj = self.project_by(name=project) if project else self.project_by(project_id=u["project"])
        return {
            "auth_url": self.auth_url,
            "username": u["name"],
            "password": u["password"],
            "project_name": project_obj["name"],
            "user_domain_name": "Default",
            "project_domain_name": "Default",
        }

    def application_credential(self, user="admin", name=None, expires_in=None):
        """Create an application credential for ``user``; returns {id, name, secret}."""
        u = self.users[user]
        cred = {
            "id": util.new_hex(),
            "name": name or "%s-appcred-%d" % (user, len(self.app_creds) + 1),
            "secret": secrets.token_urlsafe(24),
            "user": u["name"],
            "project": u["project"],
            "roles": list(u["roles"]),
            "expires_at": (time.time() + expires_in) if expires_in else None,
        }
        with self.lock:
            self.app_creds[cred["id"]] = cred
        return {"id": cred["id"], "name": cred["name"], "secret": cred["secret"]}

    def app_credential_connect_args(self, user="admin"):
        cred = self.application_credential(user)
        return {
            "auth_type": "v3applicationcredential",
            "auth_url": self.auth_url,
            "application_credential_id": cred["id"],
            "application_credential_secret": cred["secret"],
        }

    def clouds_yaml_entry(self, user="admin", regions=None, interface=None, application_credential=False, **extra):
        """A dict for one entry under ``clouds:`` in clouds.yaml."""
        if application_credential:
            cred = self.application_credential(user)
            entry = {
                "auth_type": "v3applicationcredential",
                "auth": {
                    "auth_url": self.auth_url,
                    "application_credential_id": cred["id"],
                    "application_credential_secret": cred["secret"],
                },
            }
        else:
            creds = self.credentials(user)
            entry = {"auth": dict(creds)}
        chosen = list(regions) if regions is not None else list(self.regions)
        if len(chosen) == 1:
            entry["region_name"] = chosen[0]
        else:
            entry["regions"] = chosen
        if interface:
            entry["interface"] = interface
        entry["identity_api_version"] = 3
        entry.update(extra)
        return entry

    def write_clouds_yaml(self, path, user="admin", name=None, regions=None, **kwargs):
        entry = self.clouds_yaml_entry(user=user, regions=regions, **kwargs)
        return self.sim.write_clouds_yaml(path, {name or self.name: entry})

    def env(self, user="admin", region=None):
        """OS_* environment variables for the openstack CLI."""
        creds = self.credentials(user)
        return {
            "OS_AUTH_URL": creds["auth_url"],
            "OS_USERNAME": creds["username"],
            "OS_PASSWORD": creds["password"],
            "OS_PROJECT_NAME": creds["project_name"],
            "OS_USER_DOMAIN_NAME": "Default",
            "OS_PROJECT_DOMAIN_NAME": "Default",
            "OS_REGION_NAME": region or self.regions[0],
            "OS_IDENTITY_API_VERSION": "3",
            "OS_INTERFACE": "public",
        }

    # -- tokens --
    def issue_token(self, user, project, methods, app_cred=None, roles=None):
        now = util.now()
        lifetime = self.token_lifetime
        if app_cred and app_cred.get("expires_at"):
            lifetime = min(lifetime, max(0.0, app_cred["expires_at"] - time.time()))
        expires = time.time() + lifetime
        token_id = "gAAAAA" + secrets.token_urlsafe(90)
        token = Token(
            token_id,
            user,
            project,
            list(roles or user["roles"]),
            now,
            expires,
            methods,
            app_cred,
            self.catalog(),
        )
        with self.lock:
            if len(self.tokens) > 50000:
                self.tokens = {k: t for k, t in self.tokens.items() if t.expires > time.time()}
            self.tokens[token_id] = token
        return token

    def validate(self, token_id):
        token = self.tokens.get(token_id) if token_id else None
        if token is None or token.expires <= time.time():
            return None
        return token

    def revoke(self, token_id):
        with self.lock:
            self.tokens.pop(token_id, None)

    def expire_all_tokens(self):
        with self.lock:
            self.tokens = {}

    def token_body(self, token):
        user, project = token.user, token.project
        role_ids = {"reader": "7b0e70677b6e464a86f0c297edd2593a", "admin": "51db2d54473844d68a7eaf24fa97976d"}
        role_ids.update({"manager": "eb5ce13e19df4d52a1065ae2918d56db", "member": "167478971fee40de8c2d35c5959a3e8f"})
        body = {
            "audit_ids": [util.new_hex()[:22]],
            "catalog": token.catalog,
            "expires_at": util.keystone_time(datetime.datetime.fromtimestamp(token.expires, util.UTC)),
            "is_domain": False,
            "issued_at": util.keystone_time(token.issued),
            "methods": list(token.methods),
            "project": {"domain": {"id": "default", "name": "Default"}, "id": project["id"], "name": project["name"]},
            "roles": [{"id": role_ids.get(r) or _stable_hex("role", r), "name": r} for r in token.roles],
            "user": {
                "domain": {"id": "default", "name": "Default"},
                "id": user["id"],
                "name": user["name"],
                "password_expires_at": None,
            },
        }
        if token.app_cred:
            body["application_credential"] = {
                "id": token.app_cred["id"],
                "name": token.app_cred["name"],
                "restricted": True,
            }
        return {"token": body}

    def catalog(self):
        """The service catalog as tokens issued now carry it (catalog faults applied)."""
        entries = []
        for stype, sname, _path in SERVICES:
            endpoints = []
            for region in self.regions:
                for interface in INTERFACES:
                    fault = self.faults.catalog_fault(stype, region, interface)
                    if fault == "missing_service":
                        continue
                    url = self.endpoint(stype, region, interface)
                    if fault == "refuse":
                        url = url.replace(self.sim.url, self.sim.dead_url, 1)
                    endpoints.append(
                        {
                            "id": _stable_hex(self.name, stype, region, interface),
                            "interface": interface,
                            "region": region,
                            "region_id": region,
                            "url": url,
                        }
                    )
            if endpoints:
                entries.append(
                    {"endpoints": endpoints, "id": _stable_hex(self.name, stype), "name": sname, "type": stype}
                )
        identity = []
        for region in self.regions:
            for interface in INTERFACES:
                if self.faults.catalog_fault("identity", region, interface) == "missing_service":
                    continue
                identity.append(
                    {
                        "id": _stable_hex(self.name, "identity", region, interface),
                        "interface": interface,
                        "region": region,
                        "region_id": region,
                        "url": self.auth_url,
                    }
                )
        entries.append(
            {"endpoints": identity, "id": _stable_hex(self.name, "identity"), "name": "keystone", "type": "identity"}
        )
        return entries

    # -- settings and bookkeeping --
    def set(self, max_page_size=None, token_lifetime=None):
        if max_page_size is not None:
            self.max_page_size = int(max_page_size)
            for region in self.regions:
                for table in self.store.region(region).tables.values():
                    table.touch()
        if token_lifetime is not None:
            self.token_lifetime = float(token_lifetime)

    def log_request(self, entry):
        log = self.request_log
        log.append(entry)
        if len(log) > self.request_log_limit:
            del log[: len(log) // 2]

    def requests(self, service=None, path=None, method=None):
        """Requests served so far: dicts (method, service, region, interface, path, query, status, user)."""
        out = []
        for entry in list(self.request_log):
            if service and entry["service"] != service:
                continue
            if path and not (entry["path"] or "").startswith(path):
                continue
            if method and entry["method"] != method:
                continue
            out.append(copy.copy(entry))
        return out

    def clear_requests(self):
        self.request_log = []

    def describe(self, with_secrets=True):
        return {
            "name": self.name,
            "auth_url": self.auth_url,
            "regions": list(self.regions),
            "seed": self.seed,
            "servers": self.n_servers,
            "projects": [p["name"] for p in self.projects],
            "max_page_size": self.max_page_size,
            "token_lifetime": self.token_lifetime,
            "users": {
                name: {
                    "project": (self.project_by(project_id=u["project"]) or {}).get("name"),
                    "roles": u["roles"],
                    "denied_services": u["denied_services"],
                    **({"password": u["password"]} if with_secrets else {}),
                }
                for name, u in self.users.items()
            },
            "counts": {region: self.store.counts(region) for region in self.regions},
        }


def default_clouds_yaml_path():
    return os.path.join(os.getcwd(), "clouds.yaml")
