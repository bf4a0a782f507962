"""plan_exec(desired, actual) and the exec result: pure functions (no engine, no container)."""

from __future__ import annotations

import pytest
from ansible_collections.berth.core.plugins.module_utils import exec as mod
from ansible_collections.berth.core.plugins.module_utils.options import OptionsError, parse_options
from ansible_collections.berth.core.plugins.module_utils.runner import Refused


def want(**kw) -> mod.ExecOptions:
    return parse_options(mod.ExecOptions, {"container": "web", **kw})


def have(running=True, paused=False) -> dict:
    return {"Id": "c0ffee", "Name": "/web", "State": {"Running": running, "Paused": paused}}


def test_a_command_is_split_as_a_shell_would_and_always_runs():
    plan = mod.plan_exec(want(command="sh -c 'echo \"a b\"; exit 3'", chdir="/srv", user="nobody",
                              env={"A": "1", "B": 2}), have())
    assert plan.changed and plan.diff() == {"before": {}, "after": {}}
    (action,) = plan.actions
    assert action.kind == "exec"
    assert action.summary == "run sh -c 'echo \"a b\"; exit 3' in container web"
    assert action.params == {"container": "c0ffee", "argv": ["sh", "-c", 'echo "a b"; exit 3'], "workdir": "/srv",
                             "user": "nobody", "env": ["A=1", "B=2"], "stdin": None, "tty": False, "detach": False}


@pytest.mark.parametrize(("options", "stdin"), [
    ({"stdin": "hello"}, "hello\n"),
    ({"stdin": "hello", "stdin_add_newline": False}, "hello"),
    ({"stdin": ""}, "\n"),
    ({}, None),
])
def test_stdin_and_its_newline(options, stdin):
    assert mod.plan_exec(want(argv=["cat"], **options), have()).actions[0].params["stdin"] == stdin


def test_detached_summary():
    assert mod.plan_exec(want(argv=["sleep", "1"], detach=True), have()).actions[0].summary == (
        "run sleep 1 in container web (detached)")


@pytest.mark.parametrize(("actual", "message"), [
    (None, "container: no such container: web"),
    (have(running=False), "container: container web is not running"),
    (have(paused=True), "container: container web is paused"),
])
def test_a_container_that_cannot_run_it_is_refused(actual, message):
    with pytest.raises(Refused, match=f"^{message}$"):
        mod.plan_exec(want(argv=["true"]), actual)


@pytest.mark.parametrize(("options", "needle"), [
    ({"command": "echo 'unclosed"}, "option command: cannot split it into arguments: No closing quotation"),
    ({"command": "   "}, "option command: no command in it"),
    ({"argv": []}, "option argv: List should have at least 1 item"),
    ({"argv": ["true"], "chdir": "relative/dir"}, "option chdir: must be an absolute path"),
    ({"argv": ["true"], "env": {"A=B": "1"}}, "option env: invalid variable name 'A=B'"),
    ({"argv": ["cat"], "stdin": "x", "detach": True}, "stdin cannot be given with detach: true"),
    ({"argv": ["cat"], "tty": True, "detach": True}, "tty cannot be used with detach: true"),
])
def test_bad_options_name_the_option(options, needle):
    with pytest.raises(OptionsError) as err:
        want(**options)
    assert str(err.value).startswith(needle)


def test_outputs_strip_empty_ends_as_docker_container_exec():
    out = mod.outputs(3, b"a\nb\n\n", b"err\r\n", strip_empty_ends=True)
    assert out == {"rc": 3, "msg": "non-zero return code", "stdout": "a\nb", "stdout_lines": ["a", "b"],
                   "stderr": "err", "stderr_lines": ["err"]}
    assert "msg" not in mod.outputs(0, b"", b"", strip_empty_ends=True)
    kept = mod.outputs(0, b"a\n\n", b"", strip_empty_ends=False)
    assert kept["stdout"] == "a\n\n" and kept["stdout_lines"] == ["a", ""]
    assert mod.outputs(0, b"\xff", b"", strip_empty_ends=True)["stdout"] == "\ufffd"  # not UTF-8: replaced
