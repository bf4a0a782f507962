"""Run the rendered rulesets: the ``Firewall`` protocol, its nftables and iptables
implementations, and ``detect`` to pick one.

Every ``apply`` replaces this engine's rules in one transaction and is idempotent, so a repair is
"apply the state again". Costs per call (one exec is ~5-10 ms):

- nftables: ``apply``/``remove`` = one ``nft -f -``; ``in_sync`` = one ``nft list table``.
- iptables: ``apply``/``remove`` = one ``iptables-save`` (where are the jumps?) + one
  ``iptables-restore --noflush`` for both tables; ``in_sync`` = one ``iptables-save``.

An empty state removes everything of the ident (nothing of berth stays on the host while no
container needs it); ``in_sync`` of an empty state means "nothing of ours is there".

The tools are the binaries found on PATH plus /usr/sbin and /sbin (root's tools are often not on
a user's PATH); only ``subprocess`` is imported, so loading this module costs nothing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Protocol

from berth.network.firewall import iptables, nft
from berth.network.firewall.errors import FirewallError
from berth.network.firewall.model import FirewallState
from berth.network.firewall.plan import check_ident, plan

BACKENDS = ("auto", "nftables", "iptables")
TIMEOUT = 60  # seconds; iptables-legacy waits for the xtables lock (-w) up to 10 of them


class Firewall(Protocol):
    name: str  # "nftables" | "iptables"

    def apply(self, state: FirewallState) -> None:
        """Atomically replace the rules of ``state.ident`` by those of ``state``."""

    def in_sync(self, state: FirewallState) -> bool:
        """Are the live rules of ``state.ident`` exactly what ``state`` renders?"""

    def remove(self, ident: str) -> None:
        """Delete everything of ``ident`` (table, chains, jumps); idempotent."""


def which(tool: str) -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), "/usr/sbin", "/sbin"])
    return shutil.which(tool, path=path)


def _run(argv: list[str], stdin: str | None = None, *, check: bool = True) -> subprocess.CompletedProcess[str]:
    try:
        proc = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=TIMEOUT,
                              env={**os.environ, "LC_ALL": "C"})  # messages we match are English
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise FirewallError(f"{os.path.basename(argv[0])}: {exc}", tool=argv[0]) from exc
    if check and proc.returncode != 0:
        raise _failed(argv, proc)
    return proc


def _failed(argv: list[str], proc: subprocess.CompletedProcess[str]) -> FirewallError:
    tool = os.path.basename(argv[0])
    stderr = proc.stderr.strip()
    first = stderr.splitlines()[0] if stderr else f"exit status {proc.returncode}"
    return FirewallError(f"{tool} failed: {first}", tool=tool, stderr=stderr, returncode=proc.returncode,
                         argv=argv)


def _need(tool: str) -> str:
    path = which(tool)
    if path is None:
        raise FirewallError(f"{tool} not found (looked on PATH, /usr/sbin and /sbin)", tool=tool)
    return path


# -- nftables ----------------------------------------------------------------------------------
class NftablesFirewall:
    name = "nftables"

    def __init__(self, nft_path: str | None = None) -> None:
        self.nft = nft_path or _need("nft")

    def apply(self, state: FirewallState) -> None:
        _run([self.nft, "-f", "-"], nft.script(state))

    def remove(self, ident: str) -> None:
        _run([self.nft, "-f", "-"], nft.remove_script(ident))

    def listing(self, ident: str) -> str:
        """``nft list table ip <ident>``, or "" if there is no such table."""
        proc = _run([self.nft, "list", "table", "ip", check_ident(ident)], check=False)
        if proc.returncode == 0:
            return proc.stdout
        if "No such file or directory" in proc.stderr:
            return ""
        raise _failed([self.nft, "list", "table"], proc)

    def in_sync(self, state: FirewallState) -> bool:
        return nft.normalise(self.listing(state.ident)) == nft.normalise(nft.render(state))


# -- iptables ----------------------------------------------------------------------------------
class IptablesFirewall:
    name = "iptables"

    def __init__(self, save: str | None = None, restore: str | None = None) -> None:
        self.save = save or _need("iptables-save")
        self.restore = restore or _need("iptables-restore")

    def saved(self) -> iptables.Tables:
        """Every table, parsed: one exec for nat and filter (a table the kernel has not loaded
        yet is simply absent, which reads as "no chains, no jumps")."""
        return iptables.parse(_run([self.save]).stdout)

    def _restore(self, text: str) -> None:
        if text:
            # -w: iptables-legacy serialises on the xtables lock (the nft flavour ignores it)
            _run([self.restore, "-w", "10", "--noflush"], text)

    def apply(self, state: FirewallState) -> None:
        if plan(state).empty:
            self.remove(state.ident)
            return
        self._restore(iptables.apply_input(state, self.saved()))

    def remove(self, ident: str) -> None:
        self._restore(iptables.remove_input(ident, self.saved()))

    def listing(self, ident: str) -> iptables.Tables:
        """Our chains and the builtin chains' rules jumping to them (for tests and debugging)."""
        saved = self.saved()
        out = iptables.ours(saved, ident)
        pre = iptables.prefix(ident)
        for table, hooks in iptables.HOOKS.items():
            for hook in hooks:
                out[table][hook] = [r for r in saved.get(table, {}).get(hook, []) if r == f"-j {pre}-{hook}"]
        return out

    def in_sync(self, state: FirewallState) -> bool:
        return iptables.in_sync(state, self.saved())


