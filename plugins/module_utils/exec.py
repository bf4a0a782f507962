# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exec: the options of ``berth.core.exec``, the plan, the engine call.

As ``community.docker.docker_container_exec``: a command (``argv``, or ``command`` split as a
shell would) runs in a running container; the result carries its ``rc``, ``stdout`` and
``stderr``; a non-zero ``rc`` fails the task by Ansible's rule for results with an ``rc``, as
for docker_container_exec (``failed_when`` decides otherwise). A
command that cannot start (not found, not executable) gets the shell's 127 / 126, as
``docker exec`` gives it. Running a command is always a change. It cannot be predicted, so
in check mode the task is skipped (the module's action plugin does that, as Ansible does for
docker_container_exec, which has no check mode).
"""

from __future__ import annotations

import shlex
import typing

from ansible_collections.berth.core.plugins.module_utils.compat import field_validator, model_validator
from ansible_collections.berth.core.plugins.module_utils.options import ModuleOptions, option
from ansible_collections.berth.core.plugins.module_utils.runner import Action, Plan, Refused, Resource


class ExecOptions(ModuleOptions):
    container: str
    argv: list[str] | None = option(None, min_length=1)
    command: str | None = None
    chdir: str | None = None
    env: dict[str, str] | None = None
    user: str | None = None
    stdin: str | None = None
    stdin_add_newline: bool = True
    strip_empty_ends: bool = True
    tty: bool = False
    detach: bool = False

    module_kwargs: typing.ClassVar[dict] = {"mutually_exclusive": [["argv", "command"]],
                                            "required_one_of": [["argv", "command"]]}

    @field_validator("command")
    @classmethod
    def _splits(cls, value):
        if value is not None and not split_command(value):
            raise ValueError("no command in it")
        return value

    @field_validator("chdir")
    @classmethod
    def _absolute(cls, value):
        if value is not None and not value.startswith("/"):
            raise ValueError(f"must be an absolute path in the container, not {value!r}")
        return value

    @field_validator("env")
    @classmethod
    def _env_names(cls, value):
        for key in value or {}:
            if not key or "=" in key:
                raise ValueError(f"invalid variable name {key!r}")
        return value

    @model_validator(mode="after")
    def _detached(self):
        if self.detach and self.stdin is not None:
            raise ValueError("stdin cannot be given with detach: true (nothing reads it)")
        if self.detach and self.tty:
            raise ValueError("tty cannot be used with detach: true (a detached pseudo-terminal is not supported)")
        return self


def split_command(command: str) -> list[str]:
    """``command`` as a shell would split it; a quoting error names the option."""
    try:
        return shlex.split(command)
    except ValueError as exc:
        raise ValueError(f"cannot split it into arguments: {exc}") from None


def argv_of(want: ExecOptions) -> list[str]:
    return list(want.argv) if want.argv is not None else split_command(want.command or "")


# -- pure planning -----------------------------------------------------------------------------
def plan_exec(want: ExecOptions, have: dict | None) -> Plan:
    """``have``: the container's ``inspect`` view, or None."""
    if have is None:
        raise Refused(f"container: no such container: {want.container}")
    name = have.get("Name", "").lstrip("/") or want.container
    state = have.get("State") or {}
    if not state.get("Running"):
        raise Refused(f"container: container {name} is not running")
    if state.get("Paused"):
        raise Refused(f"container: container {name} is paused")
    argv = argv_of(want)
    stdin = None
    if want.stdin is not None:
        stdin = want.stdin + ("\n" if want.stdin_add_newline else "")
    summary = f"run {shlex.join(argv)} in container {name}" + (" (detached)" if want.detach else "")
    return Plan([Action("exec", summary, container=have["Id"], argv=argv, workdir=want.chdir, user=want.user,
                        env=[f"{k}={v}" for k, v in (want.env or {}).items()], stdin=stdin, tty=want.tty,
                        detach=want.detach)])


def outputs(rc: int, stdout: bytes, stderr: bytes, *, strip_empty_ends: bool) -> dict:
    """The result keys of a finished command (docker_container_exec's, with the ``_lines``). A
    non-zero ``rc`` fails the task by Ansible's own rule (a result with ``rc`` and no ``failed``),
    as it does docker_container_exec's; the message is ansible.builtin.command's."""
    out: dict = {"rc": rc} if rc == 0 else {"rc": rc, "msg": "non-zero return code"}
    for key, data in (("stdout", stdout), ("stderr", stderr)):
        text = data.decode("utf-8", "replace")
        if strip_empty_ends:
            text = text.rstrip("\r\n")
        out[key] = text
        out[f"{key}_lines"] = text.splitlines()
    return out


# -- the engine ----------------------------------------------------------------------------------
class Exec(Resource):
    options = ExecOptions
    result_key = "exec"
    # the engine's bad input left once the model has checked the rest: the user (berth.containers.users)
    error_fields: typing.ClassVar[dict] = {"user": "user", "group": "user", "value": "user"}

    def __init__(self, engine, opts) -> None:
        super().__init__(engine, opts)
        self._outcome: dict = {}

    def observe(self) -> dict | None:
        from berth.errors import NotFound

        try:
            return self.engine.inspect_container(self.opts.container)
        except NotFound:
            return None

    plan = staticmethod(plan_exec)

    def apply_exec(self, container: str, argv: list, workdir, user, env: list, stdin, tty: bool,
                   detach: bool) -> None:
        from berth.runtime.exec import ExecFailed

        try:
            rc, out, err = self.engine.exec_container(container, argv, user=user, workdir=workdir, env=env,
                                                      detach=detach, tty=tty,
                                                      stdin=None if stdin is None else stdin.encode())
        except ExecFailed as exc:  # could not start: docker exec's 126 / 127, and why
            rc, out, err = exc.exit_code, b"", str(exc).encode()
        self._outcome = {} if detach else outputs(rc, out, err, strip_empty_ends=self.opts.strip_empty_ends)

    def report(self, actual) -> dict:
        return dict(self._outcome)
