"""The commands in examples/ run against the bundled sample, so they cannot rot, and
docs/reports.md names every condition and exit code."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from btcscan.alerts.conditions import CONDITIONS
from btcscan.cli import cli
from btcscan.errors import ExitCode
from tests.conftest import REPO
from tests.test_state_notify import Hook


def commands(path: Path) -> list[list[str]]:
    """Every `btcscan ...` command in a file, as argv after `btcscan`, redirections cut."""
    out = []
    for line in path.read_text().splitlines():
        if line.lstrip().startswith("#") or "btcscan scan" not in line:
            continue
        argv = shlex.split(line[line.index("btcscan scan"):])
        for redirect in (">", ">>"):
            if redirect in argv:
                argv = argv[:argv.index(redirect)]
        out.append(argv[1:])
    return out


def run(argv: list[str], home: str | None = None):
    if home is not None:
        argv = [a.replace("$HOME", home) for a in argv]
    return CliRunner().invoke(cli, argv, catch_exceptions=False)


def test_crontab_lines_run_and_are_quiet_the_second_time(tmp_path, monkeypatch):
    cmds = [c for c in commands(REPO / "examples" / "crontab.txt") if "--config" not in c]
    assert len(cmds) == 2
    monkeypatch.setattr("btcscan.alerts.notify._sleep", lambda s: None)
    hook = Hook([])
    try:
        for argv in cmds:
            argv = [hook.url if a.startswith("https://hooks.example.com") else a for a in argv]
            first = run(argv, str(tmp_path))
            assert first.exit_code == 0, first.stderr
            second = run(argv, str(tmp_path))
            assert (second.exit_code, second.stdout) == (0, "")
            state = tmp_path / ".local" / "state" / "btcscan" / (
                "daily.json" if "1d" in argv else "weekly.json")
            assert json.loads(state.read_text())["version"] == 2
        assert (tmp_path / "btcscan" / "btc-weekly.png").exists()
    finally:
        hook.close()


def test_crontab_calls_the_virtualenv_btcscan_by_its_full_path():
    """cron's PATH has no virtualenv: every job names the venv's btcscan in full."""
    jobs = [ln for ln in (REPO / "examples" / "crontab.txt").read_text().splitlines()
            if "btcscan scan" in ln and not ln.lstrip().startswith("#")]
    assert len(jobs) == 3
    for ln in jobs:
        exe = ln[:ln.index(" scan ")].split()[-1]
        assert exe == "$HOME/btcscan/.venv/bin/btcscan", ln


def test_ci_workflow_commands(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cmds = commands(REPO / "examples" / "ci-workflow.yml")
    assert len(cmds) == 2
    scan = run(cmds[0])
    # on the sample's last week BTC closed below its 50-week SMA: the condition holds
    assert scan.exit_code == ExitCode.CONDITION_MET
    doc = json.loads(scan.stdout)
    assert [c["condition"] for c in doc["conditions"] if c["holds"]] == ["below-sma:50",
                                                                       "drawdown:30"]
    assert (tmp_path / "btc-weekly.png").exists()
    csv_out = run(cmds[1])
    assert csv_out.exit_code == 0 and csv_out.stdout.startswith("market,symbol,")
    text = (REPO / "examples" / "ci-workflow.yml").read_text()
    assert '"$code" -eq 3' in text and str(int(ExitCode.CONDITION_MET)) == "3"


def test_ci_workflow_caches_the_compiled_kernels():
    """A fresh runner: checkout, install this repo, restore numba's cache (keyed on the
    kernels' sources), warm up, then scan; the cached directory is the one btcscan uses."""
    text = (REPO / "examples" / "ci-workflow.yml").read_text()
    steps = [ln.strip() for ln in text.splitlines()]
    order = [next(i for i, ln in enumerate(steps) if ln.endswith(s)) for s in
             ("actions/checkout@v4", "run: pip install .", "actions/cache@v4",
              "run: btcscan warmup", "btcscan scan --sample --timeframe 1w --fail-on "
              "below-sma:50,crossed-below-sma:100,drawdown:30 --format json --chart "
              "btc-weekly.png > scan.json")]
    assert order == sorted(order)
    assert "NUMBA_CACHE_DIR: ${{ runner.temp }}/btcscan-numba" in steps
    assert "path: ${{ env.NUMBA_CACHE_DIR }}" in steps
    assert "hashFiles('btcscan/kernels/*.py'" in text
    assert run(["warmup"]).exit_code == 0


