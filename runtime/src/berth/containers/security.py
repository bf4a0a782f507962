"""``--security-opt``: parsing (Docker's CLI rules) and reading back from ``HostConfig.SecurityOpt``.

What berth applies:

- ``seccomp=unconfined`` (no filter), ``seccomp=builtin`` (the default profile, as with no option),
  ``seccomp=FILE``: a profile in Docker's format. As the docker CLI does, the file is read and
  checked when the flag is parsed and its compacted JSON is what the container keeps
  (``seccomp={...}`` in ``HostConfig.SecurityOpt``), so the container does not depend on the file.
- ``no-new-privileges`` (``=true`` / ``=false``): the process cannot gain privileges through
  setuid binaries or file capabilities.
- ``systempaths=unconfined``: no masked or read-only /proc and /sys paths.
- ``apparmor=unconfined`` and ``label=disable``: accepted because berth applies no AppArmor
  profile and no SELinux label, so they are already the case; other AppArmor profiles and SELinux
  labels are refused rather than silently ignored.

``--privileged`` turns seccomp off whatever the option says, as in Docker.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from berth.containers.values import invalid
from berth.structs import dataclass

FLAG = "--security-opt"
UNCONFINED = "unconfined"
BUILTIN = "builtin"
_TRUTHY = {"true": True, "1": True, "false": False, "0": False}


@dataclass(frozen=True)
class SecurityOptions:
    """The effect of a container's ``SecurityOpt`` list."""

    seccomp: str | None = None  # None: the default profile; "unconfined"; else the profile's JSON text
    no_new_privileges: bool = False
    unmask_system_paths: bool = False  # systempaths=unconfined

    @property
    def seccomp_unconfined(self) -> bool:
        return self.seccomp == UNCONFINED


def _split(opt: str, flag: str) -> tuple[str, str | None]:
    """``key=value``; ``key:value`` is Docker's old spelling; ``no-new-privileges`` alone has no value."""
    key, sep, value = opt.partition("=")
    if not sep and key != "no-new-privileges":
        key, sep, value = opt.partition(":")
    if key == "no-new-privileges" and not sep:
        return key, None
    if not sep or not value:
        raise invalid(flag, opt, "expected KEY=VALUE (seccomp=unconfined|PROFILE.json, no-new-privileges, "
                                 "systempaths=unconfined, apparmor=unconfined, label=disable)")
    return key, value


def _read_profile(opt: str, path: str, flag: str) -> str:
    """The compacted JSON of a profile file, checked; errors name the flag and the file."""
    from berth.runtime.seccomp import ProfileError, validate_profile

    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
        raise invalid(flag, opt, f"opening seccomp profile ({path}) failed: {reason}") from None
    try:
        profile = json.loads(text)
    except ValueError as e:
        raise invalid(flag, opt, f"seccomp profile ({path}) is not valid JSON: {e}") from None
    try:
        validate_profile(profile)
    except ProfileError as e:
        raise invalid(flag, opt, f"seccomp profile ({path}): {e}") from None
    return json.dumps(profile, separators=(",", ":"))


def parse_security_opt(opt: str, flag: str = FLAG) -> str:
    """One ``--security-opt`` value, normalised to what ``HostConfig.SecurityOpt`` records; errors
    name ``flag`` (a module names its option instead)."""
    key, value = _split(opt.strip(), flag)
    if key == "seccomp":
        assert value is not None
        if value in (UNCONFINED, BUILTIN):
            return f"seccomp={value}"
        return f"seccomp={_read_profile(opt, value, flag)}"
    if key == "no-new-privileges":
        if value is None:
            return key
        if value.lower() not in _TRUTHY:
            raise invalid(flag, opt, "no-new-privileges takes true or false")
        return f"{key}={str(_TRUTHY[value.lower()]).lower()}"
    if key == "systempaths":
        if value != UNCONFINED:
            raise invalid(flag, opt, "systempaths takes the value unconfined only")
        return f"{key}={value}"
    if key == "apparmor":
        if value != UNCONFINED:
            raise invalid(flag, opt, "berth applies no AppArmor profile; only apparmor=unconfined is accepted")
        return f"{key}={value}"
    if key == "label":
        if value != "disable":
            raise invalid(flag, opt, "berth applies no SELinux labels; only label=disable is accepted")
        return f"{key}={value}"
    raise invalid(flag, opt, f'unknown option "{key}" (seccomp, no-new-privileges, systempaths, apparmor, label)')


def parse_security_opts(values: Iterable[str], flag: str = FLAG) -> tuple[str, ...]:
    """Every ``--security-opt``, normalised, duplicates dropped; a later seccomp= replaces an earlier one."""
    out: dict[str, str] = {}
    for value in values:
        parsed = parse_security_opt(value, flag)
        out[parsed.partition("=")[0]] = parsed
    return tuple(out.values())


def security_options(security_opt: Iterable[str] | None) -> SecurityOptions:
    """What a recorded ``HostConfig.SecurityOpt`` list asks for (already normalised at parse time;
    Docker's ``key:value`` spelling is read too)."""
    seccomp: str | None = None
    nnp = False
    unmask = False
    for opt in security_opt or ():
        key, sep, value = opt.partition("=")
        if not sep and key != "no-new-privileges":
            key, sep, value = opt.partition(":")
        if key == "seccomp":
            seccomp = None if value == BUILTIN else value
        elif key == "no-new-privileges":
            nnp = not sep or _TRUTHY.get(value.lower(), False)
        elif key == "systempaths":
            unmask = value == UNCONFINED
    return SecurityOptions(seccomp, nnp, unmask)


def seccomp_profile(opts: SecurityOptions) -> dict[str, Any] | None:
    """The custom profile of ``opts`` as data; None for the default profile or unconfined."""
    if opts.seccomp is None or opts.seccomp_unconfined:
        return None
    return json.loads(opts.seccomp)
