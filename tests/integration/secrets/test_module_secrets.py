"""Every module, generated from its argument spec: no secret it is given appears anywhere.

The modules are discovered in plugins/modules/ and their argument specs read from the module base
(``SPEC``, module_utils/module.py), so a new module is covered without writing a test. Each secret
slot of a spec gets a distinctive marker value ``S3CR3T-<module>-<slot>-<uuid>``:

* every option marked ``no_log`` (``netbox_token``), and every ``no_log`` sub-option (``auth.password``,
  ``auth.application_credential_secret``, ``auth.token`` of cloud_account);
* the password inside a ``cloud`` dictionary and inside ``auth`` (connection options), which the
  simulator's Keystone checks, so the run proves the secret was really used;
* the password inside every URL option (``cmdb_url`` = a real PostgreSQL URL with a password, trusted
  by the server, ``netbox_url`` and any other ``*_url`` = a closed port: the run fails, the secret
  must still not leak).

The module runs in a real ``ansible-playbook -vvvv``; the markers must appear nowhere in stdout,
stderr, the ANSIBLE_LOG_PATH log, the registered results, the files the run wrote, the CMDB (every
table of the PostgreSQL database) and ``ansible-inventory --list`` of both inventory plugins on that
CMDB. Checked by hand: with the base's URL rule disabled (``is_url_key`` returning False), the
netbox_sync case fails with the cmdb_url password in stdout and the log (issue #18's leak); the
unit test ``test_the_netbox_sync_cmdb_url_leak_is_caught_by_the_url_rule`` keeps that check.
A spec the generator cannot exercise (a required option without a test value, a module
without ``SPEC``) fails the test.
"""

from __future__ import annotations

import importlib
import json
import os
import socket
import subprocess
import uuid

import pytest
from support.paths import COLLECTION_ROOT

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

