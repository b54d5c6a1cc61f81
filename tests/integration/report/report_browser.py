"""A real headless Chromium driven through chromedriver's W3C WebDriver HTTP API (no extra package).

``ensure_chromium()`` installs the Debian packages ``chromium`` and ``chromium-driver`` when they are
missing and we are root (as scripts/test.sh does for shellcheck); the tests skip without them, except
under ``CI=true`` where they fail.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def _find(*names):
    for name in names:
        path = shutil.which(name)
        if path:
            return path
    return None


def ensure_chromium():
    """``(chromium, chromedriver)`` paths; installs them when missing and root; skip (fail under CI)."""
    chromium, driver = _find("chromium", "chromium-browser"), _find("chromedriver")
    if (not chromium or not driver) and os.geteuid() == 0 and shutil.which("apt-get"):
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
            env=env,
            check=False,
            capture_output=True,
            timeout=900,
        )
        chromium, driver = _find("chromium", "chromium-browser"), _find("chromedriver")
    if not chromium or not driver:
        message = "Chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true: " + message)
        pytest.skip(message)
    return chromium, driver


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class WebDriverError(Exception):
    pass


class Browser:
    """One chromedriver process and one Chromium session with a fresh profile."""

    def __init__(self, chromium, driver):
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="cmdb-report-chromium-")
        self.proc = subprocess.Popen(
            [driver, "--port=%d" % self.port], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = "http://127.0.0.1:%d" % self.port
        for _attempt in range(200):
            try:
                self._call("GET", "/status")
                break
            except (OSError, WebDriverError):
                time.sleep(0.05)
        caps = {
            "capabilities": {
                "alwaysMatch": {
                    "browserName": "chrome",
                    "unhandledPromptBehavior": "ignore",
                    "goog:loggingPrefs": {"browser": "ALL"},
                    "goog:chromeOptions": {
                        "binary": chromium,
                        "args": FLAGS + ["--user-data-dir=%s" % self.profile, "--window-size=1280,1000"],
                    },
                }
            }
        }
        self.session = self._call("POST", "/session", caps)["sessionId"]

    def _call(self, method, path, body=None):
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                payload = json.loads(response.read().decode() or "{}")
        except urllib.error.HTTPError as exc:
            payload = json.loads(exc.read().decode() or "{}")
            raise WebDriverError(payload.get("value", {}).get("error", str(exc)))
        value = payload.get("value")
        if isinstance(value, dict) and "sessionId" in payload:
            value.setdefault("sessionId", payload["sessionId"])
        return value

    def cmd(self, method, path, body=None):
        return self._call(method, "/session/%s%s" % (self.session, path), body)

    def cdp(self, command, params=None):
        return self.cmd("POST", "/goog/cdp/execute", {"cmd": command, "params": params or {}})

    def get(self, url):
        return self.cmd("POST", "/url", {"url": url})

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def console(self):
        """The browser console entries since the last call (level, message)."""
        return self.cmd("POST", "/se/log", {"type": "browser"}) or []

    def alert_text(self):
        """The text of an open dialog, or None."""
        try:
            return self.cmd("GET", "/alert/text")
        except WebDriverError as exc:
            if "no such alert" in str(exc):
                return None
            raise

    def screenshot(self, path, width=1280, height=1000):
        self.cdp(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        )
        with open(path, "wb") as handle:
            handle.write(base64.b64decode(self.cmd("GET", "/screenshot")))

    def close(self):
        try:
            self._call("DELETE", "/session/%s" % self.session)
        except (OSError, WebDriverError):
            pass
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.profile, ignore_errors=True)
