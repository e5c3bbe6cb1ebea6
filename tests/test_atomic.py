"""btcscan.atomic.replacing: the one way btcscan replaces a file (candle cache, alert
state)."""

from __future__ import annotations

import os
import stat

import pytest

from btcscan.atomic import replacing


def _leftovers(directory):
    return sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp"))


@pytest.mark.parametrize("durable", [False, True])
def test_the_new_file_replaces_the_old_one_whole(tmp_path, durable):
    path = tmp_path / "f.bin"
    path.write_bytes(b"old")
    with replacing(path, durable=durable) as fh:
        fh.write(b"new ")
        assert path.read_bytes() == b"old"  # not yet: a reader meanwhile sees the old file
        fh.write(b"data")
    assert path.read_bytes() == b"new data" and _leftovers(tmp_path) == []


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("old")
    with pytest.raises(ZeroDivisionError), replacing(path, text=True) as fh:
        fh.write("half")
        1 / 0  # noqa: B018
    assert path.read_text() == "old" and _leftovers(tmp_path) == []
    with pytest.raises(KeyboardInterrupt), replacing(path, text=True) as fh:  # a ^C too
        fh.write("half")
        raise KeyboardInterrupt
    assert path.read_text() == "old" and _leftovers(tmp_path) == []


def test_text_is_utf8_and_the_mode_is_the_one_given(tmp_path):
    path = tmp_path / "s.json"
    with replacing(path, text=True, mode=0o640) as fh:
        fh.write("≥ 1 ATR")
    assert path.read_bytes() == "≥ 1 ATR".encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    with replacing(path, text=True) as fh:  # no mode: private, as mkstemp makes it
        fh.write("x")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_missing_directory_raises_before_anything_is_written(tmp_path):
    with pytest.raises(OSError), replacing(tmp_path / "no" / "f.bin") as fh:
        fh.write(b"x")
    assert not (tmp_path / "no").exists()
    assert os.listdir(tmp_path) == []
