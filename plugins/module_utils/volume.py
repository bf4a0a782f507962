# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Volumes: the options of ``berth.core.volume`` / ``volume_info``, the plan, the engine calls.

Labels and driver options of a volume cannot change after it is created (as in Docker); a
difference is acted on only as ``recreate`` says (``community.docker.docker_volume``'s option):
``never`` (default: warn, change nothing), ``options-changed``, ``always``. Only the labels and
driver options the task gives are compared, each key on its own (as community.docker does).
"""

from __future__ import annotations

import typing

from ansible_collections.berth.core.plugins.module_utils.options import ModuleOptions, option
from ansible_collections.berth.core.plugins.module_utils.runner import ABSENT, Action, Difference, Plan, Resource


class VolumeOptions(ModuleOptions):
    name: str = option(aliases=["volume_name"])
    state: typing.Literal["present", "absent"] = "present"
    driver: typing.Literal["local"] = "local"
    driver_options: dict[str, str] | None = None
    labels: dict[str, str] | None = None
    recreate: typing.Literal["never", "options-changed", "always"] = "never"


class VolumeInfoOptions(ModuleOptions):
    name: str = option(aliases=["volume_name"])


def compare_volume(want: VolumeOptions, have: dict) -> list[Difference]:
    """The options the task gives that the volume (``inspect`` view) does not match."""
    out = []
    if want.driver != have.get("Driver"):
        out.append(Difference("driver", have.get("Driver"), want.driver))
    for field, key in (("driver_options", "Options"), ("labels", "Labels")):
        wanted = getattr(want, field)
        if wanted is None:
            continue
        current = have.get(key) or {}
        if any(current.get(k) != v for k, v in wanted.items()):
            out.append(Difference(field, {k: current.get(k) for k in wanted}, dict(wanted)))
    return out


def plan_volume(want: VolumeOptions, have: dict | None) -> Plan:
    name = want.name
    remove = Action("remove", f"remove volume {name}", name=name)
    if want.state == "absent":
        if have is None:
            return Plan()
        return Plan([remove], [Difference("exists", True, False)])
    create = Action("create", f"create volume {name} (driver {want.driver})", name=name, driver=want.driver,
                    options=dict(want.driver_options or {}), labels=dict(want.labels or {}))
    if have is None:
        return Plan([create], [Difference("exists", False, True), *_created(want)])
    differences = compare_volume(want, have)
    if want.recreate == "always":
        return Plan([remove, create], differences or [Difference("created", have.get("CreatedAt"), "(recreated)")])
    if not differences:
        return Plan()
    if want.recreate == "options-changed":
        return Plan([remove, create], differences)
    changes = ", ".join(f"{d.field} {d.before!r} -> {d.after!r}" for d in differences)
    return Plan(differences=differences, warnings=[
        f"volume {name} differs from the task ({changes}) but recreate is never: left as it is "
        "(recreate: options-changed replaces it, losing its data)"])


def _created(want: VolumeOptions) -> list[Difference]:
    out = [Difference("driver", ABSENT, want.driver)]
    if want.driver_options is not None:
        out.append(Difference("driver_options", ABSENT, dict(want.driver_options)))
    if want.labels is not None:
        out.append(Difference("labels", ABSENT, dict(want.labels)))
    return out


class Volume(Resource):
    options = VolumeOptions
    result_key = "volume"
    # data keys of berth.volumes' errors
    error_fields: typing.ClassVar[dict] = {"option": "driver_options.{value}", "driver": "driver", "name": "name"}

    def observe(self) -> dict | None:
        from berth.volumes import VolumeNotFound

        try:
            return self.engine.volumes.inspect(self.opts.name)
        except VolumeNotFound:
            return None

    @staticmethod
    def plan(desired, actual) -> Plan:
        if desired.state == "present":
            _validate(desired)
        return plan_volume(desired, actual)

    def apply_create(self, name: str, driver: str, options: dict, labels: dict) -> None:
        self.engine.volumes.create(name, driver=driver, options=options, labels=labels)

    def apply_remove(self, name: str) -> None:
        self.engine.volumes.remove(name)


def _validate(want: VolumeOptions) -> None:
    """The engine's own checks of a name and driver options, before anything is planned
    (so check mode reports what a real run would refuse). Pure functions, no I/O."""
    from berth.volumes.names import validate_name
    from berth.volumes.options import validate_options

    validate_name(want.name)
    validate_options(want.driver_options)


class VolumeInfo(Resource):
    options = VolumeInfoOptions
    read_only = True
    result_key = "volume"

    observe = Volume.observe

    def report(self, actual) -> dict:
        return {"exists": actual is not None, "volume": actual}
