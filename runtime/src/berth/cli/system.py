"""``berth system df|prune|check|restore`` and ``berth info``."""

from __future__ import annotations

import argparse
from typing import Any

from berth.cli.output import human_size, print_json, table


def register(sub: Any) -> None:
    system = sub.add_parser("system", help="manage the engine").add_subparsers(dest="system_command", metavar="COMMAND")
    sp = system.add_parser("df", help="show disk usage")
    sp.set_defaults(func=cmd_df)
    sp.add_argument("--format", choices=["table", "json"], default="table")
    sp = system.add_parser("prune", help="remove unused data")
    sp.set_defaults(func=cmd_prune)
    sp.add_argument("-a", "--all", action="store_true", help="remove all unused images, not just dangling ones")
    sp.add_argument("-f", "--force", action="store_true", help="do not prompt (berth never prompts)")
    sp = system.add_parser("check", help="verify the store; --repair fixes what a crash left behind")
    sp.set_defaults(func=cmd_check)
    sp.add_argument("--repair", action="store_true")
    sp.add_argument("--format", choices=["table", "json"], default="table")
    sp = system.add_parser("restore", help="at boot: record dead containers exited, start what policies say")
    sp.set_defaults(func=cmd_restore)
    sp.add_argument("--format", choices=["table", "json"], default="table")
    sp = sub.add_parser("info", help="show engine paths and configuration")
    sp.set_defaults(func=cmd_info)


def cmd_df(engine: Any, args: argparse.Namespace) -> int:
    df = engine.system_df()
    if args.format == "json":
        print_json(df)
        return 0
    im = df["Images"]
    table(["TYPE", "TOTAL", "ACTIVE", "SIZE", "RECLAIMABLE"],
          [["Images", str(im["TotalCount"]), str(im["Active"]), human_size(im["Size"]), human_size(im["Reclaimable"])]])
    return 0


def cmd_prune(engine: Any, args: argparse.Namespace) -> int:
    res = engine.system_prune(all=args.all)
    for image_id in res["ImagesDeleted"]:
        print(f"deleted: {image_id}")
    print(f"Total reclaimed space: {human_size(res['SpaceReclaimed'])}")
    return 0


def cmd_check(engine: Any, args: argparse.Namespace) -> int:
    report = engine.system_check(repair=args.repair)
    if args.format == "json":
        print_json(report.to_dict())
    else:
        for p in report.problems:
            state = "repaired" if p.repaired else "found"
            print(f"{state}: {p.kind} {p.subject}: {p.detail}")
        print(f"checked {report.blobs_checked} blobs, {report.layers_checked} layers, {report.images_checked} images; "
              f"garbage: {report.garbage_blobs} blobs, {report.garbage_layers} layers"
              + ("" if not args.repair else " (collected)"))
        print("store is clean" if report.clean else "store has problems: run `berth system check --repair`")
    return 0 if report.clean else 1


def cmd_restore(engine: Any, args: argparse.Namespace) -> int:
    from berth.runtime.restore import restore_engine
    from berth.structs import asdict

    actions = restore_engine(engine)
    if args.format == "json":
        print_json([asdict(a) for a in actions])
    else:
        for a in actions:
            print(f"{a.action}: {a.name} ({a.id[:12]})" + (f": {a.detail}" if a.detail else ""))
    return 1 if any(a.action == "failed" for a in actions) else 0


def cmd_info(engine: Any, args: argparse.Namespace) -> int:
    from berth import __version__

    print_json({
        "Version": __version__,
        "Root": str(engine.paths.root),
        "ConfigFile": str(engine.paths.config_file),
        "RunDir": str(engine.paths.run_dir),
        "RegistryConfig": engine.config.to_dict(),
    })
    return 0
