"""Image commands: pull push tag rmi images inspect history save load import login logout."""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from berth.cli.output import ProgressRenderer, human_age, human_size, print_json, table
from berth.errors import InvalidArgument


def register(sub: Any) -> None:
    def add(name: str, func: Any, help: str, aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help, aliases=list(aliases))
        sp.set_defaults(func=func)
        return sp

    sp = add("pull", cmd_pull, "pull an image from a registry")
    sp.add_argument("ref")
    sp.add_argument("--platform", help="os/arch[/variant] (default: this host's)")
    sp.add_argument("-q", "--quiet", action="store_true")

    sp = add("push", cmd_push, "push an image to a registry")
    sp.add_argument("ref")
    sp.add_argument("-q", "--quiet", action="store_true")

    sp = add("tag", cmd_tag, "create a tag TARGET that refers to SOURCE")
    sp.add_argument("source")
    sp.add_argument("target")

    _rmi_arguments(add("rmi", cmd_rmi, "remove one or more images"))
    _images_arguments(add("images", cmd_images, "list images"))

    sp = add("history", cmd_history, "show the history of an image")
    sp.add_argument("ref")
    sp.add_argument("--no-trunc", action="store_true")
    sp.add_argument("--format", choices=["table", "json"], default="table")

    sp = add("save", cmd_save, "save images to a docker-archive tar")
    sp.add_argument("refs", nargs="+")
    sp.add_argument("-o", "--output", required=True)

    sp = add("load", cmd_load, "load images from a docker-archive tar")
    sp.add_argument("-i", "--input", required=True)
    sp.add_argument("-q", "--quiet", action="store_true")

    sp = add("import", cmd_import, "create an image from a rootfs tarball")
    sp.add_argument("source", help="tar file (plain, gzip, xz, zstd)")
    sp.add_argument("ref", nargs="?")
    sp.add_argument("-c", "--change", action="append", default=[], help="Dockerfile instruction, e.g. 'CMD [\"sh\"]'")
    sp.add_argument("-m", "--message", default="")

    sp = add("login", cmd_login, "log in to a registry")
    sp.add_argument("server", nargs="?", default="docker.io")
    sp.add_argument("-u", "--username")
    sp.add_argument("-p", "--password")
    sp.add_argument("--password-stdin", action="store_true")

    sp = add("logout", cmd_logout, "log out from a registry")
    sp.add_argument("server", nargs="?", default="docker.io")

    # `berth image <verb>` like `docker image <verb>`
    image = sub.add_parser("image", help="manage images").add_subparsers(dest="image_command", metavar="COMMAND")
    sp = image.add_parser("inspect", help="display detailed information on images")
    sp.set_defaults(func=cmd_inspect)
    sp.add_argument("refs", nargs="+")
    sp = image.add_parser("ls", help="list images")
    sp.set_defaults(func=cmd_images)
    _images_arguments(sp)
    sp = image.add_parser("rm", help="remove images")
    sp.set_defaults(func=cmd_rmi)
    _rmi_arguments(sp)
    sp = image.add_parser("prune", help="remove unused images")
    sp.set_defaults(func=cmd_image_prune)
    sp.add_argument("-a", "--all", action="store_true")
    sp.add_argument("-f", "--force", action="store_true")

    sp = add("inspect", cmd_inspect_any, "display detailed information on containers or images")
    sp.add_argument("refs", nargs="+")
    sp.add_argument("--type", choices=["container", "image"], help="only look for this kind of object")



def _rmi_arguments(sp: argparse.ArgumentParser) -> None:
    """``rmi`` and ``image rm``."""
    sp.add_argument("refs", nargs="+")
    sp.add_argument("-f", "--force", action="store_true")
    sp.add_argument("--no-prune", action="store_true", help="keep untagged parents (build steps) and unused layers")


def _images_arguments(sp: argparse.ArgumentParser) -> None:
    """``images`` and ``image ls``."""
    sp.add_argument("-q", "--quiet", action="store_true", help="only show image IDs")
    sp.add_argument("-a", "--all", action="store_true", help="also the intermediate images of builds")
    sp.add_argument("--digests", action="store_true")
    sp.add_argument("--no-trunc", action="store_true")
    sp.add_argument("--format", choices=["table", "json"], default="table")
    sp.add_argument("repository", nargs="?")

def cmd_pull(engine: Any, args: argparse.Namespace) -> int:
    from berth.reference import Reference

    ref = Reference.parse(args.ref)
    if not args.quiet:
        print(f"{ref.lookup if ref.digest else ref.tag}: Pulling from {ref.familiar_name}", flush=True)
    res = engine.pull(args.ref, platform=args.platform, progress=ProgressRenderer())
    if args.quiet:
        print(res.reference.familiar())
    else:
        print(f"Digest: {res.digest}\nStatus: {res.status}\n{res.reference}")
    return 0


def cmd_push(engine: Any, args: argparse.Namespace) -> int:
    from berth.reference import Reference

    ref = Reference.parse(args.ref)
    if not args.quiet:
        print(f"The push refers to repository [{ref.name}]", flush=True)
    res = engine.push(args.ref, progress=ProgressRenderer())
    tag = ref.tag or ref.lookup
    print(f"{tag}: digest: {res.digest} size: {res.size}")
    return 0


