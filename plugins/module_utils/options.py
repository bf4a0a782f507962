# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Module options, declared once as pydantic models; ``argument_spec`` is derived from them.

A model field becomes an Ansible option:

========================================  ==================================================
annotation                                argument_spec
========================================  ==================================================
``str`` ``int`` ``float`` ``bool``        ``type: str|int|float|bool``
``Literal["a", "b"]``                     ``type: str, choices: [a, b]``
``list[X]``                               ``type: list, elements: X`` (``dict`` + ``options`` for a model)
``dict[str, str]``                        ``type: dict`` (free-form)
a ``BaseModel`` subclass                  ``type: dict, options: {...}`` (its fields, recursively)
``SecretStr``                             ``type: str, no_log: true``
``IPv4Network`` ``IPv4Address`` ``Path``  ``type: str``
``X | None``                              not required, no default (unless one is given)
========================================  ==================================================

A field without a default is ``required: true``; a default (or a ``default_factory``) is
the option's ``default``. ``option()`` adds what pydantic has no word for: ``aliases`` and
``no_log``. Validation beyond Ansible's own (types, choices, required) is the model's
(``compat``: plainmodel when modules run, pydantic as the reference in the tests), and a
failure names the option (``parse_options``).
"""

from __future__ import annotations

import collections.abc
import ipaddress
import pathlib
import typing

from ansible_collections.berth.core.plugins.module_utils.compat import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
)

_ANSIBLE_KEY = "ansible"
_SCALARS = {str: "str", int: "int", float: "float", bool: "bool"}
_AS_STR = (ipaddress.IPv4Network, ipaddress.IPv4Address, ipaddress.IPv4Interface, ipaddress.IPv6Network,
           ipaddress.IPv6Address, pathlib.Path, pathlib.PurePath)
_NONE_TYPE = type(None)
_MISSING = object()


class ModuleOptions(BaseModel):
    """Base of every module's options. ``module_kwargs``: extra ``AnsibleModule`` arguments
    (``mutually_exclusive``, ``required_if``, ...)."""

    # defer_build (pydantic only): a module validates one model once; the others its module_utils
    # file defines are never built (schema building is most of a model's cost)
    model_config = ConfigDict(extra="ignore", frozen=True, coerce_numbers_to_str=True, defer_build=True)

    module_kwargs: typing.ClassVar[dict] = {}


class OptionsError(ValueError):
    """Options that passed Ansible's checks but not the model's; the message names the option."""


def option(default=_MISSING, *, aliases=(), no_log=None, default_factory=None, **kwargs):
    """``Field()`` plus the Ansible-only settings: ``aliases``, ``no_log``."""
    extra = {}
    if aliases:
        extra["aliases"] = list(aliases)
    if no_log is not None:
        extra["no_log"] = bool(no_log)
    if extra:
        kwargs["json_schema_extra"] = {_ANSIBLE_KEY: extra}
    if default_factory is not None:
        return Field(default_factory=default_factory, **kwargs)
    if default is _MISSING:
        return Field(**kwargs)
    return Field(default, **kwargs)


# -- argument_spec ---------------------------------------------------------------------------
def argument_spec(model: type) -> dict:
    """The ``AnsibleModule`` argument_spec of an options model (see the module docstring)."""
    spec = {}
    for name, field in model.model_fields.items():
        spec[name] = _field_spec(model, name, field)
    return spec


def _field_spec(model: type, name: str, field) -> dict:
    annotation, _optional = _strip_optional(field.annotation)
    out = _type_spec(annotation, f"{model.__name__}.{name}")
    if field.is_required():
        out["required"] = True
    else:
        default = field.default_factory() if field.default_factory is not None else field.default
        if default is not None:
            out["default"] = default
    extra = (field.json_schema_extra or {}).get(_ANSIBLE_KEY, {}) if isinstance(field.json_schema_extra, dict) else {}
    if extra.get("aliases"):
        out["aliases"] = list(extra["aliases"])
    if "no_log" in extra:
        out["no_log"] = extra["no_log"]
    return out


def _type_spec(annotation, where: str) -> dict:
    origin = typing.get_origin(annotation)
    if annotation in _SCALARS:
        return {"type": _SCALARS[annotation]}
    if _is_secret(annotation):
        return {"type": "str", "no_log": True}
    if isinstance(annotation, type) and issubclass(annotation, _AS_STR):
        return {"type": "str"}
    if origin is typing.Literal:
        values = list(typing.get_args(annotation))
        kinds = {type(v) for v in values}
        if len(kinds) != 1 or next(iter(kinds)) not in _SCALARS:
            raise TypeError(f"{where}: Literal choices must share one scalar type, not {values!r}")
        return {"type": _SCALARS[next(iter(kinds))], "choices": values}
    if origin in (list, tuple, collections.abc.Sequence) or annotation in (list, tuple):
        args = typing.get_args(annotation)
        out = {"type": "list"}
        if args:
            inner = _strip_optional(args[0])[0]
            element = _type_spec(inner, f"{where}[]")
            out["elements"] = element["type"]
            if "choices" in element:
                out["choices"] = element["choices"]
            if "options" in element:
                out["options"] = element["options"]
            if element.get("no_log"):
                out["no_log"] = True
        return out
    if origin is dict or annotation is dict:
        return {"type": "dict"}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return {"type": "dict", "options": argument_spec(annotation)}
    if annotation is typing.Any:
        return {"type": "raw"}
    if _is_union(annotation):
        raise TypeError(f"{where}: unions other than X | None have no Ansible type: {annotation!r}")
    raise TypeError(f"{where}: no Ansible type for annotation {annotation!r}")


def _strip_optional(annotation):
    """``X | None`` -> (X, True); anything else -> (annotation, False)."""
    args = typing.get_args(annotation)
    if args and _NONE_TYPE in args and _is_union(annotation):
        rest = [a for a in args if a is not _NONE_TYPE]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007
    return annotation, False


def _is_union(annotation) -> bool:
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        return True
    try:
        import types

        return origin is types.UnionType
    except AttributeError:  # Python < 3.10: only typing.Union exists
        return False


def _is_secret(annotation) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, SecretStr)


# -- validation --------------------------------------------------------------------------------
def parse_options(model: type, params: dict):
    """Validate ``AnsibleModule.params`` against the model; ``OptionsError`` names the option."""
    try:
        return model.model_validate(params)
    except ValidationError as exc:
        raise OptionsError("; ".join(_describe(err) for err in exc.errors())) from None


def _describe(err: dict) -> str:
    where = option_path(err.get("loc") or ())
    msg = err.get("msg", "invalid value")
    ctx_error = (err.get("ctx") or {}).get("error")
    if ctx_error is not None and msg.startswith("Value error, "):
        msg = str(ctx_error)
    value = err.get("input")
    shown = "" if isinstance(value, (dict, list)) or value is None else f" (got {value!r})"
    return f"option {where}: {msg}{shown}" if where else f"{msg}{shown}"


def option_path(loc) -> str:
    """``("ipam_config", 0, "subnet")`` -> ``ipam_config[0].subnet``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
