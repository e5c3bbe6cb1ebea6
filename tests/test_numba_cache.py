"""The numba cache lives in a user cache dir and falls back when nothing there is writable."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from btcscan.kernels import _jit


def _run(env_extra: dict, code: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300, cwd=Path(__file__).resolve().parents[1])


PROBE = (
    "import json, numpy as np\n"
    "from btcscan.kernels import _jit\n"
    "from btcscan.kernels.rolling import sma\n"
    "print(json.dumps({'dir': _jit.CACHE_DIR, 'v': float(sma(np.arange(10.0), 4)[-1])}))\n"
)


def test_cache_goes_to_user_cache_dir(tmp_path):
    p = _run({"XDG_CACHE_HOME": str(tmp_path)}, PROBE)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out == {"dir": str(tmp_path / "btcscan" / "numba"), "v": 7.5}
    assert any((tmp_path / "btcscan" / "numba").rglob("*.nbi"))  # index files were written


def test_unwritable_user_cache_falls_back(tmp_path):
    # /proc is read-only even for root: the user cache dir cannot be created there
    p = _run({"XDG_CACHE_HOME": "/proc/btcscan-no-such-dir", "TMPDIR": str(tmp_path)}, PROBE)
    assert p.returncode == 0, p.stderr
    out = json.loads(p.stdout)
    assert out["v"] == 7.5
    assert out["dir"].startswith(str(tmp_path))


def test_explicit_numba_cache_dir_wins(tmp_path):
    p = _run({"NUMBA_CACHE_DIR": str(tmp_path / "mine")}, PROBE)
    assert json.loads(p.stdout)["dir"] == str(tmp_path / "mine")


def test_no_writable_location_disables_cache(monkeypatch):
    monkeypatch.setattr(_jit, "_writable", lambda path: False)
    assert _jit._choose_cache_dir() is None
