# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The module runner: observe -> plan -> apply -> report, and the one error boundary.

A module is a ``Resource`` subclass (see ``volume.py``) and a ``main()`` that calls
``run_module(ThatResource)``:

- ``observe()`` reads what the host has (cheap: records on disk, no netlink, no network);
- ``plan(desired, actual)`` is a pure function returning a ``Plan``: the actions to take and the
  differences found; it raises ``Refused`` for a change it will not make;
- ``apply_<kind>(**params)`` performs one action; it is the only code that writes, and check mode
  never reaches it. It may return ``False`` when the action turned out to change nothing (a pull
  that got the image the host had, a forced rebuild giving the same ID); anything else (``None``)
  counts as a change;
- the result carries ``changed``, ``actions`` (summaries of the actions that changed something),
  ``diff: {before, after}`` (the compared fields only; ``settle_diff()`` may fill in what only
  the run could tell) and the resource's state (``report()``), observed again after a change.

Engine errors (``berth.errors.BerthError``) and refusals become ``fail_json(msg=...)`` in
``run_module`` only, with the option the engine's error data points at named in front.

The engine root comes from the ``BERTH_ROOT`` environment variable, which the collection's
action plugin sets from the host variable ``berth_root`` (the engine's own CLI reads it too).
"""

from __future__ import annotations

import os
import typing

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.berth.core.plugins.module_utils.options import OptionsError, argument_spec, parse_options

#: environment variable the action plugin sets from ``berth_root`` (also the engine CLI's)
ROOT_ENV = "BERTH_ROOT"
#: result key that tells the action plugin the engine cannot be imported on this interpreter
ENGINE_MISSING_KEY = "berth_engine_missing"


class _Absent:
    """``Difference.before`` of an option of a resource that does not exist yet: left out of the diff."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


class Difference(typing.NamedTuple):
    """One compared option: its value on the host (``before``, ``ABSENT`` when the resource does not
    exist) and as the task wants it (``after``)."""

    field: str
    before: typing.Any
    after: typing.Any


class Action:
    """One step of a plan, performed by ``Resource.apply_<kind>(**params)``."""

    __slots__ = ("kind", "params", "summary")

    def __init__(self, kind: str, summary: str, **params: typing.Any) -> None:
        self.kind = kind
        self.summary = summary
        self.params = params

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Action) and (self.kind, self.summary, self.params) == (
            other.kind, other.summary, other.params)

    def __hash__(self) -> int:
        return hash((self.kind, self.summary))

    def __repr__(self) -> str:
        return f"Action({self.kind!r}, {self.summary!r}, **{self.params!r})"


class Plan:
    """What ``plan()`` decided: ``actions`` to take (none: nothing to change), the
    ``differences`` between the task and the host, and ``warnings`` for the user."""

    def __init__(self, actions=(), differences=(), warnings=()) -> None:
        self.actions: list[Action] = list(actions)
        self.differences: list[Difference] = list(differences)
        self.warnings: list[str] = list(warnings)

    @property
    def changed(self) -> bool:
        return bool(self.actions)

    def diff(self) -> dict:
        """``{before, after}`` of the compared fields; empty when nothing changes (differences
        that are not acted on, e.g. ``recreate: never``, are warnings, not a diff)."""
        if not self.actions:
            return {"before": {}, "after": {}}
        return {"before": {d.field: d.before for d in self.differences if d.before is not ABSENT},
                "after": {d.field: d.after for d in self.differences if d.after is not ABSENT}}

    def __repr__(self) -> str:
        return f"Plan(actions={self.actions!r}, differences={self.differences!r}, warnings={self.warnings!r})"


class Refused(Exception):
    """``plan()`` will not make this change (the message says why and which option to set)."""


