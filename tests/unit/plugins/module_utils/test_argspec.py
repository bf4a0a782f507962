"""argument_spec generated from option models, and option validation errors naming the option."""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
import typing
from pathlib import Path

import pytest
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.berth.core.plugins.module_utils.compat import SecretStr, field_validator
from ansible_collections.berth.core.plugins.module_utils.options import (
    ModuleOptions,
    OptionsError,
    argument_spec,
    option,
    option_path,
    parse_options,
)
from collkit import load, module_names, module_resource_path

#: every module's Resource (``module_utils_module:Class``), read from plugins/modules/*.py
RESOURCES = {name: module_resource_path(name) for name in module_names()}


class Sub(ModuleOptions):
    host: str
    port: int = 80


class Everything(ModuleOptions):
    name: str = option(aliases=["n"])
    count: int = 3
    ratio: float | None = None
    enabled: bool = False
    mode: typing.Literal["a", "b"] = "a"
    level: typing.Literal[1, 2] | None = None
    tags: list[str] | None = None
    modes: list[typing.Literal["x", "y"]] = option(default_factory=list)
    labels: dict[str, str] = option(default_factory=dict)
    password: SecretStr | None = None
    token: str | None = option(None, no_log=True)
    public: str | None = option(None, no_log=False)
    subnet: ipaddress.IPv4Network | None = None
    target: Sub | None = None
    targets: list[Sub] | None = option(None, max_length=2)
    anything: typing.Any = None

    @field_validator("name")
    @classmethod
    def _no_spaces(cls, value):
        if " " in value:
            raise ValueError("no spaces in a name")
        return value


EXPECTED = {
    "name": {"type": "str", "required": True, "aliases": ["n"]},
    "count": {"type": "int", "default": 3},
    "ratio": {"type": "float"},
    "enabled": {"type": "bool", "default": False},
    "mode": {"type": "str", "choices": ["a", "b"], "default": "a"},
    "level": {"type": "int", "choices": [1, 2]},
    "tags": {"type": "list", "elements": "str"},
    "modes": {"type": "list", "elements": "str", "choices": ["x", "y"], "default": []},
    "labels": {"type": "dict", "default": {}},
    "password": {"type": "str", "no_log": True},
    "token": {"type": "str", "no_log": True},
    "public": {"type": "str", "no_log": False},
    "subnet": {"type": "str"},
    "target": {"type": "dict", "options": {"host": {"type": "str", "required": True},
                                           "port": {"type": "int", "default": 80}}},
    "targets": {"type": "list", "elements": "dict", "options": {"host": {"type": "str", "required": True},
                                                                 "port": {"type": "int", "default": 80}}},
    "anything": {"type": "raw"},
}


def test_argument_spec_of_every_kind_of_field():
    assert argument_spec(Everything) == EXPECTED


def test_the_generated_spec_is_one_ansible_accepts():
    result = ArgumentSpecValidator(argument_spec(Everything)).validate(
        {"n": "x", "targets": [{"host": "h"}], "modes": ["x"]})
    assert not result.error_messages
    assert result.validated_parameters["name"] == "x"
    assert result.validated_parameters["targets"] == [{"host": "h", "port": 80}]
    bad = ArgumentSpecValidator(argument_spec(Everything)).validate({"n": "x", "mode": "c", "count": "many"})
    assert any("mode" in m for m in bad.error_messages)
    assert any("count" in m for m in bad.error_messages)


def test_unsupported_annotations_are_refused_with_the_field_named():
    class Bad(ModuleOptions):
        value: int | str = 1

    with pytest.raises(TypeError, match="unions"):
        argument_spec(Bad)

    class Mixed(ModuleOptions):
        value: typing.Literal["a", 1] = "a"

    with pytest.raises(TypeError, match=r"Mixed\.value"):
        argument_spec(Mixed)


@pytest.mark.parametrize(("params", "message"), [
    ({"name": "a b"}, "option name: no spaces in a name (got 'a b')"),
    ({"name": "x", "targets": [{"host": "a"}, {"host": "b"}, {"host": "c"}]},
     "option targets: List should have at most 2"),
    ({"name": "x", "subnet": "10.0.0.1/24"}, "option subnet: "),
    ({"name": "x", "target": {"host": "h", "port": "eighty"}}, "option target.port: "),
    ({"name": "x", "targets": [{"host": "h"}, {"host": ["a"]}]}, "option targets[1].host: "),
])
def test_validation_errors_name_the_option(params, message):
    with pytest.raises(OptionsError) as err:
        parse_options(Everything, params)
    assert message in str(err.value)


def test_numbers_given_for_strings_become_strings():
    opts = parse_options(Everything, {"name": "x", "labels": {"port": 8080}})
    assert opts.labels == {"port": "8080"}


def test_option_path():
    assert option_path(("ipam_config", 0, "subnet")) == "ipam_config[0].subnet"
    assert option_path(("labels", "a.b")) == "labels.a.b"
    assert option_path(()) == ""


@pytest.mark.parametrize("module", sorted(RESOURCES))
def test_every_module_spec_is_valid_for_ansible(module):
    spec = argument_spec(load(RESOURCES[module]).options)
    result = ArgumentSpecValidator(spec).validate({k: "x" for k, v in spec.items() if v.get("required")})
    assert not result.error_messages


_WITHOUT_PYDANTIC = """
import json, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("pydantic", "pydantic_core", "berth"):
            raise ImportError(f"blocked: {name}")
sys.meta_path.insert(0, Block())
sys.path.insert(0, sys.argv[1])
from ansible_collections.berth.core.plugins.module_utils import compat, options
assert compat.BACKEND == "plain"
out = {}
for module, target in json.loads(sys.argv[2]).items():
    mod, _, name = target.partition(":")
    obj = getattr(__import__(mod, fromlist=[name]), name)
    out[module] = options.argument_spec(getattr(obj, "options", obj))
print(json.dumps(out))
"""


def test_the_spec_is_the_same_without_pydantic_and_the_engine(collections_root: Path):
    """ansible-test's validate-modules and import tests run modules where pydantic (and the
    engine) are missing: the argument_spec must come out the same there."""
    models = {**RESOURCES, "everything": f"{__name__}:Everything"}
    code = _WITHOUT_PYDANTIC
    paths = [str(Path(__file__).parent), str(Path(__file__).parents[3])]
    proc = subprocess.run([sys.executable, "-c", f"import sys; sys.path[:0] = {paths!r}\n" + code,
                           str(collections_root), json.dumps(models)], capture_output=True, text=True, check=False,
                          env={k: v for k, v in os.environ.items() if k != "BERTH_OPTIONS_BACKEND"})
    assert proc.returncode == 0, proc.stderr
    stand_in = json.loads(proc.stdout)
    for module, target in models.items():
        obj = load(target)
        assert stand_in[module] == json.loads(json.dumps(argument_spec(getattr(obj, "options", obj)))), module
