"""Where the responses captured from real OpenStack 2026.1 are (``../shared/fixtures/openstack-2026.1``).

``CMDB_FIXTURES_DIR`` when set (as tests/unit/plugins/module_utils/test_normalize.py), else
``../shared`` beside the checkout, else ``../shared`` beside the main checkout when this one is a
``git worktree`` (its ``.git`` file names ``<main>/.git/worktrees/<name>``).
"""

from __future__ import annotations

import json
import os

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_RELATIVE = os.path.join("..", "shared", "fixtures", "openstack-2026.1")


def _candidates():
    configured = os.environ.get("CMDB_FIXTURES_DIR")
    if configured:
        yield configured
        return
    yield os.path.join(REPO_ROOT, _RELATIVE)
    dot_git = os.path.join(REPO_ROOT, ".git")
    if os.path.isfile(dot_git):
        with open(dot_git, encoding="utf-8") as handle:
            line = handle.readline().strip()
        if line.startswith("gitdir:"):
            gitdir = line.split(":", 1)[1].strip()
            # <main>/.git/worktrees/<name> -> <main>
            main = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(gitdir))))
            yield os.path.join(main, _RELATIVE)


def fixtures_dir():
    candidates = [os.path.normpath(path) for path in _candidates()]
    for path in candidates:
        if os.path.isdir(path):
            return path
    return candidates[0]


FIXTURES = fixtures_dir()
ALL_FILES = sorted(f for f in os.listdir(FIXTURES) if f.endswith(".json")) if os.path.isdir(FIXTURES) else []
# what keystoneauth version discovery may probe (tests/simulator/test_probes.py)
PROBE_FILES = [f for f in ALL_FILES if "-probe-" in f]
# listings, documents, tokens and errors (tests/simulator/test_fixtures.py)
OTHER_FILES = [f for f in ALL_FILES if "-probe-" not in f]


def load(name):
    with open(os.path.join(FIXTURES, name), encoding="utf-8") as handle:
        return json.load(handle)
