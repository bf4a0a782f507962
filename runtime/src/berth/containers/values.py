"""Parsers of scalar ``berth run`` values: sizes, CPUs, restart policy, signals, users, names.

Each parser is pure and raises ``InvalidArgument`` whose message names the
flag and the value: ``invalid --memory value "12q": expected ...``.
"""

from __future__ import annotations

import re
import signal

from berth.containers.spec import RestartPolicy
from berth.errors import InvalidArgument

#: Docker's minimum for --memory (daemon/daemon_unix.go linuxMinMemory)
MIN_MEMORY = 6 * 1024 * 1024
#: largest uid/gid Docker (libcontainer) accepts
MAX_ID = 2**31 - 1

_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4, "p": 1024**5}
# go-units RAMInBytes: "512m", "512mb", "512MiB", "1.5g", "100", "100b" (a space is allowed before the unit)
_SIZE = re.compile(r"(\d+(?:\.\d+)?) ?(?:([kmgtp])i?)?b?", re.IGNORECASE)
#: Docker's restricted name rule (moby daemon/names RestrictedNamePattern), for ``fullmatch``:
#: container names and volume names alike
NAME_PATTERN = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")
_HOSTNAME = re.compile(r"[a-zA-Z0-9]([a-zA-Z0-9._-]*[a-zA-Z0-9])?")
#: Docker's restart policy names
RESTART_NAMES = ("no", "always", "unless-stopped", "on-failure")


def invalid(flag: str, value: object, reason: str) -> InvalidArgument:
    """The one error shape of every flag parser."""
    return InvalidArgument(f'invalid {flag} value "{value}": {reason}', flag=flag, value=value)


def parse_bytes(value: str, flag: str) -> int:
    """A size in bytes with an optional binary unit (Docker's ``RAMInBytes``); fractions truncate."""
    m = _SIZE.fullmatch(value.strip())
    if not m:
        raise invalid(flag, value, "expected a number with an optional unit b, k, m, g or t")
    from decimal import Decimal  # here: decimal is ~1 ms at start-up that most commands never need

    return int(Decimal(m.group(1)) * _UNITS[(m.group(2) or "").lower()])


def parse_memory(value: str, flag: str = "--memory") -> int:
    """``-m 512m`` -> bytes; ``0`` means no limit; anything else must be at least 6 MiB (as Docker)."""
    size = parse_bytes(value, flag)
    if 0 < size < MIN_MEMORY:
        raise invalid(flag, value, "minimum memory limit allowed is 6MB")
    return size


def parse_cpus(value: str, flag: str = "--cpus") -> int:
    """``--cpus 1.5`` -> nano CPUs (1_500_000_000); must be > 0 and a multiple of 1e-9."""
    from decimal import Decimal, InvalidOperation

    try:
        cpus = Decimal(value.strip())
    except InvalidOperation:
        raise invalid(flag, value, "expected a positive number of CPUs, e.g. 1.5") from None
    if not cpus.is_finite() or cpus <= 0:
        raise invalid(flag, value, "expected a positive number of CPUs, e.g. 1.5")
    nano = cpus * 10**9
    if nano != nano.to_integral_value():
        raise invalid(flag, value, "value is too precise (at most 9 decimal places)")
    return int(nano)


def parse_int(value: str, flag: str, minimum: int | None = None) -> int:
    """A base-10 integer (``--stop-timeout``, ``--pids-limit``)."""
    text = value.strip()
    if not re.fullmatch(r"[+-]?\d+", text):
        raise invalid(flag, value, "expected an integer")
    number = int(text)
    if minimum is not None and number < minimum:
        raise invalid(flag, value, f"must be at least {minimum}")
    return number


def parse_pids_limit(value: str, flag: str = "--pids-limit") -> int | None:
    """A positive limit, or None for unlimited (Docker: 0 and -1 both mean unlimited)."""
    number = parse_int(value, flag, minimum=-1)
    return number if number > 0 else None


def parse_stop_timeout(value: str, flag: str = "--stop-timeout") -> int:
    """Seconds to wait after the stop signal before SIGKILL; -1 waits forever (as Docker)."""
    return parse_int(value, flag, minimum=-1)


