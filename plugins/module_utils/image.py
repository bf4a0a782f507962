# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Images: the options of ``berth.core.image`` / ``image_info``, what the host and the registry
have (``observe``), the engine calls; the plan is ``image_plan.py``.

Option names follow ``community.docker.docker_image``. ``observe`` reads the store only, except
where the task asks a question only a registry or a file can answer, and then it only reads:
``force_source`` with ``source: pull`` asks the registry which image its tag names now (manifests,
no layer); ``push`` asks for the digest of the manifest under the target tag (HEAD); ``source:
load`` reads the archive's ``manifest.json`` and image configs; ``archive_path`` reads the
archive already there. A present image with ``source: pull`` and no ``force_source`` costs a
look at the store and nothing else (no registry, no ``requests``).
"""

from __future__ import annotations

import contextlib
import os
import typing
from pathlib import Path

from ansible_collections.berth.core.plugins.module_utils.image_plan import UNKNOWN, image_refs, plan_image
from ansible_collections.berth.core.plugins.module_utils.options import ModuleOptions
from ansible_collections.berth.core.plugins.module_utils.runner import Resource


class ImageBuild(ModuleOptions):
    path: str
    dockerfile: str | None = None
    args: dict[str, str] | None = None
    target: str | None = None
    nocache: bool = False
    pull: bool = False
    labels: dict[str, str] | None = None
    network: str | None = None


class ImageOptions(ModuleOptions):
    name: str
    tag: str = "latest"
    state: typing.Literal["present", "absent"] = "present"
    source: typing.Literal["pull", "build", "load", "local"] | None = None
    force_source: bool = False
    force_tag: bool = False
    force_absent: bool = False
    build: ImageBuild | None = None
    load_path: str | None = None
    archive_path: str | None = None
    repository: str | None = None
    push: bool = False
    platform: str | None = None

    module_kwargs: typing.ClassVar[dict] = {"required_if": [("state", "present", ["source"]),
                                                            ("source", "build", ["build"]),
                                                            ("source", "load", ["load_path"])]}


class ImageInfoOptions(ModuleOptions):
    name: list[str] | None = None


@contextlib.contextmanager
def blame(option: str):
    """Engine errors inside name ``option`` first (a registry's platform error names ``platform``)."""
    from berth.errors import BerthError, PlatformNotFound

    try:
        yield
    except BerthError as exc:
        exc.message = f"{'platform' if isinstance(exc, PlatformNotFound) else option}: {exc.message}"
        exc.args = (exc.message,)
        raise


class Image(Resource):
    options = ImageOptions
    result_key = "image"

    def __init__(self, engine, opts) -> None:
        super().__init__(engine, opts)
        self.build_output: list[str] = []

    # -- observe -----------------------------------------------------------------------------
    def observe(self) -> dict:
        want = self.opts
        refs = image_refs(want)
        image = self._inspect(refs.image)
        out: dict = {"image": image}
        if want.state == "absent":
            return out
        if refs.repository:
            out["repository"] = self._id_of(refs.repository)
        if refs.push:
            out["local_manifest"] = self._manifest_of(refs.push)
        if self.applied:  # observed again for the report: the local state is all it needs
            return out
        if want.source == "pull" and image is not None and want.force_source and refs.kind == "tag":
            with blame("name"):
                digest, image_id = self.engine.remote_image(refs.image, platform=want.platform)
            out["remote"] = {"digest": str(digest), "id": str(image_id)}
        if want.source == "load" and (image is None or want.force_source):
            out["archive"] = self._archive(want.load_path)
        if want.source == "build" and (image is None or want.force_source):
            out["context"] = context_problem(want.build)
        if refs.push:
            with blame("repository" if want.repository else "name"):
                digest = self.engine.registry_digest(refs.push)
            out["registry"] = str(digest) if digest else None
        if want.archive_path:
            out["saved"] = self._saved(want.archive_path)
            out["archive_dir"] = os.path.isdir(os.path.dirname(os.path.abspath(want.archive_path)))
        return out

    def _inspect(self, ref: str) -> dict | None:
        from berth.errors import ImageNotFound

        try:
            return self.engine.inspect_image(ref)
        except ImageNotFound:
            return None

    def _id_of(self, ref: str) -> str | None:
        from berth.errors import ImageNotFound

        try:
            return str(self.engine.image_id(ref))
        except ImageNotFound:
            return None

    def _manifest_of(self, ref: str) -> str | None:
        image = self._inspect(ref)
        return image["Descriptor"]["digest"] if image else None

    def _archive(self, path: str) -> list[dict]:
        """The images of an archive, each with whether the store has it and its tags already."""
        from berth.reference import familiar_key

        with blame("load_path"):
            images = self.engine.archive_images(path)
        names = self.engine.store.images.names()
        ids = {str(i) for i in self.engine.store.images.ids()}
        return [{"id": str(image_id), "tags": keys, "familiar": [familiar_key(k) for k in keys],
                 "present": str(image_id) in ids, "tagged": all(names.tags.get(k) == str(image_id) for k in keys)}
                for image_id, keys in images]

    def _saved(self, path: str) -> list[dict] | None:
        """What the archive at ``archive_path`` holds; None when there is none (or it is unreadable:
        then it is written anew)."""
        from berth.errors import ArchiveError

        if not os.path.isfile(path):
            return None
        try:
            return [{"id": str(i), "tags": keys} for i, keys in self.engine.archive_images(path)]
        except ArchiveError:
            return None

    # -- plan ----------------------------------------------------------------------------------
    plan = staticmethod(plan_image)

    # -- apply: each returns whether it changed anything -----------------------------------------
    def apply_pull(self, ref: str, platform: str | None, before: str | None) -> bool:
        with blame("name"):
            return str(self.engine.pull(ref, platform=platform).image_id) != before

    def apply_build(self, ref: str, before: str | None) -> bool:
        from berth.build.builder import BuildOptions

        b = self.opts.build
        options = BuildOptions(
            context=Path(b.path), dockerfile=b.dockerfile or "Dockerfile", tags=(ref,),
            build_args=tuple(sorted((b.args or {}).items())), target=b.target, no_cache=b.nocache, pull=b.pull,
            labels=tuple(sorted((b.labels or {}).items())), network=b.network or "bridge")
        with blame("build"):
            return str(self.engine.build(options, self.build_output.append)) != before

    def apply_load(self, path: str) -> bool:
        with blame("load_path"):
            self.engine.load(path)
        return True

    def apply_tag(self, source: str, target: str) -> bool:
        with blame("repository"):
            return self.engine.tag(source, target)

    def apply_push(self, ref: str) -> bool:
        # asked again: a source or tag action of this run may have made the registry's copy current
        with blame("repository" if self.opts.repository else "name"):
            if self.engine.registry_digest(ref) == self.engine.inspect_image(ref)["Descriptor"]["digest"]:
                return False
            self.engine.push(ref)
        return True

    def apply_save(self, ref: str, path: str, before: list | None) -> bool:
        with blame("archive_path"):
            self.engine.save([ref], path)
        return self._saved(path) != before

    def apply_remove(self, ref: str, force: bool) -> bool:
        with blame("name"):
            self.engine.rmi(ref, force=force)
        return True

    # -- report ----------------------------------------------------------------------------------
    def report(self, actual) -> dict:
        out: dict = {"image": actual["image"] or {}}
        if self.build_output:
            out["stdout"] = "".join(self.build_output)
        return out

    def settle_diff(self, diff: dict, actual) -> dict:
        return settle_diff(diff, actual)


def settle_diff(diff: dict, actual: dict) -> dict:
    """The plan's diff with what only the run could tell (``UNKNOWN``) filled in from the host, and
    without what turned out not to change (a forced rebuild giving the same ID)."""
    image_id = (actual.get("image") or {}).get("Id")
    now = {"id": image_id, "repository": actual.get("repository"), "pushed": actual.get("local_manifest"),
           "archive": [image_id]}

    def settle(field: str, value):
        if value == UNKNOWN or value == [UNKNOWN]:
            return now[field]
        if isinstance(value, dict):
            return {k: settle(field, v) for k, v in value.items()}
        return value

    before, after = dict(diff["before"]), {f: settle(f, v) for f, v in diff["after"].items()}
    for field in [f for f in after if f in before and before[f] == after[f]]:
        del before[field], after[field]
    return {"before": before, "after": after}


def context_problem(build: ImageBuild) -> str | None:
    """What a build would fail on before its first step, named by option (read-only checks)."""
    if not os.path.isdir(build.path):
        what = "is not a directory" if os.path.exists(build.path) else "does not exist"
        return f"build.path: {build.path} {what}"
    dockerfile = os.path.join(build.path, build.dockerfile or "Dockerfile")
    if not os.path.isfile(dockerfile):
        return f"build.dockerfile: cannot locate the Dockerfile {dockerfile}"
    return None


class ImageInfo(Resource):
    options = ImageInfoOptions
    read_only = True
    result_key = "images"

    def observe(self) -> list[dict]:
        from berth.errors import ImageNotFound

        if self.opts.name is None:  # every image `berth images` lists (build steps left out)
            refs = list(dict.fromkeys(row["ID"] for row in self.engine.images()))
        else:
            refs = list(self.opts.name)
        out, seen = [], set()
        for ref in refs:
            try:
                image = self.engine.inspect_image(ref)
            except ImageNotFound:  # also what a malformed name resolves to
                continue
            if image["Id"] not in seen:
                seen.add(image["Id"])
                out.append(image)
        return out

    def report(self, actual) -> dict:
        return {"images": actual}
