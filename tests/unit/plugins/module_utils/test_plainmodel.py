"""plainmodel (what modules validate with) against pydantic (the reference): the same options
give the same values, and bad ones the same errors naming the same option.

The inputs: every task of every module in the collection's EXAMPLES, integration targets,
roles and playbooks (normalised by Ansible's own argument_spec validator, as AnsibleModule
does), with templated values left as their template text (bad input for most fields), plus
the hand-written cases below. The pydantic side runs in a subprocess with
``BERTH_OPTIONS_BACKEND=pydantic``.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible_collections.berth.core.plugins.module_utils import compat, plainmodel
from ansible_collections.berth.core.plugins.module_utils.options import OptionsError, argument_spec, parse_options
from collkit import REPO, load, module_names, module_resource_path

RESOURCES = {name: module_resource_path(name) for name in module_names()}
#: models of the unit tests (``module:Class``), with hand-written inputs
EXTRA_MODELS = {"everything": "test_argspec:Everything"}
EXTRA_CASES = [
    ("everything", {"name": "x"}),
    ("everything", {"name": "a b"}),
    ("everything", {"name": "x", "targets": [{"host": "a"}, {"host": "b"}, {"host": "c"}]}),
    ("everything", {"name": "x", "targets": [{"host": "h"}, {"host": ["a"]}]}),
    ("everything", {"name": "x", "target": {"host": "h", "port": "eighty"}}),
    ("everything", {"name": "x", "subnet": "10.0.0.1/24"}),
    ("everything", {"name": "x", "subnet": "10.0.0.0/24", "labels": {"port": 8080, "on": "yes"}}),
    ("everything", {"name": "x", "labels": {"flag": True}}),
    ("everything", {"name": "x", "mode": "c", "level": 3, "modes": ["x", "z"]}),
    ("everything", {"name": "x", "password": "s3cret", "ratio": 2, "count": 2.0}),
    ("everything", {"name": "x", "count": 2.5, "enabled": "yes"}),
    ("everything", {"count": 1}),
    ("network", {"name": "n", "ipam_config": [{"subnet": "10.9.0.0/24", "gateway": "10.8.0.1"}]}),
    ("network", {"name": "n", "ipam_config": [{"subnet": "10.9.0.0/24", "iprange": "10.9.1.0/25"}]}),
    ("network", {"name": "n", "ipam_config": [{"subnet": "10.9.0.0/24", "gateway": "x"}]}),
    ("network", {"name": "n", "ipam_config": [{"subnet": "10.9.0.0/24"}, {"subnet": "10.9.1.0/24"}]}),
]


def _module_tasks() -> list[tuple[str, dict]]:
    """``(module, args)`` of every berth.core task in the repository's YAML and module EXAMPLES."""
    docs = [yaml.safe_load(load(f"ansible_collections.berth.core.plugins.modules.{m}:EXAMPLES")) or []
            for m in RESOURCES]
    for directory in ("tests/integration/targets", "roles", "playbooks"):
        for path in sorted((REPO / directory).rglob("*.yml")):
            try:
                docs.append(yaml.safe_load(path.read_text()))
            except yaml.YAMLError:
                continue
    out: list[tuple[str, dict]] = []
    _collect(docs, out)
    return out


def _collect(node, out: list) -> None:
    if isinstance(node, list):
        for item in node:
            _collect(item, out)
    elif isinstance(node, dict):
        for key, value in node.items():
            name = key.removeprefix("berth.core.") if isinstance(key, str) else None
            if name in RESOURCES and key.startswith("berth.core.") and isinstance(value, dict):
                out.append((name, value))
            else:
                _collect(value, out)


def _cases() -> list[tuple[str, dict]]:
    cases = []
    for module, args in _module_tasks():
        result = ArgumentSpecValidator(argument_spec(load(RESOURCES[module]).options)).validate(args)
        if not result.error_messages:  # what Ansible refuses never reaches the model
            cases.append((module, result.validated_parameters))
    return cases + EXTRA_CASES


def _outcome(model, params: dict) -> dict:
    try:
        opts = parse_options(model, params)
    except OptionsError as exc:
        return {"error": str(exc)}
    return {"value": json.loads(json.dumps(opts.model_dump(), default=str, sort_keys=True))}


