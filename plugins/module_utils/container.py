# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Containers: the plan and the engine calls of ``berth.core.container`` / ``container_info``
(options: ``container_options.py``; what is compared: ``container_compare.py``).

Limits and the restart policy (``UPDATABLE``) change in place through ``berth update``, as do
the network connections (connect / disconnect) and the running state. Any other compared option
that differs, or its image, means the container is recreated (stopped, removed with its
anonymous volumes kept unless ``keep_volumes: false``, created again, started if
``state: started``).
"""

from __future__ import annotations

import contextlib
import os
import typing

from ansible_collections.berth.core.plugins.module_utils.container_compare import (
    compare,
    given,
    network_changes,
    view,
)
from ansible_collections.berth.core.plugins.module_utils.container_options import (
    ContainerInfoOptions,
    ContainerOptions,
    desired_spec,
    network_mode,
)
from ansible_collections.berth.core.plugins.module_utils.runner import (
    ABSENT,
    Action,
    Difference,
    Plan,
    Refused,
    Resource,
)

RUNS = ("started", "restarted")


# -- pure planning -----------------------------------------------------------------------------
def plan_container(want: ContainerOptions, actual: dict) -> Plan:
    """``actual``: ``{"container": inspect view or None, "spec": its creation ContainerSpec or None,
    "image_id": what the task's image resolves to on the host (None: not there), "pull_needed": the
    registry has another image for the tag (``pull: always`` only), "env_file": its pairs, "missing":
    {option: text} of references to things that do not exist}."""
    name = want.name
    container = actual.get("container")
    running = bool(container and container["State"].get("Running"))
    if want.state == "absent":
        if container is None:
            return Plan()
        summary = f"{'stop and ' if running else ''}remove container {name}"
        return Plan([Action("remove", summary, container=container["Id"], running=running,
                            volumes=not want.keep_volumes)],
                    [Difference("exists", True, False), *_running(running, False)])

    spec = desired_spec(want, actual.get("env_file") or ())
    for where, text in sorted((actual.get("missing") or {}).items()):
        raise Refused(f"{where}: {text}")
    actions = _pull(want, actual)
    if container is None:
        if not want.image:
            raise Refused(f"image: required to create container {name}")
        actions += [Action("create", f"create container {name}", spec=spec), *_after_create(want, spec)]
        created = [Difference(f, ABSENT, v) for f, v in sorted(view(spec).items()) if f in given(want)]
        return Plan(actions, [Difference("exists", False, True), Difference("image", ABSENT, want.image), *created,
                              *_running(False, want.state in RUNS)])

    differences, warnings = _differences(want, spec, actual)
    if differences and not want.recreate and {d.field for d in differences} <= UPDATABLE:
        # limits and the restart policy change in place, as docker_container does (berth update)
        why = ", ".join(d.field for d in differences)
        actions.append(Action("update", f"update container {name} ({why})", container=container["Id"],
                              **_update_values(differences, spec)))
        updated, differences = differences, []
    else:
        updated = []
    if want.recreate or differences:
        if not want.image:
            spec = _with_image(spec, container.get("Config", {}).get("Image") or container["Image"])
        why = ", ".join(d.field for d in differences) or "recreate: true"
        actions += [Action("recreate", f"recreate container {name} ({why})", container=container["Id"],
                           running=running, volumes=not want.keep_volumes, spec=spec), *_after_create(want, spec)]
        differences = differences or [Difference("recreated", False, True)]
        return Plan(actions, [*differences, *_running(running, want.state in RUNS)], warnings)

    mode = network_mode(want) or container["HostConfig"].get("NetworkMode", "bridge")
    connected = (container.get("NetworkSettings") or {}).get("Networks") or {}
    connect, disconnect, differences = network_changes(want, mode, connected)
    actions += [Action("disconnect", f"disconnect container {name} from network {n}", container=name, network=n)
                for n in disconnect]
    actions += [_connect(name, entry) for entry in connect]
    actions += _run_state(want, running)
    if want.state == "restarted" and running:
        differences.append(Difference("restarted", False, True))
    after = running if want.state == "present" else want.state in RUNS
    return Plan(actions, [*updated, *differences, *_running(running, after)], warnings)


#: options ``berth update`` changes on a running or stopped container, without a recreate (the
#: options model already refuses a restart policy with auto_remove, which update would refuse)
UPDATABLE = frozenset({"memory", "cpus", "pids_limit", "restart_policy", "restart_retries"})


def _update_values(differences: list[Difference], spec) -> dict:
    """The engine's update keywords for the differing options; a limit the task lifts is 0."""
    fields = {d.field for d in differences}
    out: dict = {}
    if "memory" in fields:
        out["memory"] = spec.memory or 0
    if "cpus" in fields:
        out["nano_cpus"] = spec.nano_cpus or 0
    if "pids_limit" in fields:
        out["pids_limit"] = spec.pids_limit or 0
    if fields & {"restart_policy", "restart_retries"}:
        out["restart"] = spec.restart
    return out


