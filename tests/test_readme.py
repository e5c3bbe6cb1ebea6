"""The README shows real output and real commands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tools.update_readme import README, readme_block, sample_output

ROOT = Path(__file__).resolve().parents[1]


def test_sample_output_block_is_what_the_scan_prints():
    assert readme_block(README.read_text()) == sample_output(), (
        "README's sample output is stale: run `python tools/update_readme.py`"
    )


def _block_after(marker: str) -> str:
    text = README.read_text()
    m = re.search(re.escape(marker) + r"\n```sh\n(.*?)\n```", text, re.S)
    assert m, marker
    return m.group(1)


def test_first_section_has_the_two_fresh_machine_commands():
    run = _block_after("<!-- run-command -->")
    test = _block_after("<!-- test-command -->")
    assert run.endswith("pip install . && btcscan scan --sample")
    assert "pip install '.[test]'" in test and test.endswith("python -m pytest -q -n auto")
    first = README.read_text().split("\n## ")[1]  # the first section after the title
    assert first.startswith("Fresh machine") and first.count("```sh") == 2


def test_ci_runs_the_readme_test_command():
    out = subprocess.run(
        [
            "awk",
            "/<!-- test-command -->/{f=1; next} "
            "f && /^```/{if (inblock) exit; inblock=1; next} inblock{print}",
            str(README),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == _block_after("<!-- test-command -->")
    assert "README.md" in (ROOT / ".ci" / "run").read_text()
