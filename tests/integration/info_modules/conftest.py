"""Helpers for the info module tests: several modules in one real ansible-playbook run."""

from __future__ import annotations

import pytest


@pytest.fixture
def modules_runner(ansible):
    def run(tasks, **kwargs):
        return ansible.modules(tasks, **kwargs)

    return run