MODULES_DIR = os.path.join(COLLECTION_ROOT, "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and not name.startswith("_"))

#: Values of required options that are not secrets. A new module with another required option
#: fails below (naming the option) until it is added here.
REQUIRED_VALUES = {
    "name": "secrets-account",
    "older_than": "30d",
    "path": "{out}/report.html",
    # cmdb_apply_event: one notification naming a server the cloud does not have (the API's 404 is
    # the answer; nothing is created)
    "events": [{"region": "RegionOne", "type": "servers", "id": "5e1c2e7a-0000-4000-8000-00000000dead"}],
}


def module_spec(name):
    from ansible_collections.cmdb.openstack.plugins.module_utils.module import module_spec as spec_of

    module = importlib.import_module("ansible_collections.cmdb.openstack.plugins.modules." + name)
    spec = spec_of(module)
    assert spec is not None, "module %s declares no SPEC: every module must use the module base (module.py)" % name
    return spec


def is_url_option(name):
    # the test's own rule (not the base's is_url_key): a broken base rule must not hide its own leak
    return name == "url" or name.endswith("_url")


def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_password(url, password):
    scheme, rest = url.split("://", 1)
    userinfo, host = rest.split("@", 1) if "@" in rest else ("cmdb", rest)
    return "%s://%s:%s@%s" % (scheme, userinfo.split(":", 1)[0], password, host)


class Plan:
    """The tasks of one module: each with the module's arguments, and the secrets it carries."""

    def __init__(self, module, spec, cloud, cmdb_url, out):
        self.module = module
        self.spec = spec
        self.argument_spec = spec.argument_spec()
        self.cloud = cloud
        self.cmdb_url = cmdb_url
        self.out = out
        self.secrets = {}  # slot -> marker
        self.tasks = []  # (key, args, must_succeed)

    def secret(self, slot):
        marker = "S3CR3T-%s-%s-%s" % (self.module, slot.replace(".", "-"), uuid.uuid4().hex[:12])
        self.secrets[slot] = marker
        return marker

    def user(self, slot):
        """A simulator user (admin of the admin's project) whose password is a marker."""
        password = self.secret(slot)
        username = "u-%s" % uuid.uuid4().hex[:8]
        self.cloud.add_user(
            username,
            project=self.cloud.users["admin"]["project"],
            roles=("admin", "member", "reader"),
            password=password,
        )
        return self.cloud.credentials(username)

    def cloud_dict(self, slot):
        entry = {"name": "secrets-%s" % self.module.replace("_", "-"), "auth": self.user(slot)}
        entry["region_name"] = self.cloud.regions[0]
        entry["identity_api_version"] = 3
        return entry

    def base_args(self):
        """Required options, URL options (with a marker password) and no_log options (markers)."""
        args = {}
        for name, option in self.argument_spec.items():
            if name in ("cloud", "auth") and "connection" in self.spec.groups:
                continue  # the connection tasks below
            if is_url_option(name):
                if name == "cmdb_url":
                    args[name] = with_password(self.cmdb_url, self.secret(name))
                else:
                    args[name] = "http://user:%s@127.0.0.1:%d/" % (self.secret(name), closed_port())
            elif option.get("no_log") and option.get("options"):
                subs = [key for key, sub in option["options"].items() if sub.get("no_log")]
                if subs:
                    args[name] = self.sub_secret_dict(name, option, subs[0])
            elif option.get("no_log"):
                assert option.get("type", "str") == "str", "%s: no_log option %s of type %s: teach the test" % (
                    self.module,
                    name,
                    option.get("type"),
                )
                args[name] = self.secret(name)
            elif option.get("required"):
                if name not in REQUIRED_VALUES:
                    pytest.fail(
                        "module %s: required option %r has no test value; add one to REQUIRED_VALUES"
                        % (self.module, name)
                    )
                value = REQUIRED_VALUES[name]
                args[name] = value.format(out=self.out) if isinstance(value, str) else value
        return args

    def sub_secret_dict(self, name, option, sub):
        """A dict option with sub-options (cloud_account's auth): the non-secret keys it knows + one marker."""
        known = dict(self.cloud.credentials("admin"))
        known.pop("password", None)
        value = dict((key, known[key]) for key in option["options"] if key in known and key != sub)
        value[sub] = self.secret("%s.%s" % (name, sub))
        return value

    def build(self):
        base = self.base_args()
        if "connection" in self.spec.groups:
            # cloud: a dictionary whose auth.password is a marker (the simulator checks it)
            self.tasks.append(("cloud", dict(base, cloud=self.cloud_dict("cloud.auth.password")), True))
            # auth: the no_log dictionary alone, its password a marker
            auth = self.user("auth.password")
            self.tasks.append(("auth", dict(base, auth=auth, region_name=self.cloud.regions[0]), True))
            if "regions" in self.argument_spec:
                self.tasks[-1][1]["regions"] = self.tasks[-1][1].pop("region_name")
        else:
            self.tasks.append(("main", base, False))
        # every further no_log sub-option of a dict option: one task each
        for name, option in self.argument_spec.items():
            subs = [key for key, sub in (option.get("options") or {}).items() if sub.get("no_log")]
            for sub in subs[1:]:
                args = dict(base)
                args[name] = self.sub_secret_dict(name, option, sub)
                self.tasks.append(("%s_%s" % (name, sub), args, False))
        assert self.secrets, "module %s: the spec has no secret to exercise" % self.module
        return self


def cmdb_dump(url):
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    try:
        lines = []
        with engine.connect() as connection:
            for table in sa.inspect(connection).get_table_names():
                for row in connection.execute(sa.text('SELECT * FROM "%s"' % table)):
                    lines.append("%s %r" % (table, tuple(row)))
        return "\n".join(lines)
    finally:
        engine.dispose()


def files_text(directory):
    texts = {}
    for root, _dirs, files in os.walk(directory):
        for filename in files:
            path = os.path.join(root, filename)
            with open(path, "rb") as handle:
                texts[path] = handle.read().decode("utf-8", "replace")
    return texts


def leaks(secrets, artefacts):
    """[(slot, artefact name)] for every marker found in an artefact."""
    found = []
    for slot, marker in secrets.items():
        for where, text in artefacts.items():
            if marker in text:
                found.append((slot, where))
    return found


@pytest.fixture
def secrets_cloud(os_simulator):
    return os_simulator.add_cloud("secrets", regions=("RegionOne",), seed=7, servers=2, projects=1)


@pytest.mark.parametrize("module", MODULES)
def test_no_secret_of_the_spec_leaks(module, ansible, secrets_cloud, postgres_url, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    spec = module_spec(module)
    plan = Plan(module, spec, secrets_cloud, postgres_url, str(out)).build()
    log_path = out / "ansible.log"
    # ansible-core 2.21 adds a result's invocation (the module arguments, masked) only when asked:
    # ask, so that the masking is checked on every core version (2.19 and 2.20 always add it).
    env = {"ANSIBLE_LOG_PATH": str(log_path), "HOME": str(out), "ANSIBLE_INJECT_INVOCATION": "true"}

    completed, results = ansible.modules([(key, module, args) for key, args, _must in plan.tasks], env=env, verbosity=4)

    for key, _args, must_succeed in plan.tasks:
        result = results.get(key)
        assert result is not None, "task %s of %s did not run: %s" % (key, module, completed.output[-3000:])
        if must_succeed:
            assert not result.get("failed"), "%s/%s failed: %s" % (module, key, result.get("msg"))
    # Every task's module ran through AnsibleModule: -vvvv printed its (masked) invocation
    assert completed.output.count('"module_args"') >= len(plan.tasks), completed.output[-3000:]

    artefacts = {"stdout": completed.stdout, "stderr": completed.stderr, "results": json.dumps(results)}
    assert log_path.exists(), "ANSIBLE_LOG_PATH was not written"
    if "cmdb" in spec.groups:
        artefacts["cmdb"] = cmdb_dump(postgres_url)
        for plugin in ("cmdb.openstack.inventory", "cmdb.openstack.clouds"):
            config = tmp_path / (
                "secrets.cmdb_openstack.yml" if plugin.endswith("inventory") else "openstack_clouds.yml"
            )
            cmdb_url = with_password(postgres_url, plan.secrets["cmdb_url"])
            config.write_text("plugin: %s\ncmdb_url: %s\n" % (plugin, json.dumps(cmdb_url)))
            listing = out / ("%s.json" % plugin)  # under out/: read with the other files below
            listed = subprocess.run(
                [os.path.join(ansible.bin_dir, "ansible-inventory"), "-i", str(config), "--list", "-vvvv"]
                + ["--output", str(listing)],
                env=ansible.env(env),
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            artefacts["ansible-inventory %s" % plugin] = listed.stdout + listed.stderr
    artefacts.update(files_text(str(out)))
    assert leaks(plan.secrets, artefacts) == []


def test_the_detector_finds_a_printed_secret(ansible, tmp_path):
    """The negative control: a marker that is printed is found (the assertion above can fail)."""
    marker = "S3CR3T-control-%s" % uuid.uuid4().hex
    completed = ansible.playbook(
        json.dumps(
            [{"hosts": "localhost", "gather_facts": False, "tasks": [{"ansible.builtin.debug": {"msg": marker}}]}]
        )
        + "\n",
        "-vvvv",
    )
    assert completed.rc == 0, completed.output
    assert leaks({"control": marker}, {"stdout": completed.stdout}) == [("control", "stdout")]


def test_every_module_is_discovered():
    assert "netbox_sync" in MODULES and "cmdb_sync" in MODULES and "server_info" in MODULES
    assert len(MODULES) == len([name for name in os.listdir(MODULES_DIR) if name.endswith(".py")])
