"""The HTTP server (standard library only: threads, HTTP/1.1 keep-alive) and ``Simulator``."""

from __future__ import annotations

import email.utils
import os
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .api import App, Request
from .cloud import SimCloud
from .http_util import STATUS_TITLES
from .util import dump_yaml

_REASONS = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 300: "Multiple Choices"}
_REASONS.update(STATUS_TITLES)

_date_cache = [0, ""]


def _http_date():
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache[0] = now
        _date_cache[1] = email.utils.formatdate(now, usegmt=True)
    return _date_cache[1]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "os-simulator"
    sys_version = ""
    disable_nagle_algorithm = True

    def setup(self):
        super().setup()
        self.server.connections.add(self.connection)

    def finish(self):
        try:
            super().finish()
        finally:
            self.server.connections.discard(self.connection)

    def log_message(self, format, *args):
        if self.server.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), format % args))

    def _dispatch(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path, _sep, query = self.path.partition("?")
        if path.startswith("http://") or path.startswith("https://"):
            path = "/" + path.split("/", 3)[-1]
        req = Request(self.command, path, query, self.headers, body, self.headers.get("Host"))
        try:
            resp = self.server.app.handle(req)
        except Exception:
            traceback.print_exc(file=sys.stderr)
            self._send(
                500,
                [("Content-Type", "application/json")],
                b'{"error": {"code": 500, "message": "simulator error", "title": "Internal Server Error"}}',
            )
            return
        stop = self.server.stopping
        if resp.action in ("hang", "close"):
            if resp.action == "hang":
                stop.wait(resp.delay)
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if resp.delay:
            stop.wait(resp.delay)
        self._send(resp.status, resp.headers, resp.body)

    def _send(self, status, headers, body):
        reason = _REASONS.get(status, "Unknown")
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        lines.extend("%s: %s" % (k, v) for k, v in headers)
        lines.append("Content-Length: %d" % len(body))
        lines.append("Date: %s" % _http_date())
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if self.command == "HEAD":
            body = b""
        try:
            self.wfile.write(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address, app, verbose=False):
        self.app = app
        self.verbose = verbose
        self.connections = set()
        self.stopping = threading.Event()
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        if self.verbose:
            super().handle_error(request, client_address)
            return
        # A client that goes away is normal; anything else closed a connection without an answer
        # (e.g. no thread could be started): one line on stderr, so that a test's failure says why.
        exc = sys.exc_info()[1]
        if exc is not None and not isinstance(exc, (ConnectionError, TimeoutError)):
            sys.stderr.write("os-simulator: request from %s:%s failed: %r\n" % (*client_address[:2], exc))


class Simulator:
    """An OpenStack API simulator serving one or more clouds on one local port.

    >>> sim = Simulator().start()
    >>> cloud = sim.add_cloud("demo", regions=("RegionOne", "RegionTwo"), servers=50)
    >>> conn = openstack.connect(**cloud.credentials(), region_name="RegionOne")
    >>> sim.stop()
    """

    def __init__(self, host="127.0.0.1", port=0, verbose=False):
        self.host = host
        self.port = port
        self.verbose = verbose
        self.clouds = {}
        self._server = None
        self._thread = None
        self._dead = None
        self.app = App(self)
        self.started_at = None

    # -- lifecycle --
    def start(self):
        if self._server is not None:
            return self
        self._server = _Server((self.host, self.port), self.app, self.verbose)
        self.port = self._server.server_address[1]
        # A bound socket that never listens: connecting to it is refused ("refuse" faults).
        self._dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._dead.bind((self.host, 0))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="os-simulator", daemon=True
        )
        self._thread.start()
        self.started_at = time.time()
        return self

    def stop(self):
        server = self._server
        if server is None:
            return
        server.stopping.set()
        server.shutdown()
        for conn in list(server.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        server.server_close()
        if self._dead is not None:
            self._dead.close()
        self._server = None
        self._thread = None

    def serve_forever(self):
        """Block until interrupted (the CLI)."""
        try:
            while self._thread is not None and self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def running(self):
        return self._server is not None

    @property
    def netloc(self):
        return "%s:%d" % (self.host, self.port)

    @property
    def url(self):
        return "http://%s" % self.netloc

    @property
    def dead_url(self):
        """A URL on which connections are refused."""
        if self._dead is None:
            raise RuntimeError("the simulator is not started")
        return "http://%s:%d" % (self.host, self._dead.getsockname()[1])

    @property
    def control_url(self):
        return self.url + "/_sim"

    # -- clouds --
    def add_cloud(
        self, name="demo", regions=("RegionOne",), seed=0, servers=12, projects=2, max_page_size=1000, **kwargs
    ):
        """Create a cloud with generated data; see SimCloud for the keyword arguments."""
        if name in self.clouds:
            raise ValueError("a cloud named %r already exists on this simulator" % name)
        if isinstance(regions, str):
            regions = (regions,)
        cloud = SimCloud(
            self,
            name,
            regions=tuple(regions),
            seed=seed,
            servers=servers,
            projects=projects,
            max_page_size=max_page_size,
            **kwargs,
        )
        self.clouds[name] = cloud
        return cloud

    def remove_cloud(self, name):
        return self.clouds.pop(name, None) is not None

    def cloud(self, name):
        return self.clouds[name]

    def __getitem__(self, name):
        return self.clouds[name]

    def write_clouds_yaml(self, path, entries):
        """Write ``{"clouds": entries}`` to ``path`` (YAML; 0600). Returns the path."""
        text = dump_yaml({"clouds": entries})
        path = os.fspath(path)
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        return path

    def clouds_yaml_entries(self, user="admin"):
        return {name: cloud.clouds_yaml_entry(user=user) for name, cloud in self.clouds.items()}
