"""The simulator's modules import each other without a cycle, counting imports inside functions too.

A function-local import hides a cycle from the interpreter (api -> control -> server -> api was
one): this reads every ``from . import x`` / ``from .x import y`` of the package, at any depth.
"""

from __future__ import annotations

import ast
import os

import os_simulator

PACKAGE_DIR = os.path.dirname(os.path.abspath(os_simulator.__file__))


def _modules():
    return sorted(name[:-3] for name in os.listdir(PACKAGE_DIR) if name.endswith(".py"))


def _imports(module, known):
    """(imported module, line, at module level) for every relative import of ``module``."""
    with open(os.path.join(PACKAGE_DIR, module + ".py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    top_level = {id(node) for node in tree.body}
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.ImportFrom) or node.level != 1:
            continue
        if node.module:
            targets = [node.module.split(".")[0]]
        else:  # from . import a, b
            targets = [alias.name for alias in node.names if alias.name in known]
        found.extend((target, node.lineno, id(node) in top_level) for target in targets)
    return found


def _graph():
    known = set(_modules())
    return {module: {target for target, _line, _top in _imports(module, known)} - {module} for module in known}


def _cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}
    stack = []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_no_import_cycle_in_the_simulator():
    graph = _graph()
    assert "api" in graph and "control" in graph["api"] and "identity" in graph["api"]
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: %s" % " -> ".join(cycle)


def test_cycle_finder_finds_the_old_cycle():
    """The check itself: the old api -> control -> server -> api layout is reported."""
    old = {"api": {"control", "http_util"}, "control": {"server", "faults"}, "server": {"api", "cloud"}}
    assert _cycle(old) == ["api", "control", "server", "api"]


def test_keystone_lives_in_its_own_module():
    known = set(_modules())
    assert "identity" in known
    with open(os.path.join(PACKAGE_DIR, "api.py"), encoding="utf-8") as handle:
        api = handle.read()
    for name in ("_authenticate", "application_credential", "X-Subject-Token", "version_document"):
        assert name not in api, name
    # the routing layer imports control at module level now, not inside a function
    assert ("control", True) in {(target, top) for target, _line, top in _imports("api", known)}
