"""``berth logs`` shows a last output line that has no trailing newline, as Docker does."""

from __future__ import annotations

from pathlib import Path

from rtkit import output, run

from berth.engine import Engine
from berth.runtime.logs import read_log


def test_last_line_without_newline_is_shown(rt: Engine) -> None:
    cid, code = run(rt, "sh", "-c", "echo first; printf x")
    assert code == 0
    assert output(rt, cid) == "first\nx"
    recs = list(rt.logs(cid, tail=1))
    assert [r.line for r in recs] == ["x"]
    followed = list(rt.logs(cid, follow=True))  # follow of an exited container drains, then stops
    assert "".join(r.line for r in followed) == "first\nx"


def test_reader_flushes_a_trailing_partial_record(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text("2024-01-01T00:00:01Z stdout F one\n"
                    "2024-01-01T00:00:02Z stdout P ab\n"
                    "2024-01-01T00:00:03Z stdout P c\n")
    assert [r.line for r in read_log(path)] == ["one\n", "abc"]
    # while a followed container still runs, the partial line waits for the rest of it
    gen = read_log(path, follow=True, running=lambda: False)
    assert [r.line for r in gen] == ["one\n", "abc"]
