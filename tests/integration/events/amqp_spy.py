"""A notification spy for the event tests (runs with the EDA venv's Python, which has aio-pika).

Binds its own exclusive queue to the notification exchanges (events.DEFAULT_BINDINGS) of the
broker in ``CMDB_SPY_URL`` (an amqp:// URL: read from the environment, never from argv) and
prints one JSON line per notification that names a catalog item: the reduced event plus ``t``,
the local time it arrived. Prints ``READY`` once bound. Used to measure delays from the first
notification naming an item to the CMDB row.
"""

import asyncio
import json
import os
import sys
import time

import aio_pika

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
sys.path.insert(0, os.path.join(ROOT, "plugins", "module_utils"))

import events


async def spy(url):
    connection = await aio_pika.connect_robust(url)
    channel = await connection.channel()
    queue = await channel.declare_queue("", exclusive=True)
    for name, key in events.DEFAULT_BINDINGS:
        exchange = await channel.declare_exchange(name, aio_pika.ExchangeType.TOPIC, durable=False)
        await queue.bind(exchange, routing_key=key)
    print("READY", flush=True)
    async with queue.iterator() as messages:
        async for message in messages:
            async with message.process():
                event = events.reduce_notification(message.body, "spy", None)
                if event is not None:
                    event["t"] = time.time()
                    print(json.dumps(event), flush=True)


if __name__ == "__main__":
    asyncio.run(spy(os.environ["CMDB_SPY_URL"]))
