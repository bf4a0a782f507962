"""The iptables ruleset of one engine: the same rules as ``nft.py``, as ``iptables-restore`` input.

The engine owns six chains, named from its ident upper-cased (``berth`` -> ``BERTH-...``)::

    nat:    BERTH-PREROUTING  BERTH-OUTPUT  BERTH-POSTROUTING  BERTH-PORTS
    filter: BERTH-FORWARD  BERTH-ISOLATE  BERTH-INPUT

and one jump to each of the first three / BERTH-FORWARD from the builtin chain of the same name
(inserted at the top). ``render`` is pure and writes rules exactly as ``iptables-save`` prints
them, so ``in_sync`` compares parsed save output with parsed rendering, chain by chain.

Applying is ``iptables-restore --noflush``: declaring ``:BERTH-X - [0:0]`` creates the chain or
flushes it, every other chain of the table is left alone, and each table's section is one
atomic commit. The jumps are the one thing not expressible idempotently in restore syntax (there
is no "insert unless present"), so the caller reads ``iptables-save`` once and ``hooks`` adds the
missing jumps (and drops duplicates) to the same restore input.
"""

from __future__ import annotations

from collections.abc import Iterable

from berth.network.firewall.model import FirewallState, PortRule
from berth.network.firewall.plan import Plan, check_ident, plan

LOOPBACK = "127.0.0.0/8"
NAT_CHAINS = ("PREROUTING", "OUTPUT", "POSTROUTING", "PORTS")
FILTER_CHAINS = ("FORWARD", "ISOLATE", "INPUT")
#: builtin chain -> our chain it jumps to (same suffix), per table
HOOKS = {"nat": ("PREROUTING", "OUTPUT", "POSTROUTING"), "filter": ("FORWARD", "INPUT")}

#: parsed save output: table -> chain -> rule texts (the part after "-A CHAIN ") in order
Tables = dict[str, dict[str, list[str]]]


def prefix(ident: str) -> str:
    return check_ident(ident).upper()


def chains(ident: str) -> dict[str, tuple[str, ...]]:
    """Our chain names per table."""
    pre = prefix(ident)
    return {"nat": tuple(f"{pre}-{c}" for c in NAT_CHAINS), "filter": tuple(f"{pre}-{c}" for c in FILTER_CHAINS)}


def render(state: FirewallState) -> dict[str, str]:
    """``{"nat": ..., "filter": ...}``: each a ``*table ... COMMIT`` section that declares
    (creates or flushes) our chains and appends their rules; ``{}`` for an empty state. The
    jumps from the builtin chains are not in here: see ``hooks``."""
    p = plan(state)
    if p.empty:
        return {}
    pre = prefix(p.ident)
    nat = {
        f"{pre}-PREROUTING": [f"-m addrtype --dst-type LOCAL -j {pre}-PORTS"],
        f"{pre}-OUTPUT": [f"-m addrtype --dst-type LOCAL -j {pre}-PORTS"],
        f"{pre}-POSTROUTING": _postrouting(p),
        f"{pre}-PORTS": [_dnat(r) for r in p.ports],
    }
    filt = {
        f"{pre}-FORWARD": _forward(p, pre),
        f"{pre}-ISOLATE": [f"-o {b.bridge} -j DROP" for b in p.external],
        # as nft._input: no new connections from containers to the host's loopback services
        f"{pre}-INPUT": [f"-d {LOOPBACK} -i {b.bridge} -m conntrack --ctstate NEW -j DROP" for b in p.bridges],
    }
    return {"nat": _section("nat", nat), "filter": _section("filter", filt)}


def _section(table: str, rules: dict[str, list[str]], extra: Iterable[str] = ()) -> str:
    lines = [f"*{table}"]
    lines += [f":{chain} - [0:0]" for chain in rules]
    lines += [f"-A {chain} {rule}" for chain, body in rules.items() for rule in body]
    lines += extra
    lines.append("COMMIT")
    return "\n".join(lines) + "\n"


def _dnat(r: PortRule) -> str:
    match = f"-d {r.host_ip}/32 " if r.host_ip else ""
    return (f"{match}-p {r.proto} -m {r.proto} --dport {r.host_port} "
            f"-j DNAT --to-destination {r.container_ip}:{r.container_port}")


def _postrouting(p: Plan) -> list[str]:
    rules = [f"-s {b.subnet} ! -o {b.bridge} -j MASQUERADE" for b in p.external]
    rules += [f"-s {LOOPBACK} -o {b.bridge} -j MASQUERADE" for b in p.bridges]
    # "-i" does not exist in POSTROUTING: "from the bridge" is "from its subnet"
    rules += [f"-s {b.subnet} -o {b.bridge} -m conntrack --ctstate DNAT -j MASQUERADE" for b in p.bridges]
    return rules


