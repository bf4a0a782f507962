"""Every module's DOCUMENTATION matches the argument_spec its options model generates, and every
module is wired: routed to the action plugin, in the action group, documented for ansible-doc.

(``ansible-test sanity``'s validate-modules checks docs against the spec too; this runs offline
and in ``make test``.)"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from ansible_collections.berth.core.plugins.module_utils.options import argument_spec
from collkit import REPO, load, module_names, module_resource_path

MODULES = module_names()


def _doc_blocks(name: str) -> dict:
    tree = ast.parse((REPO / "plugins" / "modules" / f"{name}.py").read_text())
    out = {}
    for node in tree.body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(target, ast.Name) and target.id in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
            out[target.id] = yaml.safe_load(node.value.value)
    return out


def _fragment_options() -> dict:
    """Options shared through doc fragments (they take part in the comparison too)."""
    out = {}
    for path in (REPO / "plugins" / "doc_fragments").glob("*.py"):
        namespace: dict = {}
        exec(compile(path.read_text(), str(path), "exec"), namespace)
        doc = yaml.safe_load(namespace["ModuleDocFragment"].DOCUMENTATION) or {}
        out[f"berth.core.{path.stem}"] = doc.get("options") or {}
    return out


def _from_docs(options: dict) -> dict:
    """DOCUMENTATION options in argument_spec's terms (what validate-modules compares)."""
    out = {}
    for name, doc in (options or {}).items():
        entry = {"type": doc.get("type", "str"), "required": bool(doc.get("required", False)),
                 "default": doc.get("default"), "choices": doc.get("choices"), "elements": doc.get("elements"),
                 "aliases": sorted(doc.get("aliases") or [])}
        if doc.get("suboptions"):
            entry["options"] = _from_docs(doc["suboptions"])
        out[name] = entry
    return out


def _from_spec(spec: dict) -> dict:
    out = {}
    for name, arg in spec.items():
        entry = {"type": arg.get("type", "str"), "required": bool(arg.get("required", False)),
                 "default": arg.get("default"), "choices": arg.get("choices"), "elements": arg.get("elements"),
                 "aliases": sorted(arg.get("aliases") or [])}
        if arg.get("options"):
            entry["options"] = _from_spec(arg["options"])
        out[name] = entry
    return out


def test_there_are_modules():
    assert {"volume", "volume_info", "network", "network_info"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_the_options_model(name):
    blocks = _doc_blocks(name)
    doc = blocks["DOCUMENTATION"]
    assert doc["module"] == name
    options = dict(doc.get("options") or {})
    fragments = _fragment_options()
    for fragment in doc.get("extends_documentation_fragment") or []:
        options.update(fragments.get(fragment, {}))
    resource = load(module_resource_path(name))
    assert _from_docs(options) == _from_spec(argument_spec(resource.options))


# validate-modules' rule for DOCUMENTATION.author lines (schema.py, author_line)
AUTHOR = re.compile(r"^\w.*(\(@([\w-]+)\)|!UNKNOWN)(?![\w.])")


def _described(options: dict, where: str) -> None:
    for name, doc in (options or {}).items():
        assert doc.get("description"), f"{where}{name}: no description"
        _described(doc.get("suboptions") or {}, f"{where}{name}.")


@pytest.mark.parametrize("name", MODULES)
def test_documentation_has_what_validate_modules_requires(name):
    doc = _doc_blocks(name)["DOCUMENTATION"]
    for key in ("module", "short_description", "description", "author", "version_added"):
        assert doc.get(key), f"{name}: DOCUMENTATION.{key} missing"
    assert all(AUTHOR.search(a) for a in doc["author"]), doc["author"]
    _described(doc.get("options"), "")
    for key, ret in _doc_blocks(name)["RETURN"].items():
        assert {"description", "returned", "type"} <= set(ret), f"{name}: RETURN.{key}"


@pytest.mark.parametrize("name", MODULES)
def test_examples_and_return_are_yaml(name):
    blocks = _doc_blocks(name)
    assert isinstance(blocks.get("EXAMPLES"), list) and blocks["EXAMPLES"], "EXAMPLES: a list of tasks"
    assert any(f"berth.core.{name}" in task for task in blocks["EXAMPLES"]), f"no example uses berth.core.{name}"
    for task in blocks["EXAMPLES"]:
        assert task.get("name"), f"an example task without a name: {task}"
    assert isinstance(blocks.get("RETURN"), dict)
    if not load(module_resource_path(name)).read_only:
        assert "actions" in blocks["RETURN"]


def test_every_module_runs_through_the_engine_action_and_is_in_the_group():
    from ansible_collections.berth.core.plugins.plugin_utils.engine_action import EngineModuleAction

    meta = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())
    assert sorted(meta["action_groups"]["all"]) == MODULES
    actions = sorted(p.stem for p in (REPO / "plugins" / "action").glob("*.py"))
    assert actions == MODULES  # one per module, named after it, and nothing else
    for name in MODULES:
        action = load(f"ansible_collections.berth.core.plugins.action.{name}:ActionModule")
        assert issubclass(action, EngineModuleAction), name


def test_ansible_doc_renders_every_module(collections_root: Path):
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(collections_root), "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run([str(Path(sys.executable).parent / "ansible-doc"), "--json", "-t", "module",
                           *(f"berth.core.{m}" for m in MODULES)],
                          capture_output=True, text=True, env=env, cwd=collections_root, check=False)
    assert proc.returncode == 0, proc.stderr
    docs = json.loads(proc.stdout)
    assert sorted(docs) == [f"berth.core.{m}" for m in MODULES]
    for name, doc in docs.items():
        attributes = doc["doc"]["attributes"]
        assert attributes["action_group"]["membership"] == ["berth.core.all"], name
        # exec runs a command: like docker_container_exec it cannot predict, so check mode skips it
        assert attributes["check_mode"]["support"] == ("partial" if name == "berth.core.exec" else "full"), name
        # the attribute fragments (doc_fragments/common.py) merged in: info modules change nothing
        diff = "N/A" if name.endswith("_info") else "none" if name == "berth.core.exec" else "full"
        assert attributes["diff_mode"]["support"] == diff, name
