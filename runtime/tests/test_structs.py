"""berth.structs against the standard library's dataclasses: the same class bodies built by both
must construct, compare, hash, order, print, copy and convert alike, and refuse the same input."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from typing import ClassVar

import pytest

from berth import structs


def build(lib, frozen: bool = True, kw_only: bool = False, order: bool = False):
    """Two classes of the same shape: a base with a required, a default and a factory field, a
    ClassVar, a field left out of repr and compare, and a subclass adding a field."""

    @lib.dataclass(frozen=frozen, kw_only=kw_only, order=order)
    class Base:
        """A base."""

        kind: ClassVar[str] = "base"
        name: str
        size: int = 3
        tags: tuple[str, ...] = ()
        opts: dict = lib.field(default_factory=dict, hash=False)
        note: str = lib.field(default="", repr=False, compare=False)

        def label(self) -> str:
            return f"{self.kind}:{self.name}"

    @lib.dataclass(frozen=frozen, kw_only=kw_only, order=order)
    class Child(Base):
        extra: list = lib.field(default_factory=list)

    return Base, Child


LIBS = [pytest.param(dataclasses, id="stdlib"), pytest.param(structs, id="structs")]


def outcome(fn):
    """What a call does: its value, or the type and text of what it raised."""
    try:
        return ("ok", fn())
    except Exception as e:
        return (type(e).__name__, str(e).replace("__create_fn__.<locals>.", ""))


CALLS = [
    lambda c: c("a"),
    lambda c: c("a", 5),
    lambda c: c(name="a", size=5, tags=("x",)),
    lambda c: c(),
    lambda c: c("a", name="b"),
    lambda c: c("a", bogus=1),
    lambda c: c("a", 1, (), {}, "n", "too many"),
]


@pytest.mark.parametrize("kw_only", [False, True])
@pytest.mark.parametrize("frozen", [False, True])
def test_construction_and_its_errors_match_dataclasses(frozen: bool, kw_only: bool) -> None:
    ours, theirs = build(structs, frozen, kw_only)[0], build(dataclasses, frozen, kw_only)[0]
    for call in CALLS:
        got, want = outcome(lambda call=call: call(ours)), outcome(lambda call=call: call(theirs))
        if want[0] == "ok":
            assert got[0] == "ok", (got, want)
            assert repr(got[1]) == repr(want[1])
        else:  # the same error in CPython's words (up to how it counts what was given)
            assert (got[0], got[1].split(" but ")[0]) == (want[0], want[1].split(" but ")[0])


@pytest.mark.parametrize("lib", LIBS)
def test_value_semantics(lib) -> None:
    base, child = build(lib, order=True)
    a, b = base("a", 1, note="x"), base("a", 1, note="y")
    assert a == b and hash(a) == hash(b)  # note is compare=False
    assert a != child("a", 1) and base("a", 1) < base("a", 2) < base("b", 0)
    assert repr(a) == "test_structs.build.<locals>.Base(name='a', size=1, tags=(), opts={})".replace(
        "test_structs.", "") or repr(a).endswith("Base(name='a', size=1, tags=(), opts={})")
    assert base("a").opts is not base("a").opts  # a fresh factory value each time
    assert a.label() == "base:a" and base.kind == "base"
    assert [f.name for f in lib.fields(child)] == ["name", "size", "tags", "opts", "note", "extra"]
    assert base.__match_args__ == ("name", "size", "tags", "opts", "note")
    with pytest.raises(AttributeError, match="cannot assign to field 'name'"):
        a.name = "z"  # type: ignore[misc]
    with pytest.raises(TypeError):
        base("a") < child("a")  # noqa: B015 (the comparison is what raises)


@pytest.mark.parametrize("lib", LIBS)
def test_replace_and_asdict(lib) -> None:
    base, child = build(lib)
    c = child("a", 2, ("t",), {"k": base("inner")}, extra=[base("x")])
    r = lib.replace(c, size=9)
    assert r.size == 9 and r.name == "a" and r.extra == c.extra and c.size == 2
    d = lib.asdict(c)
    assert d == {"name": "a", "size": 2, "tags": ("t",), "note": "", "extra": [
        {"name": "x", "size": 3, "tags": (), "opts": {}, "note": ""}],
        "opts": {"k": {"name": "inner", "size": 3, "tags": (), "opts": {}, "note": ""}}}
    assert d["opts"] is not c.opts  # a copy, not the instance's dict
    with pytest.raises(TypeError):
        lib.replace(c, bogus=1)


def test_the_same_definition_errors_as_dataclasses() -> None:
    for lib in (dataclasses, structs):
        with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
            @lib.dataclass
            class Bad:
                a: int = 1
                b: int

        with pytest.raises(ValueError, match="mutable default"):
            @lib.dataclass
            class Shared:
                a: list = []  # noqa: RUF012 (the error under test)


def test_post_init_unhashable_mutable_and_own_methods() -> None:
    @structs.dataclass
    class Mutable:
        a: int
        seen: list = structs.field(default_factory=list, init=False)

        def __post_init__(self) -> None:
            self.seen.append(self.a)

        def __repr__(self) -> str:
            return "mine"

    m = Mutable(1)
    assert m.seen == [1] and repr(m) == "mine"
    m.a = 2  # not frozen
    assert Mutable.__hash__ is None  # eq without frozen: unhashable, as dataclasses
    with pytest.raises(ValueError, match="init=False"):
        structs.replace(m, seen=[])


def test_importing_it_does_not_import_dataclasses_or_inspect() -> None:
    code = "import sys, berth.structs; print(sorted({'dataclasses', 'inspect'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
