"""The k8s-file log reader: Docker's logs semantics (no runtime needed)."""

from __future__ import annotations

from pathlib import Path

from berth.engine.container_ops import parse_since
from berth.runtime.etcfiles import resolv_conf
from berth.runtime.logs import parse_time, read_log

LOG = (
    "2024-01-01T00:00:01.000000001+00:00 stdout F one\n"
    "2024-01-01T00:00:02.5+00:00 stderr P par\n"
    "2024-01-01T00:00:02.6+00:00 stdout F two\n"
    "2024-01-01T00:00:02.7+00:00 stderr F tial\n"
    "2024-01-01T00:00:03Z stdout F \n"
)


def test_streams_partials_tail_since(tmp_path: Path) -> None:
    path = tmp_path / "log"
    path.write_text(LOG)
    recs = list(read_log(path))
    assert [(r.stream, r.line) for r in recs] == [("stdout", "one\n"), ("stdout", "two\n"),
                                                 ("stderr", "partial\n"), ("stdout", "\n")]
    assert [r.line for r in read_log(path, tail=2)] == ["partial\n", "\n"]
    assert list(read_log(path, tail=0)) == []
    since = parse_time("2024-01-01T00:00:02.55Z")
    assert [r.line for r in read_log(path, since=since)] == ["two\n", "\n"]
    assert list(read_log(tmp_path / "missing")) == []


def test_time_parsing() -> None:
    assert parse_time("2024-01-01T00:00:00.5+00:00") == 1704067200.5
    assert parse_time("2024-01-01T00:00:00Z") == 1704067200.0
    assert parse_since("10m", now=1000.0) == 400.0
    assert parse_since("1700000000") == 1700000000.0
    assert parse_since(None) is None


def test_resolv_conf_skips_loopback_stub(tmp_path: Path) -> None:
    host = tmp_path / "resolv.conf"
    host.write_text("nameserver 127.0.0.53\nsearch lan\n")
    upstream = tmp_path / "upstream.conf"
    upstream.write_text("nameserver 192.0.2.1\nsearch lan\n")
    assert resolv_conf(host=host, upstream=upstream) == "nameserver 192.0.2.1\nsearch lan\n"
    assert "nameserver 8.8.8.8" in resolv_conf(host=host, upstream=tmp_path / "none")
    assert resolv_conf(["1.1.1.1"], host=host, upstream=upstream) == "search lan\nnameserver 1.1.1.1\n"


def test_follow_ends_cleanly_if_the_record_stream_ends(tmp_path: Path, monkeypatch) -> None:
    """``read_log`` is a generator: an inner iterator running out must not surface as StopIteration
    (a RuntimeError, PEP 479). ``_records`` never ends today; a finite stand-in proves the loop."""
    from berth.runtime import logs

    path = tmp_path / "log"
    path.write_text(LOG)
    line = logs.LogLine("stdout", "only\n", "2024-01-01T00:00:01Z")

    def finite(f, final=lambda: True):
        yield line  # and no None: the stream just stops

    monkeypatch.setattr(logs, "_records", finite)
    states = iter([True, False])
    assert list(read_log(path, follow=True, running=lambda: next(states, False), poll=0)) == [line]
