# Copyright: berth maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure half of ``berth.core.image``: which references a task means (``image_refs``) and what
it takes to get from what the host has to what the task wants (``plan_image``).

Change is decided by resolved image ID (and, for a push, by manifest digest), never by "an action
ran": an image that is present is left alone unless ``force_source``; a forced pull is planned
only when the registry's tag resolves to another image ID than the local one; a load only when
the archive holds an image or tag the store lacks; a tag only when it points elsewhere; a push
only when the registry's tag names another manifest; a save only when the archive at
``archive_path`` holds something else.

What cannot be known before acting is the ID a build produces: a forced build is planned, and
the module reports it as a change only if the ID moved (``Image.report``). Such values are
``UNKNOWN`` in a check mode diff.
"""

from __future__ import annotations

import re
import typing

from ansible_collections.berth.core.plugins.module_utils.runner import ABSENT, Action, Difference, Plan, Refused

if typing.TYPE_CHECKING:
    from ansible_collections.berth.core.plugins.module_utils.image import ImageOptions

#: a diff value known only once the run has happened (check mode shows this)
UNKNOWN = "(known after the run)"
#: ``sha256:<hex prefix>`` or a bare full ID: an image ID, not a name
_ID = re.compile(r"^(?:sha256:[0-9a-f]{4,64}|[0-9a-f]{64})$")


class ImageRefs(typing.NamedTuple):
    """``image``: the image the task is about (``name:tag``, ``name@digest`` or an ID) as Docker
    shows it; ``kind``: ``tag``, ``digest`` or ``id``; ``tag``: the tag ``repository`` falls back
    on; ``repository``: ``repo:tag`` to tag into; ``push``: what is pushed, when ``push``."""

    image: str
    kind: str
    tag: str | None
    repository: str | None
    push: str | None


def _parse(option: str, text: str, **kw):
    from berth.errors import InvalidReference
    from berth.reference import Reference

    try:
        return Reference.parse(text, **kw)
    except InvalidReference as exc:
        raise Refused(f"{option}: {exc}") from None


def image_refs(want: ImageOptions) -> ImageRefs:
    """The references of a task; bad input is refused naming its option. Pure."""
    if _ID.match(want.name):
        image, kind, tag = want.name, "id", None
    else:
        ref = _parse("name", want.name, default_tag=False)
        if ref.digest is not None:
            image, kind, tag = ref.familiar(), "digest", None
        elif ref.tag is not None:  # a tag in the name wins over the tag option, as in docker_image
            image, kind, tag = ref.familiar(), "tag", ref.tag
        else:
            image, kind, tag = _parse("tag", f"{want.name}:{want.tag}").familiar(), "tag", want.tag
    repository = None
    if want.repository:
        rref = _parse("repository", want.repository, default_tag=False)
        if rref.digest is not None:
            raise Refused(f"repository: {want.repository} names a digest; tag into a repository[:tag]")
        repository = (rref if rref.tag else rref.with_tag(tag or want.tag)).familiar()
    push = None
    if want.push:
        push = repository or (image if kind == "tag" else None)
        if push is None:
            raise Refused(f"push: {want.name} is not a name:tag; give repository to push it under a name")
    if want.platform:
        from berth.errors import InvalidReference
        from berth.reference import Platform

        try:
            Platform.parse(want.platform)
        except InvalidReference as exc:
            raise Refused(f"platform: {exc}") from None
    return ImageRefs(image, kind, tag, repository, push)


def index_key(image: str) -> str:
    """The store's name-index key of a ``name:tag`` (what ``save`` records and ``load`` restores)."""
    return _parse("name", image).index_key


def platform_matches(wanted: str | None, image: dict) -> bool:
    """Does the local image (inspect view) satisfy the task's ``platform``?"""
    if not wanted:
        return True
    from berth.reference import Platform

    have = Platform(image.get("Os", ""), image.get("Architecture", ""), image.get("Variant", ""))
    return Platform.parse(wanted).matches(have)


# -- the plan ------------------------------------------------------------------------------------
def plan_image(want: ImageOptions, actual: dict) -> Plan:
    """``actual`` (``Image.observe``): ``image`` (inspect view or None), and as the task needs them
    ``remote`` ({digest, id} a pull would bring), ``archive`` ([{id, tags}] of ``load_path``),
    ``context`` (what is wrong with the build context, or None), ``repository`` (the ID the target
    tag names, or None), ``registry``/``local_manifest`` (manifest digests of the push target
    there and here), ``saved`` ([{id, tags}] of ``archive_path``, None if none or unreadable),
    ``archive_dir`` (whether the directory of ``archive_path`` exists)."""
    refs = image_refs(want)
    have = actual.get("image")
    if want.state == "absent":
        if have is None:
            return Plan()
        return Plan([Action("remove", f"remove image {refs.image}", ref=refs.image, force=want.force_absent)],
                    [Difference("exists", True, False), Difference("id", have["Id"], ABSENT)])

    plan = Plan()
    new_id = _plan_source(want, refs, actual, plan)
    pending = bool(plan.actions)  # the name is about to point at another image (or may)
    if refs.repository:  # then the push is of the repository tag, which moves only if tagged
        pending = _plan_tag(want, refs, actual, new_id, plan)
    if refs.push:
        _plan_push(refs, actual, pending, plan)
    if want.archive_path:
        _plan_save(want, refs, actual, new_id, plan)
    return plan


