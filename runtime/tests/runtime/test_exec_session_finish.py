"""The end of an attached exec session (``exec -it``): exit code from conmon's sync pipe, and the
session directory removed only once conmon has exited (no conmon needed: a pipe plays its part)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from berth.runtime.exec import _finish_session, _SyncReader

CID = "c" * 64


def _session(tmp_path: Path) -> Path:
    sdir = tmp_path / "exec" / "s1"
    sdir.mkdir(parents=True)
    (sdir / "attach").write_text("")  # stands for conmon's attach socket
    (sdir / "pid").write_text("42")
    return sdir


def test_the_directory_goes_only_after_conmon_has_exited(tmp_path: Path) -> None:
    """conmon 2.1.6 sends the exit code, then unlinks its attach socket, then exits: an rmtree
    right after the message raced that unlink (FileNotFoundError, and exit status 1)."""
    sdir = _session(tmp_path)
    r, w = os.pipe()
    os.write(w, b'{"data": 2}\n')
    unlinked: list[BaseException | None] = []

    def conmon_exits() -> None:
        time.sleep(0.3)
        try:
            (sdir / "attach").unlink()
            unlinked.append(None)
        except BaseException as e:  # the directory was removed under "conmon"
            unlinked.append(e)
        os.close(w)

    t = threading.Thread(target=conmon_exits)
    t.start()
    try:
        assert _finish_session(_SyncReader(r), sdir, CID) == 2
    finally:
        t.join()
        os.close(r)
    assert unlinked == [None]
    assert not sdir.exists()


def test_a_conmon_that_does_not_exit_leaves_the_directory_to_the_sweep(tmp_path: Path) -> None:
    sdir = _session(tmp_path)
    r, w = os.pipe()
    try:
        os.write(w, b'{"data": 0}\n')
        assert _finish_session(_SyncReader(r), sdir, CID, exit_timeout=0.2) == 0
        assert (sdir / "attach").exists()
    finally:
        os.close(r)
        os.close(w)


def test_no_exit_message_reads_the_exit_file(tmp_path: Path) -> None:
    sdir = _session(tmp_path)
    (sdir / CID).write_text("3")
    r, w = os.pipe()
    os.close(w)  # conmon died without a word
    try:
        assert _finish_session(_SyncReader(r), sdir, CID) == 3
    finally:
        os.close(r)
    assert not sdir.exists()
