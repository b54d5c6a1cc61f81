"""docs/reliability.md stays true: its summary counts the rows of its tables, and every test it names exists."""

from __future__ import annotations

import os
import re

from support.paths import COLLECTION_ROOT

PAGE = os.path.join(COLLECTION_ROOT, "docs", "reliability.md")
TESTS = os.path.join(COLLECTION_ROOT, "tests")


def case_rows_per_section(text):
    """{section title: number of case rows} for every table on the page except the summary."""
    counts, section = {}, None
    for line in text.splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
        elif section and section != "Summary" and line.startswith("| ") and not re.match(r"\|\s*-", line):
            if re.match(r"\|\s*(case|fault|section)\s*\|", line):
                continue  # a header row
            counts[section] = counts.get(section, 0) + 1
    return counts


def summary(text):
    block = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| \[([^\]]+)\]\(#[^)]*\) \| (\d+) \|", block, flags=re.M)
    total = re.search(r"^\| \*\*total\*\* \| \*\*(\d+)\*\* \|", block, flags=re.M)
    return {title: int(count) for title, count in rows}, int(total.group(1))


def test_the_summary_counts_every_case_row():
    text = open(PAGE, encoding="utf-8").read()
    counted = case_rows_per_section(text)
    stated, total = summary(text)
    assert stated == counted
    assert total == sum(counted.values())


def test_every_test_the_page_names_exists():
    text = open(PAGE, encoding="utf-8").read()
    defined, files = set(), set()
    for folder, _dirs, names in os.walk(TESTS):
        for name in names:
            if name.endswith(".py"):
                files.add(name[:-3])
                with open(os.path.join(folder, name), encoding="utf-8") as handle:
                    defined.update(re.findall(r"^\s*(?:async )?def (test_\w+)", handle.read(), flags=re.M))
    named = set(re.findall(r"`(?:[\w/.]+::)?(test_\w+)", text))
    assert named, "the page names no test"
    assert sorted(named - defined - files) == []
