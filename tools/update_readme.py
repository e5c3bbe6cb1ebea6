"""Regenerate the README's sample output block from a real run (run by hand).

    python tools/update_readme.py

`tests/test_readme.py` fails when the block and the real output differ.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from btcscan.cli import cli

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(
    r"(<!-- sample-output:[^\n]*-->\n```\n)(.*?)(```\n<!-- /sample-output -->)", re.S
)
COMMAND = ["scan", "--sample"]
WIDTH = "100"


def sample_output() -> str:
    """What `btcscan scan --sample` prints on a 100-column terminal without colour."""
    res = CliRunner().invoke(
        cli, COMMAND, env={"COLUMNS": WIDTH, "NO_COLOR": "1"}, catch_exceptions=False
    )
    if res.exit_code != 0:
        raise SystemExit(f"btcscan {' '.join(COMMAND)} exited {res.exit_code}: {res.stderr}")
    return res.stdout


def readme_block(text: str) -> str:
    m = BLOCK.search(text)
    if not m:
        raise SystemExit("README.md has no <!-- sample-output --> block")
    return m.group(2)


def main() -> None:
    text = README.read_text()
    out = sample_output()
    README.write_text(BLOCK.sub(lambda m: m.group(1) + out + m.group(3), text))
    print(f"README.md: sample output block updated ({out.count(chr(10))} lines)")


if __name__ == "__main__":
    main()
