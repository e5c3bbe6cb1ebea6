"""The first run on a machine: it says on a terminal (stderr only) that it compiles once,
compiles every kernel the commands use, and later runs compile nothing."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import shutil
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from btcscan import cli as cli_mod
from btcscan.kernels import _cache, warm

NOTICE = "btcscan: compiling the scan kernels once (about "


def _read_pty(fd: int) -> str:
    out = b""
    while select.select([fd], [], [], 0.2)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        out += chunk
    return out.decode()


def test_notice_on_a_terminal_names_the_cache():
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as err:
        assert cli_mod.compile_notice("/somewhere/numba", err=err) is True
    text = _read_pty(master)
    os.close(master)
    assert text.startswith(NOTICE)
    assert "s; cached afterwards in /somewhere/numba)" in text


def test_no_notice_when_not_a_terminal_or_quiet():
    buf = io.StringIO()
    assert cli_mod.compile_notice("/x", err=buf) is False
    assert buf.getvalue() == ""
    master, slave = pty.openpty()
    with os.fdopen(slave, "w") as err:
        assert cli_mod.compile_notice("/x", err=err, quiet=True) is False
    assert _read_pty(master) == ""
    os.close(master)


def test_first_scan_compiles_every_kernel_and_marks_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "CACHE_DIR", str(tmp_path))  # the marker's place only
    assert not _cache.is_warm()
    r = CliRunner().invoke(cli_mod.cli, ["scan", "--sample", "--format", "json"],
                           catch_exceptions=False)
    assert r.exit_code == 0
    assert json.loads(r.stdout)["series"]  # stdout is the JSON, nothing else
    assert NOTICE not in r.stderr  # stderr is no terminal here
    assert _cache.is_warm()
    assert list(tmp_path.glob(f".btcscan-warm-{_cache.kernels_stamp()}"))


def test_warmup_says_where_on_stderr_only():
    r = CliRunner().invoke(cli_mod.cli, ["warmup"], catch_exceptions=False)
    assert r.exit_code == 0
    assert r.stdout == ""
    assert r.stderr.startswith("btcscan: scan kernels compiled in ")
    assert r.stderr.rstrip().endswith(f"cache: {_cache.CACHE_DIR}")
    assert _cache.is_warm()


def _scan_on_a_terminal(env: dict) -> tuple[int, str, str]:
    """``btcscan scan --sample --format json`` with stderr on a pseudo-terminal and stdout
    on a pipe: (exit code, stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    p = subprocess.Popen([sys.executable, "-m", "btcscan", "scan", "--sample", "--format",
                          "json"], stdout=subprocess.PIPE, stderr=slave, env=env,
                         cwd=Path(__file__).resolve().parents[1])
    os.close(slave)
    out, _ = p.communicate(timeout=600)
    err = _read_pty(master)
    os.close(master)
    return p.returncode, out.decode(), err


def test_first_run_on_a_terminal_prints_the_notice_to_stderr_not_stdout(tmp_path):
    """A real process whose cache holds numba's files but not the marker of a finished
    warm-up (so it loads instead of compiling, and still says it compiles: the notice is
    decided before numba loads); the next run says nothing."""
    cli_mod.compile_once()  # make sure the machine code is in the cache to copy
    cache = tmp_path / "numba"
    shutil.copytree(_cache.CACHE_DIR, cache, ignore=shutil.ignore_patterns(".btcscan-warm-*"))
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    code, out, err = _scan_on_a_terminal(env)
    assert code == 0
    assert err.startswith(NOTICE) and f"cached afterwards in {cache})" in err
    assert NOTICE not in out
    assert json.loads(out)["series"]
    assert list(cache.glob(".btcscan-warm-*"))
    code, out, err = _scan_on_a_terminal(env)
    assert code == 0 and json.loads(out)["series"]
    assert NOTICE not in err


def test_stats_first_run_compiles_every_kernel_and_marks_the_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "CACHE_DIR", str(tmp_path))  # the marker's place only
    assert not _cache.is_warm()
    r = CliRunner().invoke(cli_mod.cli, ["stats", "--sample", "--format", "json"],
                           catch_exceptions=False)
    assert r.exit_code == 0
    assert json.loads(r.stdout)  # stdout is the JSON, nothing else
    assert NOTICE not in r.stderr  # stderr is no terminal here
    assert _cache.is_warm()


