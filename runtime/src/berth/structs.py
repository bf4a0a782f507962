"""Value classes: the part of ``dataclasses`` berth uses, without its cost at import.

``dataclasses`` writes each class's methods as source text and compiles them: six ``exec`` for
a frozen class, ~0.5 ms of CPU per class on the 2-core test machine, paid again by every process
that imports the class. It also imports ``inspect`` (with ast, dis and tokenize, ~5 ms). A
``berth run`` imports about 35 such classes, so ``dataclasses`` was ~20 ms of every ~160 ms run
(docs/design.md, budgets). Here the methods are closures over the class's field list, made once
per class with no compiling.

The spelling and the meaning are the standard library's, for what berth uses:
``@dataclass(frozen=, kw_only=, order=, eq=, repr=)``; ``field(default=, default_factory=,
init=, repr=, hash=, compare=, kw_only=)``; ``fields()``, ``replace()``, ``asdict()``;
``__post_init__``; ``ClassVar`` annotations are not fields; a subclass inherits its bases'
fields (base fields first); methods the class body defines itself are kept. Not supported (berth
does not use them): ``InitVar``, ``KW_ONLY``, ``slots``, ``unsafe_hash``, ``match_args=False``.
``__init__`` checks its arguments as a generated one would, with the same ``TypeError``s.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, dataclass_transform

__all__ = ["FrozenInstanceError", "asdict", "dataclass", "field", "fields", "is_struct", "replace"]

_FIELDS = "__struct_fields__"


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


class FrozenInstanceError(AttributeError):
    """Assigning to a field of a frozen value class."""


class Field:
    """One field: its name and what ``field()`` said of it."""

    __slots__ = ("compare", "default", "default_factory", "hash", "init", "kw_only", "name", "repr")

    def __init__(self, default: Any, default_factory: Any, init: bool, repr: bool,
                 hash: bool | None, compare: bool, kw_only: Any) -> None:
        if default is not MISSING and default_factory is not MISSING:
            raise ValueError("cannot specify both default and default_factory")
        self.name = ""
        self.default = default
        self.default_factory = default_factory
        self.init = init
        self.repr = repr
        self.hash = hash
        self.compare = compare
        self.kw_only = kw_only

    def __repr__(self) -> str:
        return f"Field(name={self.name!r}, default={self.default!r}, default_factory={self.default_factory!r})"


def field(*, default: Any = MISSING, default_factory: Any = MISSING, init: bool = True, repr: bool = True,
          hash: bool | None = None, compare: bool = True, kw_only: Any = MISSING) -> Any:
    return Field(default, default_factory, init, repr, hash, compare, kw_only)


@dataclass_transform(field_specifiers=(field, Field))
def dataclass(cls: type | None = None, /, *, frozen: bool = False, kw_only: bool = False, order: bool = False,
              eq: bool = True, repr: bool = True) -> Any:
    """``@dataclass`` or ``@dataclass(frozen=True, ...)``, as the standard library's."""
    def wrap(c: type) -> type:
        return _process(c, frozen=frozen, kw_only=kw_only, order=order, eq=eq, with_repr=repr)

    return wrap if cls is None else wrap(cls)


def is_struct(obj: Any) -> bool:
    return hasattr(obj, _FIELDS)


def fields(obj: Any) -> tuple[Field, ...]:
    try:
        return tuple(getattr(obj, _FIELDS).values())
    except AttributeError:
        raise TypeError("must be called with a value class or an instance of one") from None


def replace(obj: Any, /, **changes: Any) -> Any:
    """A copy of ``obj`` with ``changes`` (through ``__init__``, so its checks run again)."""
    for f in getattr(obj, _FIELDS).values():
        if not f.init:
            if f.name in changes:
                raise ValueError(f"field {f.name} is declared with init=False, it cannot be specified with replace()")
        elif f.name not in changes:
            changes[f.name] = getattr(obj, f.name)
    return obj.__class__(**changes)


def asdict(obj: Any, *, dict_factory: Any = dict) -> Any:
    """Fields to a dict, recursing into value classes, lists, tuples and dicts (copies, as stdlib)."""
    if not is_struct(obj) or isinstance(obj, type):
        raise TypeError("asdict() should be called on value class instances")
    return _asdict(obj, dict_factory)


