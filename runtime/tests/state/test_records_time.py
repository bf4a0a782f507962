"""``rfc3339_ns``: the timestamps of the records, formatted without importing datetime."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from berth.state.records import now_rfc3339, rfc3339_ns


@pytest.mark.parametrize("ns", [0, 1, 999, 1_000, 999_999_999, 1_764_000_000_123_456_789,
                                951_782_400_000_000_000,  # 2000-02-29
                                4_102_444_799_999_999_999])  # 2099-12-31T23:59:59.999999
def test_the_same_text_as_datetime(ns: int) -> None:
    expected = datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(microsecond=ns % 1_000_000_000 // 1000)
    assert rfc3339_ns(ns) == expected.isoformat(timespec="microseconds").replace("+00:00", "Z")


def test_now_parses_back_to_now() -> None:
    text = now_rfc3339()
    assert text.endswith("Z") and len(text) == len("2026-11-25T06:24:31.123456Z")
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - parsed).total_seconds()) < 5