# -- choosing ------------------------------------------------------------------------------------
def detect(preferred: str = "auto") -> Firewall:
    """``auto``: nftables if ``nft list tables`` works here, else iptables; ``nftables`` /
    ``iptables``: that one, or a ``FirewallError`` saying why it cannot be used."""
    if preferred not in BACKENDS:
        raise FirewallError(f"unknown firewall backend {preferred!r} (want one of {', '.join(BACKENDS)})",
                            backend=preferred)
    why_not_nft = ""
    if preferred in ("auto", "nftables"):
        try:
            fw = NftablesFirewall()
            tables = _run([fw.nft, "list", "tables"]).stdout  # the binary runs and the kernel speaks nf_tables
            if preferred == "nftables" or not _iptables_forward_drops(fw.nft, tables):
                return fw
            why_not_nft = "the iptables FORWARD policy is DROP, which an nftables accept cannot override"
        except FirewallError as exc:
            if preferred == "nftables":
                raise FirewallError(f"nftables is unavailable: {exc}", tool="nft", stderr=exc.stderr) from exc
            why_not_nft = str(exc)
    try:
        return IptablesFirewall()
    except FirewallError as exc:
        also = f" (and nftables: {why_not_nft})" if why_not_nft else ""
        raise FirewallError(f"iptables is unavailable: {exc}{also}", tool="iptables") from exc


def _iptables_forward_drops(nft: str, tables: str) -> bool:
    """Does iptables (here: its nf_tables flavour, table ``ip filter``) drop forwarded packets by
    default, as Docker, ufw and many hardened hosts set it? A drop in another table's base chain
    wins over an accept in ours, so ``auto`` then uses iptables, whose rules go into that chain."""
    if "table ip filter" not in tables.splitlines():
        return False
    proc = _run([nft, "list", "chain", "ip", "filter", "FORWARD"], check=False)
    return proc.returncode == 0 and "policy drop" in proc.stdout


def sysctls_for(state: FirewallState) -> dict[str, str]:
    """The kernel settings the rules rely on (the caller writes them): forwarding, and
    route_localnet on each bridge so DNAT from 127.0.0.1 may leave through it."""
    out = {"/proc/sys/net/ipv4/ip_forward": "1"}
    for b in plan(state).bridges:
        out[f"/proc/sys/net/ipv4/conf/{b.bridge}/route_localnet"] = "1"
    return out
