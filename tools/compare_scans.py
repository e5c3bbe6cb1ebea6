"""Compare the JSON scans of two revisions of btcscan (run by hand; proves "behaviour
unchanged" for engine work).

    python tools/compare_scans.py --base 090b9e1            # base revision vs this tree
    python tools/compare_scans.py --base 090b9e1 --head HEAD
    python tools/compare_scans.py --emit out.json           # only this tree's scans

Each side runs in its own subprocess with its own tree first on ``sys.path`` (a revision
is checked out into a temporary ``git worktree``), drives the real CLI in process
(``btcscan scan ... --format json``) over every bundled market x 1d/3d/1w/1M x several
as-of dates (plus hidden divergences, the watchlist path and the real files in
``--files``), and writes every case's exit code, stdout (JSON) and stderr. The two sets
are compared field by field: nothing here is a golden file produced by the code, both
sides are computed now. Exit 0 when identical, 1 with a list of differences otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKETS = ("BTC/USD", "BTC/USDT", "ETH/USDT", "SOL/USDT", "XRP/USDT", "BNB/USDT", "DOGE/USDT",
           "ADA/USDT")
TIMEFRAMES = ("1d", "3d", "1w", "1M")
ASOFS = ("2019-06-01", "2021-11-10", "2025-11-04", "2026-03-01", "2026-04-18", None)  # None: latest
SHARED = Path("/work/shared/data")
#: real files scanned at their native and a coarser timeframe (skipped when absent)
FILES = ((SHARED / "btcusdt_1d.csv", ("1d", "1w")), (SHARED / "btcusdt_4h.csv.gz", ("4h", "1d")),
         (SHARED / "ethusdt_4h.csv.gz", ("4h",)))


def cases() -> list[tuple[str, list[str]]]:
    """(name, CLI arguments) of every scan compared."""
    out = []
    for tf in TIMEFRAMES:
        for asof in ASOFS:
            at = ["--asof", asof] if asof else []
            for m in MARKETS:
                out.append((f"sample {m} {tf} {asof}",
                            ["scan", "--sample", m, "-t", tf, *at, "--format", "json"]))
            if tf == "1d":
                for m in MARKETS:
                    out.append((f"sample {m} {tf} {asof} hidden",
                                ["scan", "--sample", m, "-t", tf, *at, "--hidden-divergences",
                                 "--format", "json"]))
            # the watchlist path (api.scan_markets), every bundled market in one run
            out.append((f"watchlist {tf} {asof}",
                        ["scan", *[f"sample:{m}" for m in MARKETS], "-t", tf, *at,
                         "--format", "json"]))
    for path, tfs in FILES:
        if path.is_file():
            for tf in tfs:
                for asof in ("2021-11-10", None):
                    at = ["--asof", asof] if asof else []
                    out.append((f"file {path.name} {tf} {asof}",
                                ["scan", "--from-file", str(path), "-t", tf, *at,
                                 "--format", "json"]))
    return out


def emit(dest: Path) -> None:
    """Run every case with the btcscan found first on sys.path; write them to ``dest``."""
    from click.testing import CliRunner

    import btcscan
    from btcscan.cli import cli

    where = Path(btcscan.__file__).resolve().parents[1]
    expect = Path(os.environ.get("COMPARE_TREE", where)).resolve()
    if where != expect:
        raise SystemExit(f"compare_scans: imported btcscan from {where}, expected {expect}")
    env = {"COLUMNS": "100", "NO_COLOR": "1", "BTCSCAN_CONFIG": os.devnull}
    results = {}
    for name, args in cases():
        r = CliRunner().invoke(cli, args, env=env)
        results[name] = {"args": args, "exit_code": r.exit_code, "stdout": r.stdout,
                         "stderr": r.stderr,
                         "exception": None if r.exception is None or isinstance(
                             r.exception, SystemExit) else repr(r.exception)}
    dest.write_text(json.dumps({"tree": str(where), "cases": results}), encoding="utf-8")


def _diff(a, b, path: str, out: list[str], limit: int = 20) -> None:
    if len(out) >= limit:
        return
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{path}.{k}: only in {'head' if k in b else 'base'}")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out, limit)
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            out.append(f"{path}: {len(a)} items in base, {len(b)} in head")
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            _diff(x, y, f"{path}[{i}]", out, limit)
    elif a != b or type(a) is not type(b):
        out.append(f"{path}: base {a!r} != head {b!r}")


def compare(base: dict, head: dict) -> list[str]:
    """Every difference between two ``emit`` outputs, one line each (empty if identical)."""
    lines = []
    for name in sorted(set(base) | set(head)):
        if name not in base or name not in head:
            lines.append(f"{name}: only in {'head' if name in head else 'base'}")
            continue
        a, b = base[name], head[name]
        found: list[str] = []
        for key in ("exit_code", "exception", "stderr"):
            if a[key] != b[key]:
                found.append(f"{key}: base {a[key]!r} != head {b[key]!r}")
        try:
            ja, jb = json.loads(a["stdout"]), json.loads(b["stdout"])
        except ValueError:
            if a["stdout"] != b["stdout"]:
                found.append("stdout differs (not JSON)")
        else:
            _diff(ja, jb, "$", found)
        lines += [f"{name}: {f}" for f in found]
    return lines


def _run_tree(tree: Path, dest: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(tree), "COMPARE_TREE": str(tree)}
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "--emit", str(dest)],
                   check=True, env=env, cwd=tree)


def _scans_of(rev: str | None, tmp: Path) -> dict:
    """The cases of revision ``rev`` (None = this working tree as it is)."""
    dest = tmp / f"{rev or 'tree'}.json"
    if rev is None:
        _run_tree(ROOT, dest)
    else:
        wt = tmp / f"wt-{rev}"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "-q", str(wt),
                        rev], check=True)
        try:
            _run_tree(wt, dest)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)],
                           check=False)
    return json.loads(dest.read_text(encoding="utf-8"))["cases"]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", help="revision to compare against (e.g. 090b9e1)")
    ap.add_argument("--head", help="revision to compare (default: this working tree)")
    ap.add_argument("--emit", type=Path, help="only write this tree's scans to a file")
    a = ap.parse_args(argv)
    if a.emit:
        emit(a.emit)
        return 0
    if not a.base:
        ap.error("give --base REV (or --emit PATH)")
    with tempfile.TemporaryDirectory(prefix="btcscan-compare-") as tmp:
        base = _scans_of(a.base, Path(tmp))
        head = _scans_of(a.head, Path(tmp))
    diffs = compare(base, head)
    ok = sum(1 for c in base.values() if c["exit_code"] == 0)
    print(f"{len(base)} scans ({ok} exit 0, {len(base) - ok} refused the input the same "
          f"way or not), base {a.base} vs head {a.head or 'working tree'}")
    if diffs:
        print(f"{len(diffs)} difference(s):")
        for d in diffs[:200]:
            print("  " + d)
        return 1
    print("identical: every exit code, message, event, level and number")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