def test_stats_first_run_on_a_terminal_says_it_compiles(tmp_path, monkeypatch):
    monkeypatch.setattr(_cache, "CACHE_DIR", str(tmp_path))  # not warm: the notice is due
    said = []
    monkeypatch.setattr(cli_mod, "compile_notice",
                        lambda cache_dir, err=None, quiet=False: said.append(cache_dir))
    r = CliRunner().invoke(cli_mod.cli, ["stats", "--sample", "--format", "json"],
                           catch_exceptions=False)
    assert r.exit_code == 0
    assert said == [str(tmp_path)]
    said.clear()
    assert CliRunner().invoke(cli_mod.cli, ["stats", "--sample"]).exit_code == 0
    assert said == []  # warm now: nothing to say


#: compile_all in a fresh process with an empty cache; prints which kernels this process
#: compiled itself (numba's compile events) and whether the cache was marked warm
_COMPILE_ALL = r"""
import json, sys
from numba.core import event
from btcscan.kernels import _cache, warm
with event.install_recorder("numba:compile") as rec:
    if sys.argv[1] == "no-wait":  # as the first scan does: the child's kernels load on first use
        warm.compile_all(wait=False)
        before = _cache.is_warm()
        warm.compile_group(warm.CHILD_GROUP)
        assert not before or warm._cores() < 2
    else:
        warm.compile_all()
compiled = [e.data["dispatcher"].py_func.__name__ for _, e in rec.buffer if e.is_start]
print(json.dumps({"compiled": compiled, "warm": _cache.is_warm()}))
"""

#: the kernels a scan calls (the jitted entry points behind the public wrappers)
CHILD_KERNELS = {name for _, name in warm._CHILD_KERNELS}
OWN_KERNELS = {"_atr_into", "_rsi_into", "_raw_pivot_list", "_zigzag_into",
               "_divergences_into"}


def _compile_all_fresh(tmp_path, mode: str) -> dict:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / mode)}
    r = subprocess.run([sys.executable, "-c", _COMPILE_ALL, mode], env=env, capture_output=True,
                       text=True, timeout=600, check=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(r.stdout)


def test_compile_all_leaves_one_group_to_a_child_process(tmp_path):
    got = _compile_all_fresh(tmp_path, "child")
    assert got["warm"]
    compiled = set(got["compiled"])
    assert OWN_KERNELS <= compiled
    if warm._cores() > 1:  # the child compiled these: this process loaded them
        assert not compiled & CHILD_KERNELS
    else:
        assert CHILD_KERNELS <= compiled
    # everything is in the cache now: a new process compiles nothing
    check = ("from numba.core import event\n"
             "with event.install_recorder('numba:compile') as rec:\n"
             "    from btcscan.kernels import warm\n"
             "    warm.compile_group('wedges'); warm.compile_group('pivots')\n"
             "print(len(rec.buffer))")
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                       env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "child")},
                       timeout=600, check=True, cwd=Path(__file__).resolve().parents[1])
    assert r.stdout.split() == ["0"]


def test_the_child_is_started_before_numpy_and_numba_are_imported():
    # compile_all starts the child first; what the parent imported by then (the notice
    # imports warm too) delays the child's compile, which ends the first scan
    check = ("import sys\n"
             "from btcscan.kernels import warm\n"
             "print(sorted({'numpy', 'numba'} & set(sys.modules)))")
    r = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                       timeout=120, check=True, cwd=Path(__file__).resolve().parents[1])
    assert r.stdout.split() == ["[]"]


# compile_all with a failing child compiles everything itself: tests/test_numba_cache.py
# (test_cached_kernels_load_without_numba_refresh, whose first run is that compile)


def test_compile_all_without_waiting_loads_the_childs_kernels_when_first_called(tmp_path):
    got = _compile_all_fresh(tmp_path, "no-wait")
    assert got["warm"]  # marked once the child was done
    compiled = set(got["compiled"])
    assert OWN_KERNELS <= compiled
    if warm._cores() > 1:
        assert not compiled & CHILD_KERNELS
