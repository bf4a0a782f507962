# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The subset of pydantic that option models use, with no import cost.

Modules validate their options with this at run time: importing pydantic and building a
model's schema cost about 75 ms per task on the target (measured: 65 ms for the import,
13 ms for the first validation), which alone is a third of an ``ansible.builtin.ping`` task,
the floor a no-change task is measured against. pydantic stays the reference: the unit tests
validate every module's models with both and require the same options and the same errors
(``tests/unit/plugins/module_utils/test_plainmodel.py``), so a model written here is a
pydantic model, and one that uses a feature missing here fails that test, not a user.

What is here (what ``options.py`` documents as the option annotations), after Ansible's own
checks have already converted types and applied defaults, choices and aliases:

- fields from annotations, ``Field(default | default_factory, ge/gt/le/lt, min_length/max_length,
  pattern, json_schema_extra, description)``;
- types ``str int float bool``, ``Literal``, ``list[X]``, ``dict[str, X]``, nested models,
  ``X | None``, ``SecretStr``, ``typing.Any``, and classes built from a string
  (``IPv4Network``, ``IPv4Address``, ``Path``, ...);
- ``field_validator(*fields, mode="after"|"before")`` and ``model_validator(mode="after"|"before")``;
- ``model_config``: ``extra="ignore"``, ``frozen``, ``coerce_numbers_to_str``;
- ``model_validate``, ``model_dump``, ``model_copy(update=)``, ``model_fields``, equality, hashing;
- ``ValidationError.errors()`` as pydantic's list of ``{loc, msg, input, ctx}``, with
  pydantic's messages.
