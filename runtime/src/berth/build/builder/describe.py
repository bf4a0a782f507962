"""How a step is recorded in the image's history (``created_by``), which is also its cache key.

The texts are the classic builder's, so ``history`` reads as users know it:
``/bin/sh -c #(nop)  ENV A=b`` for a config step, ``/bin/sh -c apt-get ...`` for a RUN (``|1 V=2 ...``
when build args were in its environment), ``/bin/sh -c #(nop) COPY dir:<sha256> in /app`` for a copy.
The values are the EXPANDED ones, so a changed ``--build-arg`` used in ``ENV`` misses the cache.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from berth.build.dockerfile import instructions as ins

NOP = "/bin/sh -c #(nop) "


def _pairs(pairs: Sequence[tuple[str, str | None]]) -> str:
    return " ".join(k if v is None else f"{k}={v}" for k, v in pairs)


def _command(instr: ins.Cmd | ins.Entrypoint) -> str:
    return instr.command[0] if instr.shell_form else json.dumps(list(instr.command))


#: how each config-only instruction shows its (expanded) value; the others show their source text
_VALUE: dict[str, Callable[[Any], str]] = {
    "ENV": lambda i: _pairs(i.pairs),
    "ARG": lambda i: _pairs(i.pairs),
    "LABEL": lambda i: _pairs(i.pairs),
    "CMD": _command,
    "ENTRYPOINT": _command,
    "SHELL": lambda i: json.dumps(list(i.command)),
    "EXPOSE": lambda i: " ".join(p if "/" in p else f"{p}/tcp" for p in i.ports),
    "VOLUME": lambda i: json.dumps(list(i.paths)),
    "WORKDIR": lambda i: i.path,
    "USER": lambda i: i.user,
    "STOPSIGNAL": lambda i: i.signal,
    "MAINTAINER": lambda i: i.name,
}


def config_step(instr: Any) -> str:
    """``created_by`` of an instruction that only edits the config (HEALTHCHECK, ONBUILD: as written)."""
    value = _VALUE.get(instr.keyword)
    text = f"{instr.keyword} {value(instr)}" if value else instr.original
    return f"{NOP} {text}"


def run_step(command: Sequence[str], args: Sequence[tuple[str, str]]) -> str:
    text = " ".join(command)
    if args:
        return f"|{len(args)} {_pairs(args)} {text}"
    return text


def copy_step(keyword: str, checksum: str, dest: str, flags: Sequence[str] = ()) -> str:
    flag_text = "".join(f"{f} " for f in flags)
    return f"{NOP}{keyword} {flag_text}{checksum} in {dest} "
