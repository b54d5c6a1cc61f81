"""Drives the event source cmdb.openstack.notifications against a RabbitMQ broker (EDA venv Python).

Run by test_event_source.py: ``python source_scenario.py`` with ``CMDB_SCENARIO_URL`` (amqp URL)
and ``CMDB_SCENARIO_TAG`` (unique names). Prints one JSON document: what each phase received.
Synthetic notifications are published to exchanges of its own (``<tag>-nova``...), so no real
service's traffic is involved.
"""

import asyncio
import importlib.util
import json
import logging
import os

import aio_pika

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLUGIN = os.path.join(ROOT, "extensions", "eda", "plugins", "event_source", "notifications.py")
HOSTILE = "{{ lookup('pipe', 'touch /tmp/cmdb-events-scenario-marker') }}"


def load_plugin():
    spec = importlib.util.spec_from_file_location("cmdb_notifications_source", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def notification(event_type, payload):
    message = {"event_type": event_type, "payload": payload, "timestamp": "2026-12-06 12:00:00.000001"}
    message["_context_project_id"] = "p1"
    return json.dumps({"oslo.version": "2.0", "oslo.message": json.dumps(message)}).encode()


class Recorder:
    def __init__(self, block=False):
        self.events = []
        self.block = block

    async def put(self, event):
        if self.block:
            await asyncio.Event().wait()  # never returns: nothing may be acknowledged
        self.events.append(event)


async def publish(url, exchange, bodies):
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        ex = await channel.declare_exchange(exchange, aio_pika.ExchangeType.TOPIC, durable=False)
        for body in bodies:
            await ex.publish(aio_pika.Message(body=body), routing_key="notifications.info")


async def drop_connections(tag):
    """Close, on the broker's side, the connections whose client-given name contains ``tag``."""
    process = await asyncio.create_subprocess_exec(
        "rabbitmqctl", "-q", "list_connections", "pid", "client_properties", stdout=asyncio.subprocess.PIPE
    )
    text = (await process.communicate())[0].decode(errors="replace")
    pids = [line.split("\t")[0] for line in text.splitlines() if tag in line]
    for pid in pids:
        closing = await asyncio.create_subprocess_exec(
            "rabbitmqctl", "-q", "close_connection", pid, "cmdb test: broker drop", stdout=asyncio.subprocess.DEVNULL
        )
        await closing.wait()
    return len(pids)


async def restart_broker():
    """Restart the RabbitMQ application (rabbitmqctl stop_app, start_app): True when it was restarted."""
    for command in (["stop_app"], ["start_app"], ["await_startup"]):
        process = await asyncio.create_subprocess_exec(
            "rabbitmqctl", "-q", *command, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        if await process.wait() != 0:
            return False
    return True


class ConsumingCounter(logging.Handler):
    """Counts the source's "consuming durable queue" log records (one per (re)connection)."""

    def __init__(self):
        super().__init__()
        self.count = 0
        logging.getLogger("cmdb.openstack.notifications").addHandler(self)
        logging.getLogger("cmdb.openstack.notifications").setLevel(logging.INFO)

    def emit(self, record):
        if "consuming durable queue" in record.getMessage():
            self.count += 1

    async def wait_for(self, count, timeout=60):
        deadline = asyncio.get_running_loop().time() + timeout
        while self.count < count:
            if asyncio.get_running_loop().time() > deadline:
                return False
            await asyncio.sleep(0.1)
        return True


async def run_source(plugin, args, recorder, seconds):
    task = asyncio.create_task(plugin.main(recorder, args))
    await asyncio.sleep(seconds)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass


async def scenario():
    url = os.environ["CMDB_SCENARIO_URL"]
    tag = os.environ["CMDB_SCENARIO_TAG"]
    plugin = load_plugin()
    exchange = "%s-openstack" % tag
    args = {
        "cloud": "scenario",
        "region": "RegionOne",
        "url": url,
        "queue": "%s-queue" % tag,
        "bindings": [{"exchange": exchange, "routing_key": "notifications.info"}],
        "batch_window": 0.2,
        "min_interval": 0,
        "prefetch": 5,
    }
    out = {}
    # 1. live: a volume update with a hostile name, a notification naming nothing, a hostile id
    first = Recorder()
    task = asyncio.create_task(run_source(plugin, args, first, 4))
    await asyncio.sleep(2)  # the queue is declared and bound
    await publish(
        url,
        exchange,
        [
            notification("volume.update.end", {"volume_id": "v-1", "tenant_id": "p1", "display_name": HOSTILE}),
            notification("scheduler.select_destinations.start", {}),
            notification("volume.update.end", {"volume_id": HOSTILE}),
        ],
    )
    await task
    out["live"] = first.events
    # 2. the rulebook is down: what is published waits in the durable queue
    await publish(url, exchange, [notification("volume.delete.end", {"volume_id": "v-%d" % n}) for n in range(2, 5)])
    # 3. a consumer whose hand-over never returns acknowledges nothing ...
    stuck = Recorder(block=True)
    await run_source(plugin, args, stuck, 3)
    # 4. ... so everything is delivered again to the next one (without catch-up events)
    second = Recorder()
    await run_source(plugin, dict(args, catch_up="false"), second, 4)
    out["after_restart"] = second.events
    # 4b. a bounded queue (max_length 3): of 5 published while the source is down, the 3 newest wait
    # (its own exchange: the main queue, bound to the main one, must not get these)
    bounded_exchange = "%s-bounded" % exchange
    bounded = dict(args, queue="%s-bounded" % tag, max_length=3)
    bounded["bindings"] = [{"exchange": bounded_exchange, "routing_key": "notifications.info"}]
    await run_source(plugin, bounded, Recorder(), 2)  # declares and binds it
    await publish(
        url, bounded_exchange, [notification("volume.update.end", {"volume_id": "b-%d" % n}) for n in range(1, 6)]
    )
    kept = Recorder()
    await run_source(plugin, bounded, kept, 3)
    out["bounded"] = kept.events
    # 5. the broker drops the connection (as in a broker restart): the source reconnects by itself
    third = Recorder()
    task = asyncio.create_task(run_source(plugin, args, third, 14))
    await asyncio.sleep(2)
    await publish(url, exchange, [notification("volume.update.end", {"volume_id": "before-drop"})])
    await asyncio.sleep(1)
    out["dropped"] = await drop_connections(args["queue"])
    await publish(url, exchange, [notification("volume.update.end", {"volume_id": "after-drop"})])
    await task
    out["after_drop"] = third.events
    # 6. the broker restarts while transient messages (as OpenStack publishes them) wait in the queue,
    # and again while the source runs: the quorum queue keeps them, the source reconnects by itself
    await publish(url, exchange, [notification("volume.update.end", {"volume_id": "waiting-%d" % n}) for n in (1, 2)])
    out["restarted"] = await restart_broker()
    if out["restarted"]:
        fourth = Recorder()
        consuming = ConsumingCounter()
        task = asyncio.create_task(run_source(plugin, args, fourth, 25))
        await consuming.wait_for(1)
        out["restarted_live"] = await restart_broker()
        # The services' exchanges are transient: a restart drops them with their bindings, until
        # the source has declared and bound them again (docs/events.md, "A broker restart").
        out["reconsumed"] = await consuming.wait_for(2)
        await publish(url, exchange, [notification("volume.update.end", {"volume_id": "after-restart"})])
        await task
        out["after_broker_restart"] = fourth.events
    # 7. a flag that is neither true nor false, a bound that is not a count: errors naming them
    for key, bad in (("catch_up", "maybe"), ("max_length", "lots")):
        try:
            plugin.CloudConsumer(Recorder(), plugin.cloud_configs(args)[0], dict(args, **{key: bad}))
            out["%s_error" % key] = None
        except ValueError as exc:
            out["%s_error" % key] = str(exc)
    # 8. a queue declared before with other arguments (a classic queue) is an error naming the fix
    classic = dict(args, queue="%s-classic" % tag)
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.declare_queue(classic["queue"], durable=True)
    try:
        await asyncio.wait_for(plugin.main(Recorder(), classic), 10)
        out["classic_error"] = None
    except asyncio.TimeoutError:  # it consumed the classic queue without a word
        out["classic_error"] = None
    except ValueError as exc:
        out["classic_error"] = str(exc)
    # clean up: the queue is durable
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(args["queue"])
        await channel.queue_delete(classic["queue"])
        await channel.queue_delete(bounded["queue"])
        await channel.exchange_delete(bounded_exchange)
        await channel.exchange_delete(exchange)
    print(json.dumps(out))


if __name__ == "__main__":
    asyncio.run(scenario())