class Resource:
    """One kind of engine object as a module manages it; subclasses fill in the class
    attributes, ``observe``, ``plan`` (a staticmethod: pure) and one ``apply_<kind>`` per action."""

    #: the options model (``options.ModuleOptions`` subclass)
    options: typing.ClassVar[type]
    #: result key of the resource's state, e.g. ``volume``
    result_key: typing.ClassVar[str]
    #: engine error data key -> option it comes from (``{value}`` is the data's value)
    error_fields: typing.ClassVar[dict] = {}
    #: an ``*_info`` module: observe and report only (no plan, no ``actions`` / ``diff``)
    read_only: typing.ClassVar[bool] = False

    def __init__(self, engine, opts) -> None:
        self.engine = engine
        self.opts = opts
        #: each action applied so far and whether it changed anything (empty: nothing applied yet)
        self.applied: list[tuple[Action, bool]] = []

    def observe(self):
        """The resource as the host has it, or None; read-only."""
        raise NotImplementedError

    @staticmethod
    def plan(desired, actual) -> Plan:
        raise NotImplementedError

    def apply(self, action: Action) -> bool:
        """Perform ``action``; whether it changed anything (only an explicit ``False`` says no)."""
        changed = getattr(self, f"apply_{action.kind}")(**action.params) is not False
        self.applied.append((action, changed))
        return changed

    def settle_diff(self, diff: dict, actual) -> dict:
        """The plan's diff after a real run, ``actual`` observed again; by default as planned."""
        return diff

    def report(self, actual) -> dict:
        """Result keys describing the resource (observed after the change; before it in check mode)."""
        return {self.result_key: actual} if actual is not None else {}


# -- running -----------------------------------------------------------------------------
class _Progress:
    """What ``execute`` has done so far, for a failure's report."""

    def __init__(self) -> None:
        self.done: list[str] = []
        self.current: Action | None = None


def open_engine():
    from berth.engine import Engine

    return Engine(root=os.environ.get(ROOT_ENV) or None)


def execute(resource_cls: type, opts, engine, *, check_mode: bool, progress: _Progress | None = None):
    """Observe, plan, apply (unless check mode), report. Returns ``(result, warnings)``."""
    progress = progress or _Progress()
    resource = resource_cls(engine, opts)
    actual = resource.observe()
    plan = Plan() if resource.read_only else resource.plan(opts, actual)
    done, diff = plan.actions, plan.diff()  # check mode: what the plan foresees
    if plan.actions and not check_mode:
        for action in plan.actions:
            progress.current = action
            if resource.apply(action):
                progress.done.append(action.summary)
        progress.current = None
        actual = resource.observe()
        # a real run: what the actions turned out to do, not what was foreseen
        done = [action for action, changed in resource.applied if changed]
        diff = resource.settle_diff(diff, actual) if done else Plan().diff()
    if resource.read_only:
        result = {"changed": False}
    else:
        result = {"changed": bool(done), "actions": [a.summary for a in done], "diff": diff}
    result.update(resource.report(actual))
    return result, plan.warnings


def run_module(resource_cls: type) -> None:
    """The whole module: argument_spec from the options model, then ``execute`` behind the
    error boundary."""
    model = resource_cls.options
    module = AnsibleModule(argument_spec=argument_spec(model), supports_check_mode=True, **model.module_kwargs)
    try:
        from berth.errors import BerthError
    except ImportError as exc:
        module.fail_json(msg=f"the berth engine is not installed for this interpreter (cannot import {exc.name})",
                         **{ENGINE_MISSING_KEY: True})
    try:
        opts = parse_options(model, module.params)
    except OptionsError as exc:
        module.fail_json(msg=str(exc))
    progress = _Progress()
    try:
        result, warnings = execute(resource_cls, opts, open_engine(), check_mode=module.check_mode, progress=progress)
    except (BerthError, Refused) as exc:
        module.fail_json(msg=describe_error(exc, resource_cls.error_fields, progress.current),
                         changed=bool(progress.done), actions=progress.done, **error_details(exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(**result)


def describe_error(exc: Exception, fields: dict, action: Action | None = None) -> str:
    """The engine's message, after the action that failed and, for bad input
    (``InvalidArgument``, a ``ValueError``), the option the error's data points at."""
    msg = str(exc)
    data = getattr(exc, "data", None) or {}
    if isinstance(exc, ValueError):
        for key, template in fields.items():
            value = data.get(key)
            if value not in (None, ""):
                msg = f"{template.format(value=value)}: {msg}"
                break
    return f"{action.summary}: {msg}" if action is not None else msg


def error_details(exc: Exception) -> dict:
    data = getattr(exc, "data", None)
    if data is None:
        return {}
    return {"error": {"type": type(exc).__name__, **{k: _plain(v) for k, v in data.items()}}}


def _plain(value):
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return str(value)