"""

from __future__ import annotations

import inspect
import ipaddress
import re
import sys
import typing

__all__ = ["BaseModel", "ConfigDict", "Field", "SecretStr", "ValidationError", "field_validator", "model_validator"]


class _Undefined:
    def __repr__(self) -> str:
        return "PydanticUndefined"


_UNDEFINED = _Undefined()
_NONE_TYPE = type(None)
_CONSTRAINTS = ("ge", "gt", "le", "lt", "min_length", "max_length", "pattern")
_CLASS_MESSAGES = {ipaddress.IPv4Network: "Input is not a valid IPv4 network",
                   ipaddress.IPv4Address: "Input is not a valid IPv4 address",
                   ipaddress.IPv4Interface: "Input is not a valid IPv4 interface",
                   ipaddress.IPv6Network: "Input is not a valid IPv6 network",
                   ipaddress.IPv6Address: "Input is not a valid IPv6 address"}


class FieldInfo:
    """What a field declares (pydantic's ``FieldInfo``: ``argument_spec`` reads the same attributes)."""

    def __init__(self, default=_UNDEFINED, *, default_factory=None, description=None, json_schema_extra=None,
                 annotation=None, **constraints) -> None:
        unknown = set(constraints) - set(_CONSTRAINTS)
        if unknown:
            raise TypeError(f"Field(): {sorted(unknown)} not supported by plainmodel (see its docstring)")
        self.default = default
        self.default_factory = default_factory
        self.description = description
        self.json_schema_extra = json_schema_extra
        self.annotation = annotation
        self.constraints = constraints
        self.metadata = [constraints] if constraints else []

    def is_required(self) -> bool:
        return self.default is _UNDEFINED and self.default_factory is None


def Field(default=_UNDEFINED, **kwargs) -> FieldInfo:
    return FieldInfo(default, **kwargs)


def ConfigDict(**kwargs) -> dict:
    return dict(kwargs)


class SecretStr:
    """A secret option's value: hidden in reprs and dumps, ``get_secret_value()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        return self._value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretStr) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return f"SecretStr('{self}')"

    def __str__(self) -> str:
        return "**********" if self._value else ""


class ValidationError(ValueError):
    def __init__(self, title: str, errors: list[dict]) -> None:
        super().__init__(f"{len(errors)} validation error(s) for {title}")
        self._errors = errors

    def errors(self) -> list[dict]:
        return list(self._errors)


class _Invalid(Exception):
    """One error at a location, raised while validating a value and collected by the model."""

    def __init__(self, msg: str, value, ctx: dict | None = None, loc: tuple = ()) -> None:
        super().__init__(msg)
        self.msg, self.value, self.ctx, self.loc = msg, value, ctx, loc


# -- validators --------------------------------------------------------------------------------
class _Decorated:
    """A validator as the class body holds it until ``_ModelMeta`` collects it."""

    def __init__(self, func, kind: str, fields: tuple, mode: str) -> None:
        self.func = func.__func__ if isinstance(func, (classmethod, staticmethod)) else func
        self.kind, self.fields, self.mode = kind, fields, mode


def field_validator(*fields: str, mode: str = "after"):
    if mode not in ("after", "before"):
        raise TypeError(f"field_validator mode {mode!r} not supported by plainmodel")
    return lambda func: _Decorated(func, "field", fields, mode)


def model_validator(*, mode: str):
    if mode not in ("after", "before"):
        raise TypeError(f"model_validator mode {mode!r} not supported by plainmodel")
    return lambda func: _Decorated(func, "model", (), mode)


class _Info:
    """What a validator with an ``info`` parameter gets (pydantic's ``ValidationInfo``, in part)."""

    def __init__(self, data: dict, field_name: str | None) -> None:
        self.data, self.field_name = data, field_name


def _call_field_validator(func, cls, value, data: dict, name: str):
    if func.__code__.co_argcount >= 3:
        return func(cls, value, _Info(data, name))
    return func(cls, value)


# -- models --------------------------------------------------------------------------------
class _ModelMeta(type):
    def __new__(mcs, name, bases, namespace):
        validators = [v for v in namespace.values() if isinstance(v, _Decorated)]
        namespace = {k: v for k, v in namespace.items() if not isinstance(v, _Decorated)}
        cls = super().__new__(mcs, name, bases, namespace)
        inherited = [v for base in reversed(cls.__mro__[1:]) for v in base.__dict__.get("_plain_validators", ())]
        cls._plain_validators = (*inherited, *validators)
        config: dict = {}
        for base in reversed(cls.__mro__):
            config.update(base.__dict__.get("model_config") or {})
        cls._plain_config = config
        return cls

    @property
    def model_fields(cls) -> dict[str, FieldInfo]:
        fields = cls.__dict__.get("_plain_fields")
        if fields is None:
            fields = {}
            for name, annotation in _type_hints(cls).items():
                if name.startswith("_") or typing.get_origin(annotation) is typing.ClassVar:
                    continue
                value = getattr(cls, name, _UNDEFINED)
                info = value if isinstance(value, FieldInfo) else FieldInfo(value)
                info.annotation = annotation
                fields[name] = info
            cls._plain_fields = fields
        return fields


def _type_hints(cls) -> dict:
    """``typing.get_type_hints(cls)`` for the annotations models use (strings, under ``from
    __future__ import annotations``), each distinct one of a class evaluated once and in the same
    namespaces: get_type_hints compiles every annotation string anew, which for the container's
    options (most of them ``str | None`` or ``bool | None``) was ~2.5 ms of every task."""
    hints: dict = {}
    for base in reversed(cls.__mro__):
        annotations = inspect.get_annotations(base)
        if not annotations:
            continue
        # get_type_hints' order: the module's names first, then the class's
        class_ns, module_ns = dict(vars(base)), sys.modules[base.__module__].__dict__
        evaluated: dict = {}
        for name, value in annotations.items():
            if isinstance(value, str):
                if value not in evaluated:
                    evaluated[value] = eval(value, class_ns, module_ns)  # pylint: disable=eval-used
                value = evaluated[value]
            hints[name] = type(None) if value is None else value
    return hints


class BaseModel(metaclass=_ModelMeta):
    model_config: typing.ClassVar[dict] = {}

    def __init__(self, **data) -> None:
        values = _validate_model(type(self), data)
        object.__setattr__(self, "__dict__", values)

    @classmethod
    def model_validate(cls, data):
        if isinstance(data, cls):
            return data
        if not isinstance(data, dict):
            raise ValidationError(cls.__name__, [_error(_Invalid(
                f"Input should be a valid dictionary or instance of {cls.__name__}", data))])
        return cls(**data)

    def model_dump(self) -> dict:
        return {name: _dump(value) for name, value in self.__dict__.items()}

    def model_copy(self, *, update: dict | None = None):
        new = object.__new__(type(self))
        object.__setattr__(new, "__dict__", {**self.__dict__, **(update or {})})
        return new

    def __setattr__(self, name, value) -> None:
        if type(self)._plain_config.get("frozen"):
            raise ValidationError(type(self).__name__, [_error(_Invalid("Instance is frozen", value, loc=(name,)))])
        super().__setattr__(name, value)

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def __hash__(self) -> int:
        return hash((type(self), *self.__dict__.values()))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.__dict__.items())})"


def _dump(value):
    if isinstance(value, BaseModel):
        return value.model_dump()
    if isinstance(value, list):
        return [_dump(v) for v in value]
    if isinstance(value, dict):
        return {k: _dump(v) for k, v in value.items()}
    return value


