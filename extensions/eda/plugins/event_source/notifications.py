# -*- coding: utf-8 -*-
# Copyright: contributors to cmdb.openstack
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cmdb.openstack.notifications: OpenStack notifications from RabbitMQ, reduced to CMDB events.

Each cloud's notifications (oslo.messaging driver ``messagingv2``) are read through a NAMED
DURABLE queue bound to the services' exchanges: what is sent while the rulebook is down waits in the
queue. The queue is a quorum queue by default: OpenStack publishes its notifications as transient
messages (``amqp_durable_queues = false``), which a classic queue drops when the broker restarts,
while a quorum queue keeps every message it accepted. When the connection is lost (a broker
restart) the source reconnects and declares the queue and its bindings again. At most ``prefetch``
messages are in flight; a message is acknowledged only after the event carrying it was handed to
ansible-rulebook (``await queue.put``), so a crash redelivers it (a duplicate changes nothing in the
CMDB).

Each notification is reduced (``plugins/module_utils/events.py``) to
``{cloud, region, type, id, project_id, event_type, timestamp}``: no name, metadata or other
payload content ever reaches the rulebook. Notifications are batched (up to ``batch_size``, for
at most ``batch_window`` seconds) and put as ONE event ``{"cmdb_events": [...]}``, so that the
rulebook runs one action per batch and the module coalesces a burst per item.

A catch-up: the services' exchanges are transient, so a broker restart deletes them and with them
the queue's bindings; what the services publish before the source has bound the queue again is
dropped by the broker (and a broker restart while the rulebook is stopped drops the bindings until
it starts). So each time the source has bound its queue (the first connection included, with
``catch_up: true``, the default) it puts ``{"cmdb_catch_up": {cloud, region, regions, reason,
timestamp}}``, and the rulebook runs ``cmdb_sync`` for that cloud: its listing starts after the
bind, so every change is either in the queue or in that listing.

Arguments (ansible-rulebook source args)::

    clouds:                       # one entry per cloud (or the same keys at the top level)
      - cloud: prod               # the CMDB cloud (account) name the events are for
        region: RegionOne
        url: rabbit://user:pass@mq1:5671,user:pass@mq2:5671/openstack   # oslo transport URL or amqp(s)://
        username: cmdb-events     # optional, override the URL's (never logged)
        password: "..."
        ssl: true                 # or use an amqps:// URL
        ca_cert: /etc/ssl/mq-ca.pem
        client_cert: /etc/ssl/cmdb.pem
        client_key: /etc/ssl/cmdb.key
        verify: true
        queue: cmdb-openstack.prod          # default cmdb-openstack.<cloud>.<region>
        bindings:                           # default: plugins/module_utils/events.DEFAULT_BINDINGS
          - {exchange: nova, routing_key: versioned_notifications.info}
    prefetch: 200
    batch_size: 200
    batch_window: 0.2            # seconds a batch waits for more after its first message
    min_interval: 1.0            # during a burst, at most one batch per min_interval seconds
    queue_type: quorum           # or classic (loses what waits in it when the broker restarts)
    max_length: 50000            # messages the durable queue keeps (the oldest go first); 0: unbounded
    queue_arguments: {}          # more arguments for the durable queue (x-max-length-bytes...)
    exchange_durable: false      # oslo.messaging's default (amqp_durable_queues = false)
    connect_timeout: 10          # seconds for each connection attempt (the first and every reconnect)
    heartbeat: 20                # AMQP heartbeat, seconds: a dead connection is noticed within ~2x this
    catch_up: true               # after each bind, a cmdb_catch_up event (a sync of the cloud)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import asyncio
import datetime
import importlib
import logging
import os
import ssl
import sys
from urllib.parse import quote, unquote, urlsplit

import aio_pika
from ansible.module_utils.parsing.convert_bool import boolean

LOG = logging.getLogger("cmdb.openstack.notifications")


