"""How a step is recorded in the image's history (``created_by``), which is also its cache key.

The texts are the classic builder's, so ``history`` reads as users know it:
``/bin/sh -c #(nop)  ENV A=b`` for a config step, ``/bin/sh -c apt-get ...`` for a RUN (``|1 V=2 ...``
when build args were in its environment), ``/bin/sh -c #(nop) COPY dir:<sha256> in /app`` for a copy.
The values are the EXPANDED ones, so a changed ``--build-arg`` used in ``ENV`` misses the cache.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from berth.build.dockerfile import instructions as ins

NOP = "/bin/sh -c #(nop) "


def _pairs(pairs: Sequence[tuple[str, str | None]]) -> str:
    return " ".join(k if v is None else f"{k}={v}" for k, v in pairs)


def config_step(instr: object) -> str:
    """``created_by`` of an instruction that only edits the config."""
    if isinstance(instr, ins.Env):
        text = f"ENV {_pairs(instr.pairs)}"
    elif isinstance(instr, ins.Arg):
        text = f"ARG {_pairs(instr.pairs)}"
    elif isinstance(instr, ins.Label):
        text = f"LABEL {_pairs(instr.pairs)}"
    elif isinstance(instr, (ins.Cmd, ins.Entrypoint)):
        text = f"{instr.keyword} {json.dumps(list(instr.command)) if not instr.shell_form else instr.command[0]}"
    elif isinstance(instr, ins.Shell):
        text = f"SHELL {json.dumps(list(instr.command))}"
    elif isinstance(instr, ins.Expose):
        text = "EXPOSE " + " ".join(p if "/" in p else f"{p}/tcp" for p in instr.ports)
    elif isinstance(instr, ins.Volume):
        text = f"VOLUME {json.dumps(list(instr.paths))}"
    elif isinstance(instr, ins.Workdir):
        text = f"WORKDIR {instr.path}"
    elif isinstance(instr, ins.User):
        text = f"USER {instr.user}"
    elif isinstance(instr, ins.StopSignal):
        text = f"STOPSIGNAL {instr.signal}"
    elif isinstance(instr, ins.Maintainer):
        text = f"MAINTAINER {instr.name}"
    else:  # HEALTHCHECK, ONBUILD: their source text says it best
        text = instr.original  # type: ignore[attr-defined]
    return f"{NOP} {text}"


def run_step(command: Sequence[str], args: Sequence[tuple[str, str]]) -> str:
    text = " ".join(command)
    if args:
        return f"|{len(args)} {_pairs(args)} {text}"
    return text


def copy_step(keyword: str, checksum: str, dest: str, flags: Sequence[str] = ()) -> str:
    flag_text = "".join(f"{f} " for f in flags)
    return f"{NOP}{keyword} {flag_text}{checksum} in {dest} "
