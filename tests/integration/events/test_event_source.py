"""The event source cmdb.openstack.notifications against the machine's RabbitMQ (synthetic notifications).

Runs source_scenario.py with the EDA venv's Python (tests/support/eda.py; aio-pika, ansible-rulebook):
the reduced events carry ids only (a hostile name never leaves the source, a hostile id drops
the notification), a stopped consumer loses nothing (named durable queue), and a message is
acknowledged only after the hand-over to ansible-rulebook returned, and a connection the broker
closes (as in a broker restart) is re-established with the queue and its bindings. Needs RabbitMQ on
127.0.0.1:5672 with its default guest user (CMDB_EVENTS_AMQP_URL for another broker); skipped
without one unless CI=true.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import uuid

import pytest
from support import eda

HERE = os.path.dirname(os.path.abspath(__file__))
URL = os.environ.get("CMDB_EVENTS_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")


def _broker_up():
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def scenario():
    if not _broker_up() and "CMDB_EVENTS_AMQP_URL" not in os.environ:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("RabbitMQ is not running on 127.0.0.1:5672", pytrace=False)
        pytest.skip("RabbitMQ is not running on 127.0.0.1:5672 (set CMDB_EVENTS_AMQP_URL)")
    eda.ensure_venv()
    env = eda.rulebook_env({"CMDB_SCENARIO_URL": URL, "CMDB_SCENARIO_TAG": "cmdb-test-%s" % uuid.uuid4().hex[:8]})
    done = subprocess.run(
        [eda.bin_path("python"), os.path.join(HERE, "source_scenario.py")],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _ids(batches):
    return [event["id"] for batch in batches if "cmdb_events" in batch for event in batch["cmdb_events"]]


def _reasons(batches):
    return [batch["cmdb_catch_up"]["reason"] for batch in batches if "cmdb_catch_up" in batch]


def test_only_ids_leave_the_source(scenario):
    assert _ids(scenario["live"]) == ["v-1"]
    event = next(batch for batch in scenario["live"] if "cmdb_events" in batch)["cmdb_events"][0]
    assert event == {
        "cloud": "scenario",
        "region": "RegionOne",
        "type": "volumes",
        "id": "v-1",
        "project_id": "p1",
        "event_type": "volume.update.end",
        "timestamp": "2026-12-06 12:00:00.000001",
    }
    assert "lookup" not in json.dumps(scenario)


def test_a_stopped_or_stuck_consumer_loses_nothing(scenario):
    # published while no consumer ran, then held unacknowledged by a consumer whose put never returned
    assert sorted(_ids(scenario["after_restart"])) == ["v-2", "v-3", "v-4"]
    assert _reasons(scenario["after_restart"]) == []  # catch_up: false


def test_each_bind_of_the_queue_is_followed_by_a_catch_up(scenario):
    """The first connection and every reconnection put a cmdb_catch_up event (the rulebook syncs the
    cloud), before any batch of that connection, naming the configured cloud and region only."""
    live = scenario["live"]
    assert live[0]["cmdb_catch_up"].pop("timestamp")
    assert live[0] == {
        "cmdb_catch_up": {"cloud": "scenario", "region": "RegionOne", "regions": ["RegionOne"], "reason": "connected"}
    }
    if not scenario.get("dropped"):
        pytest.skip("rabbitmqctl could not close the connection (not root on the broker's host?)")
    batches = scenario["after_drop"]
    assert _reasons(batches) == ["connected", "reconnected"], batches
    reconnected = [n for n, batch in enumerate(batches) if "cmdb_catch_up" in batch][1]
    assert "after-drop" in _ids(batches[reconnected:]), batches  # delivered on the new connection
    assert "after-drop" not in _ids(batches[:reconnected]), batches
    if scenario.get("restarted_live"):
        assert _reasons(scenario["after_broker_restart"]) == ["connected", "reconnected"]


def test_a_flag_that_is_not_a_boolean_is_an_error_naming_it(scenario):
    assert scenario["catch_up_error"] == "catch_up: true or false expected, got 'maybe'", scenario["catch_up_error"]
    assert scenario["max_length_error"] == "max_length: a number of messages expected (0: unbounded), got 'lots'"


def test_the_queue_is_bounded_and_keeps_the_newest(scenario):
    """max_length 3, five published while no source ran: the three newest are delivered, after the
    catch-up event that makes the rulebook sync what the queue dropped."""
    batches = scenario["bounded"]
    assert sorted(_ids(batches)) == ["b-3", "b-4", "b-5"], batches
    assert _reasons(batches) == ["connected"] and "cmdb_catch_up" in batches[0], batches


def test_the_source_reconnects_after_the_broker_dropped_it(scenario):
    if not scenario.get("dropped"):
        pytest.skip("rabbitmqctl could not close the connection (not root on the broker's host?)")
    assert sorted(_ids(scenario["after_drop"])) == ["after-drop", "before-drop"]


def test_a_broker_restart_loses_nothing(scenario):
    """Transient notifications waiting in the queue survive a broker restart (a quorum queue; a classic
    durable queue came back empty), and a running source reconnects and goes on after one."""
    if not scenario.get("restarted"):
        pytest.skip("rabbitmqctl could not restart the broker (not root on the broker's host?)")
    assert scenario["restarted_live"] and scenario["reconsumed"]
    assert sorted(_ids(scenario["after_broker_restart"])) == ["after-restart", "waiting-1", "waiting-2"]


def test_a_queue_with_other_arguments_is_an_error_naming_the_fix(scenario):
    message = scenario["classic_error"]
    assert message and "-classic exists with other arguments" in message, message
    assert "rabbitmqctl delete_queue" in message and "queue_type" in message, message