def _forward(p: Plan, pre: str) -> list[str]:
    # same order and reasons as nft._forward
    rules: list[str] = []
    for b in p.internal:
        rules += [f"-i {b.bridge} ! -o {b.bridge} -j DROP", f"! -i {b.bridge} -o {b.bridge} -j DROP"]
    for b in p.external:
        rules += [f"-o {b.bridge} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
                  f"-o {b.bridge} -m conntrack --ctstate DNAT -j ACCEPT"]
    rules += [f"-i {b.bridge} ! -o {b.bridge} -j {pre}-ISOLATE" for b in p.external]
    rules += [f"-i {b.bridge} -j ACCEPT" for b in p.external]
    rules += [f"-o {b.bridge} -j DROP" for b in p.external]
    return rules


# -- reading iptables-save -------------------------------------------------------------------
def parse(text: str) -> Tables:
    """``iptables-save`` output (or a rendering) -> table -> chain -> rules; counters, comments
    and policies dropped, whitespace collapsed. Chains declared without rules map to []."""
    tables: Tables = {}
    current: dict[str, list[str]] | None = None
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line or line.startswith("#") or line == "COMMIT":
            continue
        if line.startswith("*"):
            current = tables.setdefault(line[1:], {})
        elif current is None:
            continue
        elif line.startswith(":"):
            current.setdefault(line[1:].split(" ", 1)[0], [])
        elif line.startswith("-A "):
            _, chain, *rest = line.split(" ", 2)
            current.setdefault(chain, []).append(rest[0] if rest else "")
    return tables


def jump_counts(saved: Tables, ident: str) -> dict[str, dict[str, int]]:
    """How often each builtin hook chain holds our bare jump: table -> builtin -> count."""
    pre = prefix(ident)
    return {table: {hook: saved.get(table, {}).get(hook, []).count(f"-j {pre}-{hook}") for hook in hooks}
            for table, hooks in HOOKS.items()}


def ours(saved: Tables, ident: str) -> Tables:
    """Only our chains (those that exist) out of parsed save output."""
    names = chains(ident)
    return {table: {c: saved[table][c] for c in names[table] if c in saved.get(table, {})} for table in names}


# -- restore inputs --------------------------------------------------------------------------
def hooks(table: str, ident: str, counts: dict[str, int]) -> list[str]:
    """Restore lines that leave exactly one jump per hook, inserted at the top if missing."""
    pre = prefix(ident)
    lines = []
    for hook in HOOKS[table]:
        n = counts.get(hook, 0)
        if n == 0:
            lines.append(f"-I {hook} 1 -j {pre}-{hook}")
        lines += [f"-D {hook} -j {pre}-{hook}"] * max(0, n - 1)
    return lines


def apply_input(state: FirewallState, saved: Tables) -> str:
    """The one ``iptables-restore --noflush`` input that installs ``state`` over what ``saved``
    (parsed ``iptables-save``) shows; "" if the state is empty (use ``remove_input``)."""
    sections = render(state)
    counts = jump_counts(saved, state.ident)
    out = []
    for table, text in sections.items():
        extra = hooks(table, state.ident, counts[table])
        out.append(text.replace("COMMIT\n", "".join(f"{line}\n" for line in extra) + "COMMIT\n"))
    return "".join(out)


def remove_input(ident: str, saved: Tables) -> str:
    """Restore input deleting our jumps, then flushing and deleting our chains; "" if none of it
    exists. Only names we own are mentioned, so other chains are never touched."""
    pre = prefix(ident)
    counts = jump_counts(saved, ident)
    present = ours(saved, ident)
    out = []
    for table in HOOKS:
        lines = [f"-D {hook} -j {pre}-{hook}" for hook, n in counts[table].items() for _ in range(n)]
        # declaring flushes (so no rule of ours references another of ours any more), then -X
        lines += [f":{c} - [0:0]" for c in present[table]]
        lines += [f"-X {c}" for c in present[table]]
        if lines:
            out.append(f"*{table}\n" + "".join(f"{line}\n" for line in lines) + "COMMIT\n")
    return "".join(out)


def expected(state: FirewallState) -> Tables:
    """Our chains as they must look live (parsed like save output)."""
    return {table: parse(text).get(table, {}) for table, text in render(state).items()}


def in_sync(state: FirewallState, saved: Tables) -> bool:
    """Do our chains and jumps in ``saved`` equal what ``state`` renders? Empty state: none of
    them may exist."""
    want = expected(state)
    have = ours(saved, state.ident)
    counts = jump_counts(saved, state.ident)
    if not want:
        return not any(have.values()) and not any(n for c in counts.values() for n in c.values())
    return all(have[t] == want.get(t, {}) for t in have) and all(
        n == 1 for c in counts.values() for n in c.values())
