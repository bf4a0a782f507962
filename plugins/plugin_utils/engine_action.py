# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The action of every berth.core module: ``plugins/action/<module>.py`` is a subclass of
``EngineModuleAction`` named after its module (so Ansible picks it for that module, and
``ansible-test sanity``'s action-plugin-docs finds the module's documentation).

It runs the module on the managed host under the engine's interpreter and against the host's
engine root, both from host variables, so no task names them:

- ``berth_python`` (default ``{{ berth_prefix }}/bin/python``, ``berth_prefix`` default
  ``/opt/berth``) becomes the module's ``ansible_python_interpreter``;
- ``berth_root`` (default ``/var/lib/berth``) is passed as the ``BERTH_ROOT`` environment
  variable, which the engine reads (its CLI does too), so modules carry no hidden option.

When that interpreter does not exist, or exists but cannot import the engine (the module
says so with ``berth_engine_missing``), the task fails with "the berth engine is not installed
on HOST: apply role berth.core.engine". Nothing is checked beforehand: a task on a host with
the engine costs exactly one module run.
"""

from __future__ import annotations

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

ENGINE_MISSING = "the berth engine is not installed on {host}: apply role berth.core.engine"
DEFAULT_ROOT = "/var/lib/berth"
DEFAULT_PREFIX = "/opt/berth"
ROOT_ENV = "BERTH_ROOT"  # module_utils.runner.ROOT_ENV
ENGINE_MISSING_KEY = "berth_engine_missing"  # module_utils.runner.ENGINE_MISSING_KEY
#: host fact of playbooks/drift.yml: what each check-mode task would change (see drift_entry)
DRIFT_FACT = "berth_drift"
# a shell's exit status for a command it cannot run: 127 not found, 126 not executable
_CANNOT_RUN = (126, 127)


class EngineModuleAction(ActionBase):
    _supports_check_mode = True
    _supports_async = True

    _berth_root = DEFAULT_ROOT

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        task_vars = task_vars if task_vars is not None else {}

        host_vars = task_vars
        if self._task.delegate_to:
            host_vars = (task_vars.get("ansible_delegated_vars") or {}).get(self._task.delegate_to, task_vars)
        host = host_vars.get("inventory_hostname") or self._task.delegate_to or "this host"
        self._berth_root = self._host_var(host_vars, "berth_root") or DEFAULT_ROOT
        prefix = self._host_var(host_vars, "berth_prefix") or DEFAULT_PREFIX
        python = self._host_var(host_vars, "berth_python") or f"{prefix.rstrip('/')}/bin/python"

        module_vars = dict(task_vars, ansible_python_interpreter=python)
        if self._task.delegate_to and "ansible_delegated_vars" in task_vars:
            delegated = dict(task_vars["ansible_delegated_vars"])
            delegated[self._task.delegate_to] = dict(host_vars, ansible_python_interpreter=python)
            module_vars["ansible_delegated_vars"] = delegated

        wrap_async = self._task.async_val and not self._connection.has_native_async
        outcome = self._execute_module(module_name=self._task.resolved_action or self._task.action,
                                       task_vars=module_vars, wrap_async=wrap_async)
        if _engine_missing(outcome):
            detail = {k: outcome[k] for k in ("module_stderr", "rc") if outcome.get(k)}
            outcome = {"failed": True, "msg": ENGINE_MISSING.format(host=host), "berth_python": python,
                       "detail": outcome.get("msg", ""), **detail}
        outcome.pop(ENGINE_MISSING_KEY, None)
        if self._drift_recorded(task_vars) and outcome.get("changed") and not outcome.get("failed"):
            entry = drift_entry(host, self._task.resolved_action or self._task.action, self._task.args, outcome,
                                no_log=bool(self._task.no_log))
            so_far = (task_vars.get("ansible_facts") or {}).get(DRIFT_FACT, [])
            outcome["ansible_facts"] = {**outcome.get("ansible_facts", {}), DRIFT_FACT: [*so_far, entry]}
        result = merge_hash(result, outcome)

        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _drift_recorded(self, task_vars):
        """playbooks/drift.yml: a check-mode run with ``berth_check`` true records what would change."""
        return bool(self._task.check_mode or self._play_context.check_mode) and _truthy(
            self._templar.template(task_vars.get("berth_check", False)))

    def _host_var(self, host_vars, name):
        value = host_vars.get(name)
        if value is None:
            return None
        value = self._templar.template(value)
        return str(value) if value not in (None, "") else None

    def _compute_environment_string(self, raw_environment_out=None):
        """The task's environment, plus ``BERTH_ROOT`` (set last: the host variable wins)."""
        env = {}
        super()._compute_environment_string(env)
        env[ROOT_ENV] = self._berth_root
        if isinstance(raw_environment_out, dict):
            raw_environment_out.clear()
            raw_environment_out.update(env)
        return self._connection._shell.env_prefix(**env)


def drift_entry(host, module, args, outcome, no_log=False):
    """One ``berth_drift`` item: which resource of which module would change, and how.

    ``fields`` names what differs as precisely as the module's diff allows:

    - a resource that is missing (or should not exist) differs by ``exists`` alone; what it would
      be created with is the task's, not drift;
    - a mapping (``env``, ``labels``, ...) differs key by key: ``env.MYSQL_ROOT_PASSWORD``;
    - anything else by the module's own field name (``running``, ``image``, ``volumes``).

    ``changes`` holds each field's ``before`` (the host) and ``after`` (the task). A task with
    ``no_log`` (a password in its environment) keeps its field names, and its values only where
    they are booleans or missing: anything else reads ``HIDDEN``.
    """
    module = str(module).rsplit(".", 1)[-1]
    name = args.get("name") or args.get("registry_url") or args.get("container") or "?"
    diff = outcome.get("diff") or {}
    before, after = diff.get("before") or {}, diff.get("after") or {}
    if "exists" in before or "exists" in after:
        before, after = {"exists": before.get("exists")}, {"exists": after.get("exists")}
    changes = {}
    for field in sorted(set(before) | set(after)):
        old, new = before.get(field), after.get(field)
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    changes[f"{field}.{key}"] = {"before": old.get(key), "after": new.get(key)}
        else:
            changes[field] = {"before": old, "after": new}
    if no_log:
        changes = {f: {side: _shown(value) for side, value in change.items()} for f, change in changes.items()}
    fields = list(changes)
    what = ", ".join(f"{f} {c['before']!r} -> {c['after']!r}" for f, c in changes.items()) or "; ".join(
        outcome.get("actions") or []) or "changed"
    return {"host": host, "module": module, "name": name, "resource": f"{module} {name}", "fields": fields,
            "changes": changes, "actions": outcome.get("actions") or [],
            "summary": f"{host}: {module} {name}: {what}"}


def _shown(value):
    """A value of a ``no_log`` task as drift reports it."""
    return value if value is None or isinstance(value, bool) else "HIDDEN"


def _truthy(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on", "y")


def _engine_missing(outcome):
    if not outcome.get("failed"):
        return False
    if outcome.get(ENGINE_MISSING_KEY):
        return True
    # the interpreter itself could not be run: the shell's status, and no module output at all
    return outcome.get("rc") in _CANNOT_RUN and not (outcome.get("module_stdout") or "").strip()