_ATOMIC = frozenset({str, int, float, bool, bytes, type(None)})


def _asdict(obj: Any, dict_factory: Any) -> Any:
    if type(obj) in _ATOMIC:  # what deepcopy returns as it is, without importing copy
        return obj
    if hasattr(type(obj), _FIELDS):
        return dict_factory([(f.name, _asdict(getattr(obj, f.name), dict_factory)) for f in fields(obj)])
    if isinstance(obj, tuple) and hasattr(obj, "_fields"):  # a namedtuple takes its fields positionally
        return type(obj)(*[_asdict(v, dict_factory) for v in obj])
    if isinstance(obj, list | tuple):
        return type(obj)(_asdict(v, dict_factory) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((_asdict(k, dict_factory), _asdict(v, dict_factory)) for k, v in obj.items())
    import copy

    return copy.deepcopy(obj)


# -- building a class ----------------------------------------------------------------
def _is_classvar(annotation: Any) -> bool:
    if isinstance(annotation, str):  # `from __future__ import annotations`: the text
        return annotation.startswith(("ClassVar", "typing.ClassVar", "t.ClassVar"))
    from typing import ClassVar, get_origin

    return annotation is ClassVar or get_origin(annotation) is ClassVar


def _collect(cls: type, kw_only: bool) -> dict[str, Field]:
    found: dict[str, Field] = {}
    for base in reversed(cls.__mro__[1:]):
        found.update(base.__dict__.get(_FIELDS, {}))
    own = cls.__dict__.get("__annotations__", {})  # noqa: RUF063 (inspect is the import this module avoids)
    for name, annotation in own.items():
        if _is_classvar(annotation):
            continue
        declared = cls.__dict__.get(name, MISSING)
        f = declared if isinstance(declared, Field) else Field(declared, MISSING, True, True, None, True, MISSING)
        f.name = name
        if f.kw_only is MISSING:
            f.kw_only = kw_only
        if f.default is not MISSING and type(f.default).__hash__ is None:
            raise ValueError(f"mutable default {type(f.default)} for field {name} is not allowed: use default_factory")
        if isinstance(declared, Field):  # the class attribute is the plain default, or nothing
            if f.default is MISSING:
                delattr(cls, name)
            else:
                setattr(cls, name, f.default)
        found[name] = f
    return found


def _set(cls: type, name: str, value: Any) -> None:
    """Add a method unless the class body defines its own (as ``dataclasses``)."""
    if name not in cls.__dict__:
        value.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, value)


def _process(cls: type, *, frozen: bool, kw_only: bool, order: bool, eq: bool, with_repr: bool) -> type:
    all_fields = _collect(cls, kw_only)
    setattr(cls, _FIELDS, all_fields)
    values = list(all_fields.values())
    _set(cls, "__init__", _make_init(cls, values, frozen))
    positional = tuple(f.name for f in values if f.init and not f.kw_only)
    if "__match_args__" not in cls.__dict__:
        cls.__match_args__ = positional  # type: ignore[attr-defined]
    if with_repr:
        _set(cls, "__repr__", _make_repr(cls, [f.name for f in values if f.repr]))
    compared = [f.name for f in values if f.compare]
    key = attrgetter(*compared) if compared else (lambda _obj: ())
    if eq:
        _set(cls, "__eq__", _make_eq(cls, key))
    if order:
        _set_order(cls, key)
    if eq and "__hash__" not in cls.__dict__:
        # as dataclasses: frozen and eq hash their compared fields; eq alone makes it unhashable
        hashed = [f.name for f in values if (f.compare if f.hash is None else f.hash)]
        cls.__hash__ = _make_hash(attrgetter(*hashed) if hashed else (lambda _obj: ())) if frozen else None
    if frozen:
        _set_frozen(cls, all_fields)
    return cls


