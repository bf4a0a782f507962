"""What a stage carries from step to step.

Invariant: ``image`` is the last step's image and ``full`` is its config JSON, reloaded from the blob
after every step (so ``history`` and ``rootfs`` are the store's, cache hit or not). ``args`` are the
ARGs declared in this stage with a value: they are in the environment of RUN steps and of variable
substitution, but never in the image's config.
"""

from __future__ import annotations

import json
from typing import Any

from berth.reference import Digest
from berth.store import Store
from berth.structs import dataclass, field

#: Docker's predefined proxy args: usable without an ARG line, given to RUN, kept out of history
PROXY_ARGS = frozenset({"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY", "ftp_proxy",
                        "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"})


@dataclass
class StageState:
    image: Digest | None  # None: FROM scratch, nothing built yet
    full: dict[str, Any]
    args: dict[str, str] = field(default_factory=dict)
    cmd_set: bool = False  # a CMD in this stage: a later ENTRYPOINT keeps it (Docker)

    @classmethod
    def of_image(cls, store: Store, image: Digest | None) -> StageState:
        return cls(image, json.loads(store.blobs.read(image)) if image is not None else {})

    def advance(self, store: Store, image: Digest) -> None:
        self.image = image
        self.full = json.loads(store.blobs.read(image))

    @property
    def config(self) -> dict[str, Any]:
        return self.full.get("config") or {}

    def env(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for item in self.config.get("Env") or []:
            key, _, value = item.partition("=")
            out[key] = value
        return out

    def expansion_env(self) -> dict[str, str]:
        """What ``$VAR`` sees: the stage's ARGs, overridden by ENV of the same name (Docker)."""
        return {**self.args, **self.env()}

    def run_args(self) -> list[tuple[str, str]]:
        """ARGs a RUN step gets in its environment (not those an ENV of the same name overrides)."""
        env = self.env()
        return [(k, v) for k, v in self.args.items() if k not in env]

    def workdir(self) -> str:
        return self.config.get("WorkingDir") or "/"