def outcomes(cases: list[tuple[str, dict]]) -> list[dict]:
    models = {**RESOURCES, **EXTRA_MODELS}
    return [_outcome(getattr(load(models[name]), "options", None) or load(models[name]), params)
            for name, params in cases]


_REFERENCE = """
import json, sys
sys.path[:0] = json.loads(sys.argv[1])
import test_plainmodel
from ansible_collections.berth.core.plugins.module_utils import compat
assert compat.BACKEND == "pydantic", compat.BACKEND
print(json.dumps(test_plainmodel.outcomes(json.loads(sys.stdin.read()))))
"""


@pytest.mark.skipif(compat.BACKEND != "plain", reason="compares plainmodel with pydantic; this run uses pydantic")
def test_plainmodel_and_pydantic_agree_on_every_task_in_the_repository(collections_root: Path):
    cases = _cases()
    assert len(cases) > 30  # the corpus really was found
    paths = [str(collections_root), str(Path(__file__).parent), str(REPO / "tests")]
    proc = subprocess.run([sys.executable, "-c", _REFERENCE, json.dumps(paths)], input=json.dumps(cases),
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "BERTH_OPTIONS_BACKEND": "pydantic"})
    assert proc.returncode == 0, proc.stderr
    reference = json.loads(proc.stdout)
    mine = outcomes(json.loads(json.dumps(cases)))
    disagree = [(case, ref, got) for case, ref, got in zip(cases, reference, mine, strict=True) if ref != got]
    assert not disagree, "\n".join(f"{c}\n  pydantic: {r}\n  plain:    {g}" for c, r, g in disagree[:5])
    assert any("error" in o for o in mine) and any("value" in o for o in mine)


def test_no_pydantic_is_imported_when_modules_validate():
    code = ("import sys, json; sys.path[:0] = json.loads(sys.argv[1]);"
            "from ansible_collections.berth.core.plugins.module_utils import network, options;"
            "options.parse_options(network.NetworkOptions, {'name': 'n', 'ipam_config': [{'subnet': '10.9.0.0/24'}]});"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('pydantic', 'pydantic_core')))")
    paths = [str(p) for p in sys.path if "berth-collections" in p or p.endswith("tests")]
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(paths)], capture_output=True, text=True,
                          check=False, env={k: v for k, v in os.environ.items() if k != "BERTH_OPTIONS_BACKEND"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


# -- what the corpus may not reach: the same declarations under both ------------------------------
def _limits(backend):
    class Limits(backend.BaseModel):
        model_config = backend.ConfigDict(frozen=True)
        port: int = backend.Field(80, ge=1, le=65535)
        name: str = backend.Field("x", pattern=r"^[a-z]+$", max_length=3)
        net: ipaddress.IPv4Network | None = None
        flag: bool = False
        ratio: float = 1.0

    return Limits


Limits = _limits(plainmodel)


@pytest.mark.parametrize("data", [
    {"port": 0}, {"port": 70000}, {"port": True}, {"port": "x"}, {"port": " 7 "}, {"port": 2.5},
    {"name": "AB"}, {"name": "abcd"}, {"name": 5},
    {"net": "10.0.0.1/8"}, {"net": 10},
    {"flag": "on"}, {"flag": "maybe"}, {"flag": 2}, {"ratio": "x"}, {"ratio": "2.5"},
])
def test_types_and_constraints_as_pydantic(data):
    pydantic = pytest.importorskip("pydantic", reason="the reference implementation (dev venv)")

    def run(model):
        try:
            return {"value": model(**data).model_dump()}
        except (plainmodel.ValidationError, pydantic.ValidationError) as exc:
            return {"errors": [(e["loc"], e["msg"]) for e in exc.errors()]}

    assert run(Limits) == run(_limits(pydantic))


def test_frozen_equality_copy_and_secrets():
    a = Limits(port=8080, net="10.0.0.0/8")
    assert a.net == ipaddress.IPv4Network("10.0.0.0/8")
    assert a == Limits(port=8080, net="10.0.0.0/8") and hash(a) == hash(Limits(port=8080, net="10.0.0.0/8"))
    with pytest.raises(plainmodel.ValidationError):
        a.port = 1
    assert a.model_copy(update={"port": 1}).port == 1 and a.port == 8080
    secret = plainmodel.SecretStr("hunter2")
    assert "hunter2" not in repr(secret) + str(secret) and secret.get_secret_value() == "hunter2"