def _make_init(cls: type, values: list[Field], frozen: bool):
    in_init = [f for f in values if f.init]
    ordered = [f for f in in_init if not f.kw_only] + [f for f in in_init if f.kw_only]
    n_positional = sum(1 for f in in_init if not f.kw_only)
    n_required = 0
    for i, f in enumerate(ordered[:n_positional]):  # as a def: no required parameter after an optional one
        if f.default is MISSING and f.default_factory is MISSING:
            if n_required < i:
                raise TypeError(f"non-default argument {f.name!r} follows default argument")
            n_required += 1
    names = frozenset(f.name for f in in_init)
    not_in_init = [f for f in values if not f.init and (f.default is not MISSING or f.default_factory is not MISSING)]
    post_init = hasattr(cls, "__post_init__")
    put = object.__setattr__ if frozen else setattr
    qual = cls.__qualname__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        for name in kwargs:  # in CPython's order: an unknown keyword, then too many positionals
            if name not in names:
                raise TypeError(f"{qual}.__init__() got an unexpected keyword argument {name!r}")
        if len(args) > n_positional:
            raise _too_many(qual, n_required, n_positional, len(args))
        for f, value in zip(ordered, args, strict=False):
            put(self, f.name, value)
        missing: list[Field] = []
        for f in ordered[len(args):]:
            value = kwargs.pop(f.name, MISSING)
            if value is MISSING:
                if f.default is not MISSING:
                    value = f.default
                elif f.default_factory is not MISSING:
                    value = f.default_factory()
                else:
                    missing.append(f)
                    continue
            put(self, f.name, value)
        if kwargs:  # known names left over: given positionally too
            raise TypeError(f"{qual}.__init__() got multiple values for argument {next(iter(kwargs))!r}")
        if missing:
            raise _missing(qual, missing)
        for f in not_in_init:
            put(self, f.name, f.default if f.default is not MISSING else f.default_factory())
        if post_init:
            self.__post_init__()

    return __init__


def _too_many(qual: str, n_required: int, n_positional: int, given: int) -> TypeError:
    """CPython's words for it (``self`` counts)."""
    takes = f"from {n_required + 1} to {n_positional + 1}" if n_required < n_positional else str(n_positional + 1)
    return TypeError(f"{qual}.__init__() takes {takes} positional argument{'s' if takes != '1' else ''} "
                     f"but {given + 1} {'was' if given + 1 == 1 else 'were'} given")


def _missing(qual: str, missing: list[Field]) -> TypeError:
    """CPython's words for it: the positional ones first, then the keyword-only ones."""
    positional = [f.name for f in missing if not f.kw_only]
    names, kind = (positional, "positional") if positional else ([f.name for f in missing], "keyword-only")
    quoted = [repr(n) for n in names]
    listed = quoted[0] if len(quoted) == 1 else (
        f"{quoted[0]} and {quoted[1]}" if len(quoted) == 2 else ", ".join(quoted[:-1]) + f", and {quoted[-1]}")
    return TypeError(f"{qual}.__init__() missing {len(names)} required {kind} argument"
                     f"{'s' if len(names) > 1 else ''}: {listed}")


def _make_repr(cls: type, shown: list[str]):
    def __repr__(self: Any) -> str:
        inner = ", ".join(f"{name}={getattr(self, name)!r}" for name in shown)
        return f"{type(self).__qualname__}({inner})"

    return __repr__


def _make_eq(cls: type, key: Any):
    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented

    return __eq__


def _make_hash(key: Any):
    def __hash__(self: Any) -> int:
        return hash(key(self))

    return __hash__


def _set_order(cls: type, key: Any) -> None:
    import operator

    for name in ("__lt__", "__le__", "__gt__", "__ge__"):
        if name in cls.__dict__:
            raise TypeError(f"cannot overwrite attribute {name} in class {cls.__name__}")
        compare = getattr(operator, name.strip("_"))

        def method(self: Any, other: Any, compare: Any = compare) -> Any:
            if other.__class__ is self.__class__:
                return compare(key(self), key(other))
            return NotImplemented

        _set(cls, name, method)


def _set_frozen(cls: type, all_fields: dict[str, Field]) -> None:
    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is cls or name in all_fields:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is cls or name in all_fields:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)

    for method in (__setattr__, __delattr__):
        if method.__name__ in cls.__dict__:
            raise TypeError(f"cannot overwrite attribute {method.__name__} in class {cls.__name__}")
        _set(cls, method.__name__, method)