def cmd_tag(engine: Any, args: argparse.Namespace) -> int:
    engine.tag(args.source, args.target)
    return 0


def cmd_rmi(engine: Any, args: argparse.Namespace) -> int:
    from berth.errors import BerthError

    rc = 0
    for ref in args.refs:
        try:
            for item in engine.rmi(ref, force=args.force, prune=not args.no_prune):
                for k, v in item.items():
                    print(f"{k}: {v}")
        except BerthError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            rc = exc.exit_code
    return rc


def cmd_images(engine: Any, args: argparse.Namespace) -> int:
    rows = engine.images(all=args.all)
    if args.repository:
        from berth.reference import Reference

        want = Reference.parse(args.repository, default_tag=False)
        rows = [r for r in rows if r["Repository"] == want.familiar_name and (not want.tag or r["Tag"] == want.tag)]
    if args.format == "json":
        print_json(rows)
        return 0
    if args.quiet:
        seen = dict.fromkeys(r["ID"].removeprefix("sha256:")[: None if args.no_trunc else 12] for r in rows)
        for image_id in seen:  # nothing at all when there are no images, as docker images -q
            print(image_id)
        return 0
    headers = ["REPOSITORY", "TAG", *(["DIGEST"] if args.digests else []), "IMAGE ID", "CREATED", "SIZE"]
    body = []
    for r in rows:
        image_id = r["ID"] if args.no_trunc else r["ID"].removeprefix("sha256:")[:12]
        body.append([r["Repository"], r["Tag"], *([r["Digest"]] if args.digests else []), image_id,
                     human_age(r["Created"]), human_size(r["Size"])])
    table(headers, body)
    return 0


def cmd_inspect(engine: Any, args: argparse.Namespace) -> int:
    from berth.errors import BerthError

    out, rc = [], 0
    for ref in args.refs:
        try:
            out.append(engine.inspect_image(ref))
        except BerthError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            rc = 1
    print_json(out)
    return rc


def cmd_inspect_any(engine: Any, args: argparse.Namespace) -> int:
    """Docker's `inspect`: a container of that name or ID first, then an image."""
    from berth.errors import BerthError, NotFound

    out, rc = [], 0
    for ref in args.refs:
        try:
            if args.type != "image":
                try:
                    out.append(engine.inspect_container(ref))
                    continue
                except NotFound:
                    if args.type == "container":
                        raise
            out.append(engine.inspect_image(ref))
        except BerthError as exc:
            print(f"Error: No such object: {ref}" if isinstance(exc, NotFound) else f"Error: {exc}", file=sys.stderr)
            rc = 1
    print_json(out)
    return rc


def cmd_history(engine: Any, args: argparse.Namespace) -> int:
    rows = engine.history(args.ref)
    if args.format == "json":
        print_json(rows)
        return 0
    body = []
    for r in rows:
        image_id = r["Id"] if args.no_trunc or r["Id"] == "<missing>" else r["Id"].removeprefix("sha256:")[:12]
        created_by = r["CreatedBy"] if args.no_trunc or len(r["CreatedBy"]) <= 45 else r["CreatedBy"][:44] + "…"
        body.append([image_id, human_age(r["Created"]), created_by, human_size(r["Size"]), r["Comment"]])
    table(["IMAGE", "CREATED", "CREATED BY", "SIZE", "COMMENT"], body)
    return 0


def cmd_save(engine: Any, args: argparse.Namespace) -> int:
    engine.save(args.refs, args.output)
    return 0


def cmd_load(engine: Any, args: argparse.Namespace) -> int:
    for name in engine.load(args.input):
        print(f"Loaded image: {name}" if not name.startswith("sha256:") else f"Loaded image ID: {name}")
    return 0


def cmd_import(engine: Any, args: argparse.Namespace) -> int:
    image_id = engine.import_image(args.source, args.ref, args.change, args.message)
    print(image_id)
    return 0


def cmd_login(engine: Any, args: argparse.Namespace) -> int:
    username = args.username
    if args.password_stdin:
        if args.password:
            raise InvalidArgument("--password and --password-stdin are mutually exclusive")
        password = sys.stdin.read().rstrip("\r\n")
    else:
        password = args.password
    if not username:
        if not sys.stdin.isatty():
            raise InvalidArgument("login: --username is required when not on a terminal")
        username = input("Username: ")
    if password is None:
        if not sys.stdin.isatty():
            raise InvalidArgument("login: give the password with --password-stdin when not on a terminal")
        password = getpass.getpass("Password: ")
    if args.password:
        print("WARNING! Using --password via the CLI is insecure. Use --password-stdin.", file=sys.stderr)
    engine.login(args.server, username, password)
    print("Login Succeeded")
    return 0


def cmd_logout(engine: Any, args: argparse.Namespace) -> int:
    if engine.logout(args.server):
        print(f"Removing login credentials for {args.server}")
    else:
        print(f"Not logged in to {args.server}")
    return 0


def cmd_image_prune(engine: Any, args: argparse.Namespace) -> int:
    from berth.cli.system import cmd_prune

    return cmd_prune(engine, args)