def _running(before: bool, after: bool) -> list[Difference]:
    return [Difference("running", before, after)] if before != after else []


def _pull(want: ContainerOptions, actual: dict) -> list[Action]:
    image = want.image
    if not image or (actual.get("image_id") and not actual.get("pull_needed")):
        return []
    if actual.get("image_id") is None and want.pull == "never":
        raise Refused(f"image: no such image on the host: {image} (and pull is never)")
    return [Action("pull", f"pull image {image}", image=image)]


def _after_create(want: ContainerOptions, spec) -> list[Action]:
    """After a create: connect the networks beside the one it was created on, start."""
    out = [_connect(want.name, entry) for entry in want.networks or () if entry.name != spec.network]
    if want.state in RUNS:
        out.append(Action("start", f"start container {want.name}", container=want.name))
    return out


def _connect(name: str, entry) -> Action:
    return Action("connect", f"connect container {name} to network {entry.name}", container=name,
                  network=entry.name, ip=entry.ipv4_address, aliases=tuple(entry.aliases or ()))


def _run_state(want: ContainerOptions, running: bool) -> list[Action]:
    name = want.name
    if want.state == "restarted":
        kind = "restart" if running else "start"
        return [Action(kind, f"{kind} container {name}", container=name)]
    if want.state == "started" and not running:
        return [Action("start", f"start container {name}", container=name)]
    if want.state == "stopped" and running:
        return [Action("stop", f"stop container {name}", container=name)]
    return []


def _differences(want: ContainerOptions, spec, actual: dict) -> tuple[list[Difference], list[str]]:
    """The compared options that differ (the image first), and warnings."""
    from ansible_collections.berth.core.plugins.module_utils.container_compare import mode_of

    out = []
    if want.image and mode_of(want.comparisons, "image") != "ignore":
        out += _image_difference(want, actual)
    recorded = actual.get("spec")
    if recorded is None:
        return out, [f"container {want.name} was created by an engine that did not record its creation spec: "
                     "only its image is compared (recreate: true replaces it once)"]
    out += compare(want, view(spec), view(recorded))
    return out, []


def _image_difference(want: ContainerOptions, actual: dict) -> list[Difference]:
    container = actual["container"]
    have_id = container["Image"]
    if want.image_comparison == "current-image":
        # the name the task gives against the name the container was created with; a tag that moved
        # to a newer image is not a difference
        have = container.get("Config", {}).get("Image") or have_id
        return [] if _same_name(want.image, have) else [Difference("image", have, want.image)]
    if actual.get("pull_needed") or actual.get("image_id") is None:
        return [Difference("image", have_id, f"{want.image} (to be pulled)")]
    if actual["image_id"] != have_id:
        return [Difference("image", have_id, actual["image_id"])]
    return []


def _same_name(a: str, b: str) -> bool:
    from berth.errors import InvalidReference
    from berth.reference import Reference

    try:
        return Reference.parse(a) == Reference.parse(b)
    except InvalidReference:
        return a.removeprefix("sha256:") == b.removeprefix("sha256:")


def _with_image(spec, image: str):
    from berth import structs

    return structs.replace(spec, image=image)


# -- the engine ----------------------------------------------------------------------------------
def inspect_or_none(engine, ref: str) -> dict | None:
    from berth.errors import NotFound

    try:
        return engine.inspect_container(ref)
    except NotFound:
        return None