@pytest.mark.parametrize("name", list(CONDITIONS))
def test_reports_doc_lists_every_condition(name):
    assert f"`{name}" in (REPO / "docs" / "reports.md").read_text()


def test_reports_doc_lists_every_exit_code():
    text = (REPO / "docs" / "reports.md").read_text()
    for code in ExitCode:
        assert re.search(rf"^\| {int(code)} \|", text, re.M), code


def _doc_chart_lines() -> list[str]:
    text = (REPO / "docs" / "reports.md").read_text()
    return [ln.strip() for ln in text.splitlines()
            if ln.startswith("btcscan scan") and "--chart docs/" in ln]


@pytest.mark.parametrize("line", _doc_chart_lines())
def test_reports_doc_chart_commands_regenerate_the_images(tmp_path, line):
    argv = shlex.split(line)[1:]
    i = argv.index("--chart") + 1
    shipped_path, argv[i] = REPO / argv[i], str(tmp_path / "new.png")
    assert run(argv).exit_code == 0
    from matplotlib.image import imread

    new, shipped = imread(tmp_path / "new.png"), imread(shipped_path)
    assert new.shape == shipped.shape == (900, 1600, 4)
    # the same picture (small tolerance for font rendering across matplotlib builds)
    assert abs(new - shipped).mean() < 0.01


def test_every_doc_image_has_its_command():
    shown = {p.name for p in (REPO / "docs").glob("*.png")}
    assert shown == {shlex.split(ln)[shlex.split(ln).index("--chart") + 1].split("/")[-1]
                     for ln in _doc_chart_lines()} == {"btc-weekly.png", "btc-daily-wedge.png"}


def test_crontab_watchlist_line(tmp_path):
    """The watchlist line of the crontab, on examples/watchlist.toml copied to $HOME/btcscan:
    every market once, then nothing new."""
    (cmd,) = [c for c in commands(REPO / "examples" / "crontab.txt") if "--config" in c]
    (tmp_path / "btcscan").mkdir()
    (tmp_path / "btcscan" / "watchlist.toml").write_text(
        (REPO / "examples" / "watchlist.toml").read_text())
    first = run(cmd, str(tmp_path))
    assert first.exit_code == 0, first.stderr
    lines = [json.loads(ln) for ln in first.stdout.splitlines()]
    import tomllib

    markets = tomllib.loads((REPO / "examples" / "watchlist.toml").read_text())["watchlist"][
        "markets"]
    assert len(lines) == len(markets) == 9
    assert any(ln["signals"] for ln in lines)  # ETH/USDT daily has a divergence
    second = run(cmd, str(tmp_path))
    assert (second.exit_code, second.stdout) == (0, "")


def test_python_api_example(capsys):
    import runpy

    mod = runpy.run_path(str(REPO / "examples" / "scan_watchlist.py"))
    assert mod["main"]([]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "signal  ETH/USDT   1d  2026-03-01  bullish-divergence" in out
    assert any(ln.startswith("near    ") for ln in out)


def test_python_api_example_reports_a_failed_market(tmp_path, capsys):
    import runpy

    cfg = tmp_path / "w.toml"
    cfg.write_text('[watchlist]\nmarkets = ["sample:BTC/USD", "sample:GONE/USDT"]\n')
    mod = runpy.run_path(str(REPO / "examples" / "scan_watchlist.py"))
    assert mod["main"]([str(cfg)]) == 1
    assert "failed  sample:GONE/USDT: no bundled sample" in capsys.readouterr().err
