"""The one error of the firewall backends: a tool is missing, refused a ruleset, or the state
cannot be rendered. It carries the tool's stderr so ``system check`` and the CLI can show it."""

from __future__ import annotations

from berth.errors import BerthError


class FirewallError(BerthError):
    """``nft`` / ``iptables-restore`` failed or is unavailable, or a state is not renderable."""

    def __init__(self, message: str, *, tool: str = "", stderr: str = "", returncode: int | None = None,
                 **data: object) -> None:
        super().__init__(message, tool=tool, stderr=stderr, returncode=returncode, **data)
        self.tool = tool
        self.stderr = stderr
        self.returncode = returncode