def _error(exc: _Invalid, prefix: tuple = ()) -> dict:
    out = {"loc": (*prefix, *exc.loc), "msg": exc.msg, "input": exc.value}
    if exc.ctx:
        out["ctx"] = exc.ctx
    return out


def _validate_model(cls, data: dict) -> dict:
    """The fields' values, validated in declaration order; every error collected (as pydantic)."""
    name = cls.__name__
    for v in cls._plain_validators:
        if v.kind == "model" and v.mode == "before":
            data = _run_user(lambda v=v, d=data: v.func(cls, d), data, ())
    errors: list[dict] = []
    values: dict = {}
    for field_name, info in cls.model_fields.items():
        try:
            values[field_name] = _validate_field(cls, field_name, info, data, values)
        except _Invalid as exc:
            errors.append(_error(exc, (field_name,)))
        except ValidationError as exc:  # a nested model's errors, already located inside it
            errors.extend({**e, "loc": (field_name, *e["loc"])} for e in exc.errors())
    if errors:
        raise ValidationError(name, errors)
    model = object.__new__(cls)
    object.__setattr__(model, "__dict__", values)
    for v in cls._plain_validators:
        if v.kind == "model" and v.mode == "after":
            try:
                model = v.func(model)
            except (ValueError, AssertionError) as exc:
                raise ValidationError(name, [_user_error(exc, data, ())]) from None
    return model.__dict__


def _validate_field(cls, name: str, info: FieldInfo, data: dict, values: dict):
    if name in data:
        value = data[name]
    elif info.is_required():
        raise _Invalid("Field required", data)
    else:
        # defaults are not validated (pydantic's validate_default=False)
        return info.default_factory() if info.default_factory is not None else info.default
    validators = [v for v in cls._plain_validators if v.kind == "field" and name in v.fields]
    for v in validators:
        if v.mode == "before":
            value = _run_user(lambda v=v, value=value: _call_field_validator(v.func, cls, value, values, name),
                              value, ())
    value = _check(info.annotation, value, cls._plain_config, info.constraints)
    _constrain(info.constraints, value)
    for v in validators:
        if v.mode == "after":
            value = _run_user(lambda v=v, value=value: _call_field_validator(v.func, cls, value, values, name),
                              value, ())
    return value


def _run_user(call, value, loc: tuple):
    try:
        return call()
    except (ValueError, AssertionError) as exc:
        if isinstance(exc, ValidationError):
            raise
        raise _Invalid(*_user_message(exc), value, {"error": exc}, loc) from None


def _user_message(exc: Exception) -> tuple[str]:
    kind = "Assertion failed" if isinstance(exc, AssertionError) else "Value error"
    return (f"{kind}, {exc}",)


def _user_error(exc: Exception, value, loc: tuple) -> dict:
    return _error(_Invalid(*_user_message(exc), value, {"error": exc}, loc))


