"""OpenStack notifications -> ansible-rulebook -> cmdb_apply_event -> the CMDB, on the real services.

The real cloud runs with notifications on (the harness's default, CMDB_REALCLOUD_NOTIFICATIONS);
ansible-rulebook 1.3.2 (its own venv, tests/support/eda.py) runs the collection's rulebook
extensions/eda/rulebooks/cmdb_notifications.yml with the event source cmdb.openstack.notifications
on a named durable queue. A spy (its own queue on the same exchanges) records when each
notification arrived, so that the delays are measured from the first notification naming an item.

Delays (issue #23's targets): a created server in the CMDB within 3 s of the first notification
naming it and ACTIVE within 3 s of instance.create.end; a deleted server tombstoned within 2 s of
instance.delete.end. Each rulebook action starts ansible-playbook and the module (imports,
a token, the GET): about 2-2.5 s of CPU on this 2-core machine, which also runs every service of
the real cloud. The targets are asserted times CMDB_EVENTS_DELAY_FACTOR (default 2, a margin for a
loaded machine; 1 holds the issue's targets exactly, as the runs in docs/bench/results.md did).
Every measured delay is printed and written to $CMDB_EVENTS_DELAYS (JSON) when set.

Each time the source binds its queue it asks for a catch-up sync (cmdb_sync of the account): the
tests wait for it to finish before they measure, and the tests that prove the durable queue turn
it off (cmdb_notification_catch_up) and check that an event run, not a sync, wrote the change.
"""

from __future__ import annotations

import datetime
import json
import os
import sqlite3
import subprocess
import time
import uuid

import pytest
from support import eda

FACTOR = float(os.environ.get("CMDB_EVENTS_DELAY_FACTOR", "2") or 2)
ACCOUNT = "rc-events"
DELAYS = {}


def _record(name, seconds):
    DELAYS[name] = round(seconds, 3)
    print("delay %s: %.3f s" % (name, seconds))
    target = os.environ.get("CMDB_EVENTS_DELAYS")
    if target:
        with open(target, "w") as handle:
            json.dump(DELAYS, handle, indent=1, sort_keys=True)


