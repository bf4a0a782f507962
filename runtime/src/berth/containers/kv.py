"""Key/value flags: ``-e``/``--env-file``, ``-l``/``--label-file``, ``--add-host``, ``--dns``, ``--ip``.

Env and label files follow Docker's ``kvfile`` format: one ``KEY=VALUE`` per line,
the value verbatim (no quotes, no expansion), leading whitespace ignored, blank
lines and ``#`` comments skipped, a UTF-8 BOM on the first line dropped.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterable, Mapping

from berth.containers.values import invalid

HOST_GATEWAY = "host-gateway"
Lookup = Callable[[str], "str | None"]


def read_kv_file(path: str, flag: str, bare: Lookup) -> list[tuple[str, str]]:
    """The pairs of one env/label file; ``bare(key)`` gives a value for a line without ``=`` (None drops it)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise invalid(flag, path, exc.strerror or "cannot read the file") from None
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise invalid(flag, path, "the file is not valid UTF-8") from None
    pairs = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, eq, val = line.partition("=")
        if not key:
            raise invalid(flag, path, f"line {number}: no variable name")
        if re.search(r"\s", key):
            raise invalid(flag, path, f"line {number}: variable '{key}' contains whitespaces")
        if not eq:
            found = bare(key)
            if found is None:
                continue
            val = found
        pairs.append((key, val))
    return pairs


def _dedup(pairs: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    # last value wins, at the position the key first appeared: what a map of the flags means
    return tuple(dict(pairs).items())


def parse_env(values: Iterable[str], env_files: Iterable[str] = (),
              environ: Mapping[str, str] | None = None) -> tuple[tuple[str, str], ...]:
    """Env files first, then ``-e`` (later wins); a bare ``KEY`` takes the caller's value or is dropped."""
    env = os.environ if environ is None else environ
    pairs: list[tuple[str, str]] = []
    for path in env_files:
        pairs.extend(read_kv_file(path, "--env-file", env.get))
    for value in values:
        key, eq, val = value.partition("=")
        if not key:
            raise invalid("--env", value, "no variable name")
        if not eq:
            if key not in env:
                continue
            val = env[key]
        pairs.append((key, val))
    return _dedup(pairs)


def parse_labels(values: Iterable[str], label_files: Iterable[str] = ()) -> tuple[tuple[str, str], ...]:
    """Label files first, then ``-l`` (later wins); a bare ``KEY`` is a label with an empty value."""
    pairs: list[tuple[str, str]] = []
    for path in label_files:
        pairs.extend(read_kv_file(path, "--label-file", lambda _key: ""))
    for value in values:
        key, _, val = value.partition("=")
        if not key.strip():
            raise invalid("--label", value, "no label name")
        pairs.append((key, val))
    return _dedup(pairs)


def parse_ip(value: str, flag: str, version: int | None = None) -> str:
    """An IP address, normalised (``[::1]`` brackets allowed)."""
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        addr = ipaddress.ip_address(text)
    except ValueError:
        raise invalid(flag, value, "expected an IP address") from None
    if version and addr.version != version:
        raise invalid(flag, value, f"expected an IPv{version} address")
    return str(addr)


def parse_add_host(value: str, flag: str = "--add-host") -> tuple[str, str]:
    """``name:ip`` or ``name=ip`` (IPv6 allowed, bracketed or not); ``host-gateway`` is kept as is."""
    name, eq, ip = value.partition("=")
    if not eq:
        name, _, ip = value.partition(":")
    if not name or ":" in name or not ip:
        raise invalid(flag, value, "expected host:ip")
    if ip == HOST_GATEWAY:
        return name, ip
    try:
        return name, parse_ip(ip, flag)
    except ValueError:
        raise invalid(flag, value, f"invalid IP address '{ip}'") from None