# -- types ---------------------------------------------------------------------------------
def _check(annotation, value, config: dict, constraints: dict | None = None):
    """``value`` as ``annotation`` says, or ``_Invalid`` with pydantic's message."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if annotation is typing.Any:
        return value
    if origin is typing.Union or (origin is not None and type(annotation).__name__ == "UnionType"):
        if value is None and _NONE_TYPE in args:
            return None
        rest = [a for a in args if a is not _NONE_TYPE]
        if len(rest) != 1:
            raise TypeError(f"plainmodel: unions other than X | None are not supported: {annotation!r}")
        return _check(rest[0], value, config, constraints)
    if annotation is _NONE_TYPE:
        if value is not None:
            raise _Invalid("Input should be None", value)
        return None
    if origin is typing.Literal:
        if value in args and any(type(value) is type(a) for a in args if a == value):
            return value
        shown = [repr(a) for a in args]
        choices = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
        raise _Invalid(f"Input should be {choices}", value, {"expected": choices})
    if origin in (list, tuple) or annotation in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise _Invalid("Input should be a valid list", value)
        if not args:
            return list(value)
        # pydantic refuses a list that is too long before it looks at the items
        limit = (constraints or {}).get("max_length")
        if limit is not None:
            _length("max_length", limit, list(value))
        return _each(list(enumerate(value)), args[0], config, list)
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise _Invalid("Input should be a valid dictionary", value)
        if not args:
            return dict(value)
        keys = {k: _check(args[0], k, config) for k in value}
        return _each(list(value.items()), args[1], config, dict, keys)
    if isinstance(annotation, type):
        return _check_class(annotation, value, config)
    raise TypeError(f"plainmodel: annotation {annotation!r} not supported")


def _each(items: list, annotation, config: dict, kind, keys: dict | None = None):
    out, errors = [], []
    for key, item in items:
        try:
            out.append((keys[key] if keys else key, _check(annotation, item, config)))
        except _Invalid as exc:
            errors.append(_error(exc, (key,)))
        except ValidationError as exc:
            errors.extend({**e, "loc": (key, *e["loc"])} for e in exc.errors())
    if errors:
        raise _Nested(errors)
    return [pair[1] for pair in out] if kind is list else dict(out)


class _Nested(ValidationError):
    """Errors of a list's or dict's items, located inside it (re-located by the field)."""

    def __init__(self, errors: list[dict]) -> None:
        super().__init__("items", errors)


def _check_class(annotation: type, value, config: dict):
    if issubclass(annotation, BaseModel):
        if isinstance(value, annotation):
            return value
        if not isinstance(value, dict):
            raise _Invalid(f"Input should be a valid dictionary or instance of {annotation.__name__}", value)
        return annotation(**value)
    if annotation is bool:
        return _to_bool(value)
    if annotation is int:
        return _to_int(value)
    if annotation is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                raise _Invalid("Input should be a valid number, unable to parse string as a number", value) from None
        raise _Invalid("Input should be a valid number", value)
    if annotation is str:
        if isinstance(value, str):
            return value
        if config.get("coerce_numbers_to_str") and isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        raise _Invalid("Input should be a valid string", value)
    if annotation is SecretStr:
        if isinstance(value, SecretStr):
            return value
        if isinstance(value, str):
            return SecretStr(value)
        raise _Invalid("Input should be a valid string", value)
    if isinstance(value, annotation):
        return value
    # ipaddress types take integers too (as pydantic lets them)
    takes = (str, int) if annotation in _CLASS_MESSAGES else (str,)
    if not isinstance(value, takes) or isinstance(value, bool):
        raise _Invalid(_CLASS_MESSAGES.get(annotation, f"Input should be an instance of {annotation.__name__}"), value)
    try:
        return annotation(value)
    except ValueError:
        raise _Invalid(_CLASS_MESSAGES.get(annotation, f"Input is not a valid {annotation.__name__}"), value) from None


_TRUE = ("1", "on", "t", "true", "y", "yes")
_FALSE = ("0", "off", "f", "false", "n", "no")


def _to_bool(value) -> bool:
    """pydantic's lax booleans."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in _TRUE + _FALSE:
        return value.lower() in _TRUE
    if isinstance(value, (str, int, float)):
        raise _Invalid("Input should be a valid boolean, unable to interpret input", value)
    raise _Invalid("Input should be a valid boolean", value)


def _to_int(value) -> int:
    """pydantic's lax integers."""
    if isinstance(value, int):
        return int(value)  # True -> 1, as pydantic
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        raise _Invalid("Input should be a valid integer, got a number with a fractional part", value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise _Invalid("Input should be a valid integer, unable to parse string as an integer", value) from None
    raise _Invalid("Input should be a valid integer", value)


def _constrain(constraints: dict, value) -> None:
    if not constraints or value is None:
        return
    for key, limit in constraints.items():
        if key in ("ge", "gt", "le", "lt"):
            ok = {"ge": value >= limit, "gt": value > limit, "le": value <= limit, "lt": value < limit}[key]
            if not ok:
                words = {"ge": "greater than or equal to", "gt": "greater than", "le": "less than or equal to",
                         "lt": "less than"}[key]
                raise _Invalid(f"Input should be {words} {limit}", value, {key: limit})
        elif key in ("min_length", "max_length"):
            _length(key, limit, value)
        elif key == "pattern" and not re.search(limit, value):
            raise _Invalid(f"String should match pattern '{limit}'", value, {"pattern": limit})


def _length(key: str, limit: int, value) -> None:
    size = len(value)
    if (key == "min_length" and size >= limit) or (key == "max_length" and size <= limit):
        return
    bound = "at least" if key == "min_length" else "at most"
    if isinstance(value, str):
        unit = "character" if limit == 1 else "characters"
        raise _Invalid(f"String should have {bound} {limit} {unit}", value, {key: limit})
    unit = "item" if limit == 1 else "items"
    kind = "List" if isinstance(value, list) else "Dictionary"
    raise _Invalid(f"{kind} should have {bound} {limit} {unit} after validation, not {size}", value,
                   {key: limit, "actual_length": size})
