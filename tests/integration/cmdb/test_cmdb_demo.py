"""The README's main command: bash scripts/demo.sh (simulator demo cloud -> ./cmdb.sqlite -> summary)."""

from __future__ import annotations

import os
import re
import subprocess

from support.paths import COLLECTION_ROOT


def _demo(cwd):
    env = dict(os.environ)
    env.pop("OS_CLOUD", None)
    env.pop("CMDB_URL", None)
    return subprocess.run(
        ["bash", os.path.join(COLLECTION_ROOT, "scripts", "demo.sh")],
        cwd=str(cwd),
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_demo_syncs_into_cwd_and_the_second_run_changes_nothing(tmp_path):
    first = _demo(tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert (tmp_path / "cmdb.sqlite").is_file()
    assert re.search(r"cloud +type +new +updated +deleted +total", first.stdout)
    row = re.search(r"demo +servers +(\d+) +0 +0 +(\d+)", first.stdout)
    assert row and int(row.group(1)) > 0 and row.group(1) == row.group(2), first.stdout
    second = _demo(tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "changed=0" in second.stdout and "failed=0" in second.stdout
    assert re.search(r"demo +servers +0 +0 +0 +%s" % row.group(2), second.stdout), second.stdout
    assert "cloud demo: 0 new, 0 updated, 0 deleted, 0 reappeared" in second.stdout.replace("\n", " ")