def _plan_source(want: ImageOptions, refs: ImageRefs, actual: dict, plan: Plan) -> str:
    """Plan getting the image; return its ID afterwards (``UNKNOWN`` when only acting tells)."""
    have = actual.get("image")
    source = want.source
    if source in ("pull", "build") and refs.kind == "id":
        raise Refused(f"name: {want.name} is an image ID; source {source} needs a name")
    if source in ("build", "load") and refs.kind == "digest":
        raise Refused(f"name: {want.name} names a digest; source {source} needs a name[:tag]")
    if have is not None and not want.force_source:
        if source == "pull" and not platform_matches(want.platform, have):
            _pull(want, refs, have, UNKNOWN, plan)
            return UNKNOWN
        return have["Id"]
    if source == "local":
        if have is None:
            raise Refused(f"name: image {refs.image} is not present (source local neither pulls, builds nor loads)")
        return have["Id"]
    if source == "pull":
        if have is not None:
            remote = actual.get("remote")
            if remote is None or remote["id"] == have["Id"]:  # by digest, or the registry has the same image
                return have["Id"]
            _pull(want, refs, have, remote["id"], plan)
            return remote["id"]
        _pull(want, refs, have, UNKNOWN, plan)
        return UNKNOWN
    if source == "build":
        problem = actual.get("context")
        if problem:
            raise Refused(problem)
        verb = "rebuild" if have is not None else "build"
        plan.actions.append(Action("build", f"{verb} image {refs.image} from {want.build.path}", ref=refs.image,
                                   before=have and have["Id"]))
        plan.differences.extend(_moved("id", have, UNKNOWN))
        return UNKNOWN
    return _plan_load(want, refs, actual, plan)


def _pull(want: ImageOptions, refs: ImageRefs, have: dict | None, new_id: str, plan: Plan) -> None:
    where = f" for {want.platform}" if want.platform else ""
    plan.actions.append(Action("pull", f"pull image {refs.image}{where}", ref=refs.image, platform=want.platform,
                               before=have and have["Id"]))
    plan.differences.extend(_moved("id", have, new_id))


def _moved(field: str, have: dict | None, new_id: str) -> list[Difference]:
    if have is None:
        return [Difference("exists", False, True), Difference(field, ABSENT, new_id)]
    return [Difference(field, have["Id"], new_id)]


def _plan_load(want: ImageOptions, refs: ImageRefs, actual: dict, plan: Plan) -> str:
    have = actual.get("image")
    images = actual.get("archive") or []
    if refs.kind == "id":
        found = [i for i in images if i["id"].removeprefix("sha256:").startswith(refs.image.removeprefix("sha256:"))]
    else:
        key = index_key(refs.image)
        found = [i for i in images if key in i["tags"]]
    if not found:
        held = ", ".join(t for i in images for t in i["familiar"] or [i["id"]]) or "nothing"
        raise Refused(f"load_path: {want.load_path} does not hold image {refs.image} (it holds {held})")
    if all(i["present"] and i["tagged"] for i in images):
        return found[0]["id"]
    plan.actions.append(Action("load", f"load images from {want.load_path}", path=want.load_path))
    plan.differences.extend(_moved("id", have, found[0]["id"]))
    return found[0]["id"]


def _plan_tag(want: ImageOptions, refs: ImageRefs, actual: dict, new_id: str, plan: Plan) -> bool:
    """Tag ``repository``; True if what it names changes (or may)."""
    target, current = refs.repository, actual.get("repository")
    if current is not None and (current == new_id or not want.force_tag):
        if current != new_id and new_id != UNKNOWN:
            plan.warnings.append(f"repository {target} names image {current}, not {new_id}: left as it is "
                                 "(force_tag: true moves it)")
        return False
    plan.actions.append(Action("tag", f"tag image {refs.image} as {target}", source=refs.image, target=target))
    plan.differences.append(Difference("repository", {target: current}, {target: new_id}))
    return True


def _plan_push(refs: ImageRefs, actual: dict, pending: bool, plan: Plan) -> None:
    target, there, here = refs.push, actual.get("registry"), actual.get("local_manifest")
    if not pending and there is not None and there == here:
        return
    plan.actions.append(Action("push", f"push image {target}", ref=target))
    plan.differences.append(Difference("pushed", {target: there}, {target: UNKNOWN if pending else here}))


def _plan_save(want: ImageOptions, refs: ImageRefs, actual: dict, new_id: str, plan: Plan) -> None:
    if actual.get("archive_dir") is False:  # refused before a pull or build it would follow
        raise Refused(f"archive_path: the directory of {want.archive_path} does not exist")
    tags = [index_key(refs.image)] if refs.kind == "tag" else []
    saved = actual.get("saved")
    if saved == [{"id": new_id, "tags": tags}]:
        return
    before = [i["id"] for i in saved] if saved else None
    plan.actions.append(Action("save", f"save image {refs.image} to {want.archive_path}", ref=refs.image,
                               path=want.archive_path, before=saved))
    plan.differences.append(Difference("archive", {want.archive_path: before}, {want.archive_path: [new_id]}))