def _events_module():
    """plugins/module_utils/events.py of this collection (importable as a collection or from the tree)."""
    try:
        return importlib.import_module("ansible_collections.cmdb.openstack.plugins.module_utils.events")
    except ImportError:
        here = os.path.dirname(os.path.abspath(__file__))
        root = os.path.normpath(os.path.join(here, "..", "..", "..", "..", "plugins", "module_utils"))
        if root not in sys.path:
            sys.path.insert(0, root)
        return importlib.import_module("events")


EVENTS = _events_module()


def broker_urls(url, username=None, password=None, use_ssl=None):
    """An oslo transport URL (``rabbit://u:p@h1:5672,u:p@h2/vhost``) or amqp(s) URL -> amqp(s) URLs."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("rabbit", "amqp", "amqps"):
        raise ValueError("url: scheme rabbit://, amqp:// or amqps:// expected")
    secure = scheme == "amqps" if use_ssl is None else bool(use_ssl)
    vhost = parts.path[1:] if parts.path.startswith("/") else parts.path
    out = []
    for host in parts.netloc.split(","):
        creds, _sep, hostport = host.rpartition("@")
        user, _sep, secret = creds.partition(":")
        user = username if username is not None else unquote(user) if user else "guest"
        secret = password if password is not None else unquote(secret) if secret else "guest"
        out.append(
            "%s://%s:%s@%s/%s"
            % (
                "amqps" if secure else "amqp",
                quote(user, safe=""),
                quote(secret, safe=""),
                hostport,
                quote(vhost, safe=""),
            )
        )
    return out


def describe_url(url):
    """What may be logged of a broker URL: scheme, host, port, vhost (never credentials)."""
    parts = urlsplit(url)
    return "%s://%s%s" % (parts.scheme, parts.hostname or "?", (":%d" % parts.port) if parts.port else "") + (
        parts.path or "/"
    )


def ssl_context(conf):
    if not (conf.get("ssl") or conf.get("ca_cert") or conf.get("client_cert")):
        return None
    context = ssl.create_default_context(cafile=conf.get("ca_cert"))
    if conf.get("client_cert"):
        context.load_cert_chain(conf["client_cert"], conf.get("client_key"))
    if conf.get("verify") is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def cloud_configs(args):
    clouds = args.get("clouds")
    if not clouds:
        clouds = [dict((k, v) for k, v in args.items() if k not in ("clouds",))]
    out = []
    for conf in clouds:
        conf = dict(conf)
        if not conf.get("cloud") or not conf.get("url"):
            raise ValueError("each cloud needs cloud (its CMDB name) and url")
        conf.setdefault("region", None)
        conf.setdefault("queue", "cmdb-openstack.%s.%s" % (conf["cloud"], conf.get("region") or "all"))
        bindings = conf.get("bindings") or [
            {"exchange": exchange, "routing_key": key} for exchange, key in EVENTS.DEFAULT_BINDINGS
        ]
        conf["bindings"] = [(b["exchange"], b.get("routing_key") or "notifications.info") for b in bindings]
        out.append(conf)
    return out


QUEUE_TYPES = ("quorum", "classic")
#: What a broker restart or a network failure raises: retried, never fatal.
RECONNECTABLE = (OSError, aio_pika.exceptions.AMQPError, asyncio.TimeoutError, ConnectionError)


def flag(args, name, default):
    """A boolean source argument (rulebook variables may arrive as strings); a clear error otherwise."""
    value = args.get(name, default)
    try:
        return boolean(value, strict=True)  # ansible-core's rule, as for module options
    except TypeError:
        raise ValueError("%s: true or false expected, got %r" % (name, value)) from None


#: A rulebook stopped for days must not fill the broker (its memory and disk alarms would block every
#: publisher, the services' RPC included): the queue keeps the newest messages, and what it drops is
#: caught up by the sync after the next bind (catch_up).
DEFAULT_MAX_LENGTH = 50000


def queue_arguments(args):
    """The durable queue's arguments: ``x-queue-type`` from ``queue_type``, ``x-max-length`` (oldest
    dropped first) from ``max_length``, plus ``queue_arguments``."""
    queue_type = args.get("queue_type") or "quorum"
    if queue_type not in QUEUE_TYPES:
        raise ValueError("queue_type: %r is not one of %s" % (queue_type, ", ".join(QUEUE_TYPES)))
    max_length = args.get("max_length", DEFAULT_MAX_LENGTH)
    try:
        max_length = int(max_length)
    except (TypeError, ValueError):
        max_length = -1
    if max_length < 0:
        raise ValueError("max_length: a number of messages expected (0: unbounded), got %r" % (args.get("max_length"),))
    out = {"x-queue-type": queue_type}
    if max_length:
        out.update({"x-max-length": max_length, "x-overflow": "drop-head"})
    out.update(args.get("queue_arguments") or {})
    return out


def catch_up_event(conf, reason):
    """What the rulebook turns into a ``cmdb_sync`` of the cloud: its name and region (the source's
    own configuration, never anything a notification said), why, and when the queue was bound."""
    region = conf.get("region")
    return {
        "cmdb_catch_up": {
            "cloud": conf["cloud"],
            "region": region,
            "regions": [region] if region else None,
            "reason": reason,
            "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(),
        }
    }


class CloudConsumer:
    def __init__(self, queue, conf, args):
        self.queue = queue
        self.conf = conf
        self.prefetch = int(args.get("prefetch", 200))
        self.batch_size = max(1, int(args.get("batch_size", 200)))
        self.batch_window = float(args.get("batch_window", 0.2))
        self.min_interval = float(args.get("min_interval", 1.0))
        self.queue_arguments = queue_arguments(args)
        self.exchange_durable = flag(args, "exchange_durable", False)
        self.connect_timeout = float(args.get("connect_timeout", 10))
        self.heartbeat = int(args.get("heartbeat", 20))
        self.catch_up = flag(args, "catch_up", True)
        self.urls = broker_urls(conf["url"], conf.get("username"), conf.get("password"), conf.get("ssl"))
        self.context = ssl_context(conf)
        self.inbox = asyncio.Queue()
        self.lost = asyncio.Event()
        self.connection = None
        self.connection_name = conf.get("connection_name") or "cmdb-openstack notifications %s %s" % (
            conf["cloud"],
            conf["queue"],
        )

    async def connect(self):
        """A connection to the first broker host that answers, each attempt bounded; ``run`` retries."""
        for index, url in enumerate(self.urls):
            try:
                kwargs = {"ssl_context": self.context} if self.context is not None else {}
                # the name the broker shows for this connection (rabbitmqctl list_connections)
                kwargs["client_properties"] = {"connection_name": self.connection_name}
                connection = await aio_pika.connect(
                    url, timeout=self.connect_timeout, heartbeat=self.heartbeat, **kwargs
                )
                LOG.info("cloud %s: connected to %s", self.conf["cloud"], describe_url(url))
                return connection
            except RECONNECTABLE as exc:
                LOG.warning("cloud %s: %s: %s", self.conf["cloud"], describe_url(url), exc.__class__.__name__)
                if index == len(self.urls) - 1:
                    raise

    async def setup(self):
        """Connect, declare the queue and the exchanges, bind, consume; ``self.lost`` is set when the
        connection closes. Our own loop (run) reconnects: it retries after 0.5 s (aio-pika's robust
        connection waits 5 s, during which the broker drops what the services publish, see
        docs/events.md) and logs each reconnection, which the restart tests wait for.
        """
        self.lost = asyncio.Event()
        self.inbox = asyncio.Queue()
        self.connection = await self.connect()
        self.connection.close_callbacks.add(lambda *_args: self.lost.set())
        channel = await self.connection.channel()
        await channel.set_qos(prefetch_count=self.prefetch)
        try:
            amqp_queue = await channel.declare_queue(
                self.conf["queue"], durable=True, auto_delete=False, arguments=self.queue_arguments
            )
        except aio_pika.exceptions.ChannelPreconditionFailed as exc:
            raise ValueError(
                "cloud %s: the queue %s exists with other arguments than %r (%s): delete it "
                "(rabbitmqctl delete_queue %s) or set queue_type/max_length/queue_arguments to match it"
                % (self.conf["cloud"], self.conf["queue"], self.queue_arguments, exc, self.conf["queue"])
            ) from None
        for exchange_name, key in self.conf["bindings"]:
            exchange = await channel.declare_exchange(
                exchange_name, aio_pika.ExchangeType.TOPIC, durable=self.exchange_durable
            )
            await amqp_queue.bind(exchange, routing_key=key)
        await amqp_queue.consume(self.inbox.put)
        LOG.info(
            "cloud %s: consuming durable queue %s (%d bindings)",
            self.conf["cloud"],
            self.conf["queue"],
            len(self.conf["bindings"]),
        )

    async def _next(self, timeout=None):
        """The next message, or None when the connection was lost (or ``timeout`` passed)."""
        getter = asyncio.ensure_future(self.inbox.get())
        watcher = asyncio.ensure_future(self.lost.wait())
        done, _pending = await asyncio.wait({getter, watcher}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        watcher.cancel()
        if getter in done:
            return getter.result()
        getter.cancel()
        return None

    async def run(self):
        loop = asyncio.get_running_loop()
        last_put = None
        delay = 0.5
        reason = "connected"
        while True:
            try:
                await self.setup()
                delay = 0.5
            except RECONNECTABLE as exc:
                LOG.warning(
                    "cloud %s: no connection or queue (%s); retrying in %.1f s",
                    self.conf["cloud"],
                    exc.__class__.__name__,
                    delay,
                )
                await self.close()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if self.catch_up:
                # Bound now: what was published while nothing was bound is in this sync's listing.
                LOG.info("cloud %s: catch-up sync requested (%s)", self.conf["cloud"], reason)
                await self.queue.put(catch_up_event(self.conf, reason))
            reason = "reconnected"
            last_put = await self.consume(loop, last_put)
            # The connection is gone: what was delivered and not acknowledged is delivered again.
            LOG.warning("cloud %s: the connection to the broker was lost; reconnecting", self.conf["cloud"])
            await self.close()

    async def consume(self, loop, last_put):
        """Batches until the connection is lost; returns the time of the last batch put."""
        while not self.lost.is_set():
            first = await self._next()
            if first is None:
                break
            messages = [first]
            # The first message after a quiet spell goes out after batch_window; during a burst,
            # at most one batch per min_interval (each batch costs the rulebook an action).
            deadline = loop.time() + self.batch_window
            if last_put is not None:
                deadline = max(deadline, last_put + self.min_interval)
            while len(messages) < self.batch_size:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                message = await self._next(remaining)
                if message is None:
                    break
                messages.append(message)
            events = []
            for message in messages:
                event = EVENTS.reduce_notification(message.body, self.conf["cloud"], self.conf.get("region"))
                if event is not None:
                    events.append(event)
            if events:
                await self.queue.put({"cmdb_events": events})
                last_put = loop.time()
            for message in messages:
                try:
                    await message.ack()
                except Exception as exc:  # the channel died meanwhile: the broker redelivers it
                    LOG.warning(
                        "cloud %s: ack failed (%s); redelivered later", self.conf["cloud"], exc.__class__.__name__
                    )
        return last_put

    async def close(self):
        connection, self.connection = self.connection, None
        if connection is not None and not connection.is_closed:
            try:
                await connection.close()
            except Exception:  # noqa: S110 - a connection that is already gone
                pass


async def main(queue, args):
    consumers = [CloudConsumer(queue, conf, args) for conf in cloud_configs(args)]
    try:
        await asyncio.gather(*(consumer.run() for consumer in consumers))
    finally:
        for consumer in consumers:
            try:
                await consumer.close()
            except Exception:  # noqa: S110 - closing on the way out
                pass


if __name__ == "__main__":  # pragma: no cover - manual test: prints the events of a local broker

    class _Print:
        async def put(self, event):
            print(event)

    asyncio.run(main(_Print(), {"cloud": "local", "region": "RegionOne", "url": sys.argv[1]}))