def parse_restart(value: str, flag: str = "--restart") -> RestartPolicy:
    """``no | always | unless-stopped | on-failure[:N]`` (N >= 0, 0 = unlimited)."""
    name, colon, count = value.strip().partition(":")
    if colon and not name:
        raise invalid(flag, value, "no policy provided before colon")
    name = name or "no"
    if name not in RESTART_NAMES:
        raise invalid(flag, value, "expected no, always, unless-stopped or on-failure[:max-retries]")
    retries = 0
    if count:
        if not count.isdigit():
            raise invalid(flag, value, "maximum retry count must be a non-negative integer")
        retries = int(count)
        # moby ValidateRestartPolicy: a non-zero count is an error with anything but on-failure
        if retries and name != "on-failure":
            raise invalid(flag, value, "maximum retry count can only be used with 'on-failure'")
    return RestartPolicy(name=name, max_retries=retries)  # type: ignore[arg-type]


def parse_stop_signal(value: str, flag: str = "--stop-signal") -> str:
    """A signal name (``SIGTERM``, ``term``, ``SIGRTMIN+3``) or number -> canonical ``SIGxxx`` name."""
    return signal_name(parse_signal_number(value, flag))


def parse_signal_number(value: str, flag: str = "--signal") -> int:
    """A signal name (``SIGTERM``, ``term``, ``SIGRTMIN+3``) or number -> its number, validated."""
    text = value.strip().upper()
    if text.isdigit():
        number = int(text)
    else:
        name = text if text.startswith("SIG") else f"SIG{text}"
        rt = re.fullmatch(r"SIGRT(MIN|MAX)([+-]\d+)?", name)
        if not rt:
            try:
                return int(signal.Signals[name])
            except KeyError:
                raise invalid(flag, value, "unknown signal name") from None
        base = signal.SIGRTMIN if rt.group(1) == "MIN" else signal.SIGRTMAX
        number = int(base) + int(rt.group(2) or 0)
    hi = int(signal.SIGRTMAX)
    if not int(signal.SIGRTMIN) <= number <= hi:
        try:
            signal.Signals(number)
        except ValueError:
            raise invalid(flag, value, f"no such signal number (1-{hi})") from None
    return number


def signal_name(number: int) -> str:
    """The canonical name of a valid signal number: ``SIGABRT`` (not SIGIOT), ``SIGRTMIN+3``."""
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"SIGRTMIN+{number - int(signal.SIGRTMIN)}"


def parse_user(value: str, flag: str = "--user") -> str | None:
    """``name | uid [: group | gid]``; resolved against the image later. "" -> None (the image's)."""
    text = value.strip()
    if not text:
        return None
    parts = text.split(":")
    if len(parts) > 2 or any(not p for p in parts) or re.search(r"\s", text):
        raise invalid(flag, value, "expected name|uid[:group|gid]")
    for part in parts:
        if part.isdigit() and int(part) > MAX_ID:
            raise invalid(flag, value, f"uids and gids must be in range 0-{MAX_ID}")
    return text


def parse_name(value: str, flag: str = "--name") -> str:
    """A container name as Docker allows it: ``[a-zA-Z0-9][a-zA-Z0-9_.-]+`` (a leading / is dropped)."""
    if not NAME_PATTERN.fullmatch(value.removeprefix("/")):
        raise invalid(flag, value, "only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed, at least 2 characters")
    return value.lstrip("/")


def parse_hostname(value: str, flag: str = "--hostname") -> str:
    """A hostname the kernel accepts (at most 64 bytes) made of letters, digits, '.', '-', '_'."""
    if len(value) > 64 or not _HOSTNAME.fullmatch(value):
        raise invalid(flag, value, "expected letters, digits, '.', '-' or '_', at most 64 characters")
    return value


def parse_workdir(value: str, flag: str = "--workdir") -> str | None:
    """An absolute path in the container ("" -> the image's)."""
    if not value:
        return None
    if not value.startswith("/"):
        raise invalid(flag, value, "the working directory needs to be an absolute path")
    return value