class Container(Resource):
    options = ContainerOptions
    result_key = "container"
    # data keys of the engine's parsers' errors: the option name they were given
    error_fields: typing.ClassVar[dict] = {"flag": "{value}", "image": "image"}

    def observe(self) -> dict:
        from berth.errors import ImageNotFound

        opts = self.opts
        found = inspect_or_none(self.engine, opts.name)
        out = {"container": found, "spec": None, "image_id": None, "pull_needed": False, "env_file": (),
               "missing": {}}
        if found is None and opts.state == "absent":
            return out
        if found is not None:
            out["spec"] = self.engine.container_spec(found["Id"])
        if opts.state == "absent":
            return out
        if opts.image:
            with contextlib.suppress(ImageNotFound):
                out["image_id"] = str(self.engine.image_id(opts.image))
            if out["image_id"] and opts.pull == "always":
                out["pull_needed"] = self._registry_has_another(opts.image, out["image_id"])
        if opts.env_file is not None:
            from berth.containers.parse import read_kv_file

            out["env_file"] = tuple(read_kv_file(opts.env_file, "env_file", os.environ.get))
        out["missing"] = self._missing(opts)
        return out

    def _registry_has_another(self, image: str, image_id: str) -> bool:
        """``pull: always``: the registry's manifest for the tag (one HEAD request) is not one this
        host has for that name and image; the pull itself waits for a plan that needs it."""
        from berth.errors import ImageNotFound
        from berth.reference import Reference

        ref = Reference.parse(image)
        if ref.digest:
            return False  # a digest names one image for good
        digest = self.engine.registry_digest(image)
        if digest is None:
            return False  # let the task go on with the image it has, as docker_container does
        try:
            return str(self.engine.image_id(f"{ref.name}@{digest}")) != image_id
        except ImageNotFound:
            return True

    def _missing(self, opts: ContainerOptions) -> dict:
        """References that must exist before anything is done (so check mode says so too)."""
        out = {}
        if opts.init:
            from berth.runtime.oci import find_init_binary

            if find_init_binary() is None:
                out["init"] = "needs tini on the host (apt-get install tini, or add it to berth_packages)"
        for i, mount in enumerate(opts.mounts or ()):
            if mount.type == "bind" and mount.source and not os.path.exists(mount.source):
                out[f"mounts[{i}].source"] = f"bind source path does not exist: {mount.source}"
        for i, ref in enumerate(opts.volumes_from or ()):
            if inspect_or_none(self.engine, ref.partition(":")[0]) is None:
                out[f"volumes_from[{i}]"] = f"no such container: {ref}"
        wanted = [n.name for n in opts.networks or ()]
        mode = network_mode(opts)
        if mode and mode not in ("bridge", "host", "none"):
            wanted.append(mode)
        if wanted:
            from berth.errors import NotFound

            for net in dict.fromkeys(wanted):
                try:
                    # the record only: inspect would read every container's record for its users
                    self.engine.networks.store.get(net)
                except NotFound:
                    out[f"networks.{net}" if net in [n.name for n in opts.networks or ()] else "network_mode"] = \
                        f"no such network: {net}"
        return out

    plan = staticmethod(plan_container)

    def report(self, actual) -> dict:
        return {"container": actual["container"]} if actual["container"] is not None else {}

    # -- actions
    def apply_pull(self, image: str) -> None:
        self.engine.pull(image)

    def apply_create(self, spec) -> None:
        self.engine.create_container(spec, detach=True)

    def apply_recreate(self, container: str, running: bool, volumes: bool, spec) -> None:
        self.apply_remove(container, running, volumes)
        self.apply_create(spec)

    def apply_remove(self, container: str, running: bool, volumes: bool) -> None:
        if running:
            self.engine.stop(container)  # its stop signal and timeout first, as docker_container does
        self.engine.remove_container(container, force=True, volumes=volumes)

    def apply_connect(self, container: str, network: str, ip: str | None, aliases: tuple) -> None:
        self.engine.connect(container, network, ip=ip, aliases=tuple(aliases))

    def apply_disconnect(self, container: str, network: str) -> None:
        self.engine.disconnect(container, network)

    def apply_update(self, container: str, **changes) -> None:
        self.engine.update_container(container, **changes)

    def apply_start(self, container: str) -> None:
        self.engine.start(container)

    def apply_stop(self, container: str) -> None:
        self.engine.stop(container)

    def apply_restart(self, container: str) -> None:
        self.engine.restart_container(container)  # one operation: an auto_remove container survives it


class ContainerInfo(Resource):
    options = ContainerInfoOptions
    read_only = True
    result_key = "container"

    def observe(self) -> dict | None:
        return inspect_or_none(self.engine, self.opts.name)

    def report(self, actual) -> dict:
        return {"exists": actual is not None, "container": actual}