class Cmdb:
    def __init__(self, path):
        self.path = path

    def _query(self, sql, args):
        db = sqlite3.connect(self.path, timeout=30)
        try:
            return db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:
            return []  # not created yet
        finally:
            db.close()

    def row(self, rtype, rid):
        rows = self._query(
            "select name, status, deleted_at from resources where cloud = ? and type = ? and id = ?",
            (ACCOUNT, rtype, rid),
        )
        return rows[0] if rows else None

    def writers(self, rtype, rid):
        """(action, the mode of the run that wrote it: event, full or incremental) per change row."""
        return self._query(
            "select c.action, r.mode from changes c left join sync_runs r on r.id = c.sync_run_id"
            " where c.cloud = ? and c.type = ? and c.resource_id = ? order by c.id",
            (ACCOUNT, rtype, rid),
        )

    def wait_catch_up(self, since, timeout=120):
        """Wait until the catch-up sync requested at or after ``since`` (epoch seconds) finished every type."""
        from ansible_collections.cmdb.openstack.plugins.module_utils.catalog import RESOURCE_TYPE_NAMES

        started = datetime.datetime.fromtimestamp(since, datetime.timezone.utc).replace(tzinfo=None)
        deadline = time.monotonic() + timeout
        rows = []
        while time.monotonic() < deadline:
            rows = self._query(
                "select type, finished_at from sync_runs where cloud = ? and mode != 'event' and started_at >= ?",
                (ACCOUNT, started.isoformat(" ")),
            )
            if rows and all(finished for _type, finished in rows) and len(rows) >= len(RESOURCE_TYPE_NAMES):
                return rows
            time.sleep(0.1)
        raise AssertionError("no finished catch-up sync since %s within %ss: %r" % (started, timeout, rows))

    def changes(self, rtype, rid):
        return [
            (action, json.loads(diff) if diff else None)
            for action, diff in self._query(
                "select action, diff from changes where cloud = ? and type = ? and resource_id = ? order by id",
                (ACCOUNT, rtype, rid),
            )
        ]

    def wait(self, rtype, rid, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        row = None
        while time.monotonic() < deadline:
            row = self.row(rtype, rid)
            if predicate(row):
                return time.time(), row
            time.sleep(0.05)
        raise AssertionError("%s %s: %s not seen within %ss (last row %r)" % (rtype, rid, what, timeout, row))


def _mq_url(realcloud):
    from realcloud.harness import config as harness_config

    layout = harness_config.Layout(realcloud.state_dir)
    secrets = harness_config.load_secrets(layout)
    return "amqp://%s:%s@127.0.0.1:5672/%s" % (harness_config.MQ_USER, secrets["mq"], harness_config.MQ_VHOST)


def _notifications_on(realcloud):
    path = os.path.join(realcloud.state_dir, "etc", "nova", "nova.conf")
    with open(path) as handle:
        return "driver = messagingv2" in handle.read()


@pytest.fixture(scope="module")
def events_env(realcloud, tmp_path_factory):
    realcloud.require_seed()
    realcloud.require_writable()
    if not _notifications_on(realcloud):
        pytest.fail(
            "the running real cloud has notifications off: restart it with notifications on "
            "(bash scripts/realcloud.sh down; bash scripts/realcloud.sh up)",
            pytrace=False,
        )
    eda.ensure_venv()
    work = tmp_path_factory.mktemp("events")
    db = str(work / "cmdb.sqlite")
    url = "sqlite:///%s" % db
    env = dict(realcloud.env)
    env["CMDB_URL"] = url
    # the account the events are applied under (clouds.yaml entry of the admin)
    from support.ansible import AnsibleRunner

    runner = AnsibleRunner(work)
    registered = runner.module(
        "cloud_account", {"name": ACCOUNT, "cloud": realcloud.admin_cloud, "cmdb_url": url}, env=env
    )
    assert registered.rc == 0, registered.output
    mq = _mq_url(realcloud)
    queue = "cmdb-events-test-%s" % uuid.uuid4().hex[:8]
    spy = eda.Spy(mq)
    rulebook = eda.Rulebook(
        work,
        {
            "cmdb_url": url,
            "cmdb_notification_clouds": [
                {
                    "cloud": ACCOUNT,
                    "region": "RegionOne",
                    "url": mq.replace("amqp://", "rabbit://", 1),
                    "queue": queue,
                }
            ],
            "cmdb_notification_batch_window": 0.1,
        },
        env=env,
    )
    cmdb = Cmdb(db)
    started = time.time()
    rulebook.start()
    try:
        cmdb.wait_catch_up(started)  # the first bind's catch-up sync: not part of any measured delay
        yield {
            "rulebook": rulebook,
            "spy": spy,
            "cmdb": cmdb,
            "conn": realcloud.connect(),
            "seed": realcloud.seed,
            "queue": queue,
        }
    finally:
        rulebook.stop()
        spy.stop()
        eda.delete_queue(mq, queue)


def _server(env, name):
    seed = env["seed"]
    return env["conn"].compute.create_server(
        name=name,
        image_id=seed["images"]["public"]["id"],
        flavor_id=seed["flavors"]["m1.tiny"]["id"],
        networks=[{"uuid": seed["projects"]["alpha"]["network"]["id"]}],
    )


def test_server_lifecycle_and_hostile_name(events_env, tmp_path):
    """Created: in the CMDB within 3 s of its first notification, ACTIVE when the build ends;
    deleted: tombstoned within 2 s of instance.delete.end. Its name is a template that would create
    a file if anything templated it: the file stays absent and the CMDB holds the name verbatim."""
    env = events_env
    cmdb, spy, conn = env["cmdb"], env["spy"], env["conn"]
    marker = tmp_path / "templated-marker"
    name = "{{ lookup('pipe', 'touch %s') }}" % marker
    server = _server(env, name)
    try:
        seen_at, row = cmdb.wait("servers", server.id, lambda r: r is not None, 120, "the row")
        first = spy.wait(server.id, None, 10)
        _record("server appears after its first notification", seen_at - first)
        assert row[0] == name
        end = spy.wait(server.id, "instance.create.end", 180)
        active_at, row = cmdb.wait("servers", server.id, lambda r: r and r[1] == "ACTIVE", 120, "ACTIVE")
        _record("server ACTIVE after instance.create.end", max(0.0, active_at - end))
        assert active_at - end <= 3 * FACTOR, (active_at - end, env["rulebook"].tail())
        assert seen_at - first <= 3 * FACTOR, (seen_at - first, env["rulebook"].tail())
    finally:
        conn.compute.delete_server(server, ignore_missing=True)
    deleted = spy.wait(server.id, "instance.delete.end", 120)
    gone_at, row = cmdb.wait("servers", server.id, lambda r: r and r[2] is not None, 120, "the tombstone")
    _record("server tombstoned after instance.delete.end", gone_at - deleted)
    assert gone_at - deleted <= 2 * FACTOR, (gone_at - deleted, env["rulebook"].tail())
    assert row[0] == name
    actions = [action for action, _diff in cmdb.changes("servers", server.id)]
    assert actions[0] == "created" and actions[-1] == "deleted", actions
    assert not marker.exists(), "an event's name was templated"


def test_volume_rename_is_a_field_diff(events_env):
    env = events_env
    cmdb, spy, conn = env["cmdb"], env["spy"], env["conn"]
    volume = conn.block_storage.create_volume(name="events-vol", size=1)
    try:
        conn.block_storage.wait_for_status(volume, status="available", wait=120)
        cmdb.wait("volumes", volume.id, lambda r: r and r[1] == "available", 60, "available")
        conn.block_storage.update_volume(volume, name="events-vol-renamed")
        renamed = spy.wait(volume.id, "volume.update.end", 60)
        at, _row = cmdb.wait("volumes", volume.id, lambda r: r and r[0] == "events-vol-renamed", 60, "the new name")
        _record("volume rename after volume.update.end", max(0.0, at - renamed))
        diffs = [diff for action, diff in cmdb.changes("volumes", volume.id) if action == "updated"]
        assert any((d or {}).get("name") == {"old": "events-vol", "new": "events-vol-renamed"} for d in diffs), diffs
    finally:
        conn.block_storage.delete_volume(volume, ignore_missing=True)
    cmdb.wait("volumes", volume.id, lambda r: r and r[2] is not None, 120, "the tombstone")


def test_network_port_security_group_floating_ip_follow(events_env):
    env = events_env
    cmdb, conn, seed = env["cmdb"], env["conn"], env["seed"]
    network = conn.network.create_network(name="events-net")
    subnet = conn.network.create_subnet(network_id=network.id, cidr="10.77.0.0/24", ip_version=4, name="events-sub")
    group = conn.network.create_security_group(name="events-sg")
    port = conn.network.create_port(network_id=network.id, name="events-port")
    fip = conn.network.create_ip(floating_network_id=seed["public_network"]["id"])
    made = [("networks", network.id), ("subnets", subnet.id), ("security_groups", group.id), ("ports", port.id)]
    made.append(("floating_ips", fip.id))
    try:
        for rtype, rid in made:
            cmdb.wait(rtype, rid, lambda r: r is not None and r[2] is None, 60, "the row")
        conn.network.update_network(network, name="events-net-renamed")
        cmdb.wait("networks", network.id, lambda r: r and r[0] == "events-net-renamed", 60, "the new name")
        conn.network.create_security_group_rule(
            security_group_id=group.id, direction="ingress", protocol="tcp", port_range_min=22, port_range_max=22
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if any(action == "updated" for action, _d in cmdb.changes("security_groups", group.id)):
                break
            time.sleep(0.1)
        assert any(action == "updated" for action, _d in cmdb.changes("security_groups", group.id))
    finally:
        conn.network.delete_ip(fip, ignore_missing=True)
        conn.network.delete_port(port, ignore_missing=True)
        conn.network.delete_security_group(group, ignore_missing=True)
        conn.network.delete_network(network, ignore_missing=True)
    for rtype, rid in [
        ("floating_ips", fip.id),
        ("ports", port.id),
        ("security_groups", group.id),
        ("networks", network.id),
    ]:
        cmdb.wait(rtype, rid, lambda r: r and r[2] is not None, 60, "the tombstone")


def test_load_balancer_follows(events_env):
    env = events_env
    cmdb, conn, seed = env["cmdb"], env["conn"], env["seed"]
    subnet_id = (
        seed["projects"]["alpha"].get("subnet", {}).get("id")
        if isinstance(seed["projects"]["alpha"].get("subnet"), dict)
        else None
    )
    if subnet_id is None:
        subnets = list(conn.network.subnets(network_id=seed["projects"]["alpha"]["network"]["id"]))
        subnet_id = subnets[0].id
    lb = conn.load_balancer.create_load_balancer(name="events-lb", vip_subnet_id=subnet_id)
    try:
        cmdb.wait("load_balancers", lb.id, lambda r: r is not None and r[0] == "events-lb", 90, "the row")
        conn.load_balancer.wait_for_load_balancer(lb.id, status="ACTIVE", failures=["ERROR"], wait=180)
        conn.load_balancer.update_load_balancer(lb.id, name="events-lb-renamed")
        cmdb.wait("load_balancers", lb.id, lambda r: r and r[0] == "events-lb-renamed", 90, "the new name")
        conn.load_balancer.wait_for_load_balancer(lb.id, status="ACTIVE", failures=["ERROR"], wait=180)
    finally:
        conn.load_balancer.delete_load_balancer(lb.id, ignore_missing=True, cascade=True)
    cmdb.wait("load_balancers", lb.id, lambda r: r and r[2] is not None, 180, "the tombstone")


def _event_written(cmdb, rtype, rid, action):
    """The change ``action`` of the item was written by an event run (the queue), not by a sync."""
    writers = cmdb.writers(rtype, rid)
    assert (action, "event") in writers, writers


def test_a_stopped_rulebook_loses_nothing(events_env):
    """What happens while the rulebook is down waits in the durable queue and is applied after (by
    events: the catch-up sync is off for this start, so only the queue can bring them)."""
    env = events_env
    cmdb, conn, rulebook = env["cmdb"], env["conn"], env["rulebook"]
    kept = conn.network.create_network(name="events-durable-1")
    doomed = conn.network.create_network(name="events-durable-2")
    for net in (kept, doomed):
        cmdb.wait("networks", net.id, lambda r: r is not None, 60, "the row")
    rulebook.stop()
    rulebook.configure(cmdb_notification_catch_up=False)
    try:
        conn.network.update_network(kept, name="events-durable-renamed")
        conn.network.delete_network(doomed)
        made = conn.network.create_network(name="events-durable-3")
        time.sleep(2)
        assert cmdb.row("networks", made.id) is None  # nobody applied it: the rulebook is down
    finally:
        rulebook.start()
    try:
        cmdb.wait("networks", kept.id, lambda r: r and r[0] == "events-durable-renamed", 60, "the new name")
        cmdb.wait("networks", doomed.id, lambda r: r and r[2] is not None, 60, "the tombstone")
        cmdb.wait("networks", made.id, lambda r: r is not None, 60, "the row")
        _event_written(cmdb, "networks", kept.id, "updated")
        _event_written(cmdb, "networks", doomed.id, "deleted")
        _event_written(cmdb, "networks", made.id, "created")
    finally:
        conn.network.delete_network(kept, ignore_missing=True)
        conn.network.delete_network(made, ignore_missing=True)


def _require_rabbitmqctl():
    import shutil

    if shutil.which("rabbitmqctl") is None or os.geteuid() != 0:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("rabbitmqctl (as root) is needed to restart the broker", pytrace=False)
        pytest.skip("rabbitmqctl as root is needed to restart the broker")


def _restart_broker():
    """rabbitmqctl stop_app, start_app, await_startup on the harness's broker (this machine's RabbitMQ)."""
    _require_rabbitmqctl()
    for command in ("stop_app", "start_app", "await_startup"):
        subprocess.run(["rabbitmqctl", "-q", command], check=True, capture_output=True, timeout=120)


def _queued(queue):
    """How many messages wait in the harness vhost's queue (ready and unacknowledged)."""
    from realcloud.harness import config as harness_config

    done = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "-p", harness_config.MQ_VHOST, "name", "messages"],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    for line in done.stdout.splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[0] == queue:
            return int(fields[1])
    raise AssertionError("queue %s not found: %s" % (queue, done.stdout))


def test_a_broker_restart_keeps_what_waits_in_the_queue(events_env):
    """A rename published while the rulebook is down waits in the quorum queue through a broker restart
    and is applied by an event (catch-up off)."""
    env = events_env
    cmdb, conn, rulebook, spy = env["cmdb"], env["conn"], env["rulebook"], env["spy"]
    _require_rabbitmqctl()
    net = conn.network.create_network(name="events-restart")
    try:
        cmdb.wait("networks", net.id, lambda r: r is not None, 60, "the row")
        rulebook.stop()
        rulebook.configure(cmdb_notification_catch_up=False)
        try:
            conn.network.update_network(net, name="events-restart-1")
            spy.wait(net.id, "network.update.end", 60)  # published: it waits in the rulebook's queue
            _restart_broker()
        finally:
            rulebook.start()
        cmdb.wait("networks", net.id, lambda r: r and r[0] == "events-restart-1", 90, "the rename sent before")
        _event_written(cmdb, "networks", net.id, "updated")
    finally:
        conn.network.delete_network(net, ignore_missing=True)
    cmdb.wait("networks", net.id, lambda r: r and r[2] is not None, 90, "the tombstone")


def test_a_broker_restart_loses_no_change(events_env):
    """The services' exchanges are transient: a broker restart deletes them with the queue's bindings,
    and what is published before the source binds again never reaches the queue. The catch-up sync
    after each bind brings it:
    - the broker restarts while the rulebook is stopped and a volume is renamed: the queue stays
      empty (proof that no event can bring it), and the rename reaches the CMDB by the catch-up
      sync when the rulebook starts;
    - the broker restarts under the running rulebook and a volume is renamed at once, without
      waiting for the source to bind again: the rename reaches the CMDB.
    """
    env = events_env
    cmdb, conn, rulebook = env["cmdb"], env["conn"], env["rulebook"]
    _require_rabbitmqctl()
    volume = conn.block_storage.create_volume(name="events-gap", size=1)
    try:
        conn.block_storage.wait_for_status(volume, status="available", wait=120)
        cmdb.wait("volumes", volume.id, lambda r: r and r[1] == "available", 60, "available")
        rulebook.stop()
        rulebook.configure(cmdb_notification_catch_up=True)
        try:
            _restart_broker()  # drops the exchanges and the stopped source's bindings
            conn.block_storage.update_volume(volume, name="events-gap-1")
            time.sleep(2)  # Cinder has published volume.update.end by now
            assert _queued(env["queue"]) == 0, "the rename reached the unbound queue"
        finally:
            started = time.time()
            rulebook.start()
        at, _row = cmdb.wait("volumes", volume.id, lambda r: r and r[0] == "events-gap-1", 90, "the rename in the gap")
        _record("catch-up: rename made while unbound, after ansible-rulebook started", at - started)
        writers = cmdb.writers("volumes", volume.id)
        assert ("updated", "full") in writers, writers  # written by the catch-up sync
        cmdb.wait_catch_up(started)
        _restart_broker()  # under the running rulebook
        renamed = time.time()
        conn.block_storage.update_volume(volume, name="events-gap-2")
        at, _row = cmdb.wait("volumes", volume.id, lambda r: r and r[0] == "events-gap-2", 90, "the 2nd rename")
        _record("rename right after a broker restart under the rulebook, after the API call", at - renamed)
        diffs = [diff for action, diff in cmdb.changes("volumes", volume.id) if action == "updated"]
        assert {"old": "events-gap-1", "new": "events-gap-2"} in [(d or {}).get("name") for d in diffs], diffs
    finally:
        conn.block_storage.delete_volume(volume, ignore_missing=True)
    cmdb.wait("volumes", volume.id, lambda r: r and r[2] is not None, 120, "the tombstone")
