# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pydantic, or a stand-in that is just enough to declare option models and derive argument_spec.

Modules run under the engine's interpreter (``berth_python``), where pydantic is installed
with the engine. The stand-in exists for the places that import a module without it:
``ansible-test sanity`` (import, validate-modules: they read ``argument_spec`` by running
``main()`` up to ``AnsibleModule``) and a wrong interpreter, which then fails with a clear
message instead of a traceback. It never validates anything: ``HAS_PYDANTIC`` says which
one is in use, and ``options.parse_options`` refuses to run without the real one.
"""

from __future__ import annotations

import sys
import typing

try:
    from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
except ImportError as exc:
    HAS_PYDANTIC = False
    PYDANTIC_IMPORT_ERROR = exc
else:
    HAS_PYDANTIC = True
    PYDANTIC_IMPORT_ERROR = None

__all__ = ["HAS_PYDANTIC", "PYDANTIC_IMPORT_ERROR", "BaseModel", "ConfigDict", "Field", "SecretStr",
           "ValidationError", "field_validator", "model_validator"]

if not HAS_PYDANTIC:

    class _Unset:
        def __repr__(self):
            return "PydanticUndefined"

    _UNSET = _Unset()

    class FieldInfo:
        """What ``argument_spec`` reads of pydantic's ``FieldInfo``."""

        def __init__(self, default=_UNSET, *, default_factory=None, description=None, json_schema_extra=None,
                     annotation=None, **constraints):
            self.default = default
            self.default_factory = default_factory
            self.description = description
            self.json_schema_extra = json_schema_extra
            self.annotation = annotation
            self.metadata = [constraints] if constraints else []

        def is_required(self):
            return self.default is _UNSET and self.default_factory is None

    def Field(default=_UNSET, **kwargs):  # pydantic's name
        return FieldInfo(default, **kwargs)

    def ConfigDict(**kwargs):
        return dict(kwargs)

    def _no_op_decorator(*_args, **_kwargs):
        def decorate(func):
            return func

        return decorate

    field_validator = model_validator = _no_op_decorator

    class SecretStr(str):
        """Marks a secret option (``no_log``); pydantic's hides the value in reprs."""

    class ValidationError(ValueError):
        def errors(self):
            return []

    class _ModelMeta(type):
        @property
        def model_fields(cls):
            fields = cls.__dict__.get("_stand_in_fields")
            if fields is None:
                fields = {}
                hints = typing.get_type_hints(cls, vars(sys.modules[cls.__module__]))
                for name, annotation in hints.items():
                    if name.startswith("_") or typing.get_origin(annotation) is typing.ClassVar:
                        continue
                    value = getattr(cls, name, _UNSET)
                    info = value if isinstance(value, FieldInfo) else FieldInfo(value)
                    info.annotation = annotation
                    fields[name] = info
                cls._stand_in_fields = fields
            return fields

    class BaseModel(metaclass=_ModelMeta):
        model_config: typing.ClassVar[dict] = {}

        def __init__(self, **_data):
            raise ImportError("pydantic is required to validate options") from PYDANTIC_IMPORT_ERROR

        @classmethod
        def model_validate(cls, _data):
            raise ImportError("pydantic is required to validate options") from PYDANTIC_IMPORT_ERROR
