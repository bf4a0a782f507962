from __future__ import annotations

import pytest

from berth.errors import InvalidReference
from berth.reference import Platform


def test_parse_and_normalise() -> None:
    assert Platform.parse("linux/amd64") == Platform("linux", "amd64")
    assert Platform.parse("linux/x86_64") == Platform("linux", "amd64")
    assert Platform.parse("linux/arm64/v8") == Platform("linux", "arm64", "v8")
    assert str(Platform.parse("Linux/ARM/v7")) == "linux/arm/v7"


@pytest.mark.parametrize("bad", ["", "linux", "linux/", "/amd64", "a/b/c/d"])
def test_bad_platform(bad: str) -> None:
    with pytest.raises(InvalidReference):
        Platform.parse(bad)


def test_matching_rules() -> None:
    assert Platform.parse("linux/arm64").matches(Platform("linux", "arm64", "v8"))
    assert Platform.parse("linux/arm64/v8").matches(Platform("linux", "arm64", ""))
    assert not Platform.parse("linux/arm/v7").matches(Platform("linux", "arm", "v6"))
    assert not Platform.parse("linux/amd64").matches(Platform("windows", "amd64"))
    assert Platform.host().os == "linux"
