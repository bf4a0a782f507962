"""A RUN step: a container from the step's parent image, its output relayed as it comes, its writable
layer committed as the step's diff, and the container removed whatever happens.

The container is an ordinary one (``docker ps`` shows it while the step runs, as with Docker's classic
builder): network ``bridge`` by default, so ``apt-get`` reaches the mirror through NAT; the image's
User, WorkingDir and Env apply; the entrypoint is cleared and the build args in effect are added to
its environment. Its output is read from conmon's attach socket, connected between ``runtime create``
and ``start`` so no byte is lost.
"""

from __future__ import annotations

import codecs
import contextlib
from collections.abc import Sequence
from typing import Any

from berth.build.builder.options import Output
from berth.errors import BerthError
from berth.reference import Digest


class BuildStepFailed(BerthError):
    """A RUN step exited non-zero (Docker: "The command '...' returned a non-zero code: N")."""


def run_in_container(engine: Any, parent: Digest, command: Sequence[str], env: Sequence[tuple[str, str]], *,
                     network: str, out: Output, commit: Any) -> Digest:
    """Run ``command``; on exit 0 call ``commit(record_dir, record) -> Digest`` before the container goes."""
    from berth.containers import ContainerSpec
    from berth.engine import container_ops as co
    from berth.runtime import attach

    ctx = co.runtime_context(engine)
    from berth.build.builder.check import owner_label

    spec = ContainerSpec(image=str(parent), command=tuple(command), entrypoint=(), env=tuple(env),
                         network=network, labels=(owner_label(),))
    cid = co.create(engine, spec, detach=True)
    try:
        out(f" ---> Running in {cid[:12]}\n")
        bundle = ctx.bundle(cid)
        socks: list = []
        try:
            co.start(engine, cid, on_created=lambda _cid: socks.append(attach.connect(bundle)))
        except BaseException:
            for s in socks:
                s.close()
            raise
        with socks[0] as sock:
            relayed = _relay(sock, out)
        code = co.wait(engine, cid)
        _rest_of_log(engine, cid, relayed, out)
        if code != 0:
            raise BuildStepFailed(f"The command '{' '.join(command)}' returned a non-zero code: {code}",
                                  command=list(command), code=code)
        return commit(ctx.containers.dir(cid), ctx.containers.config(cid))
    finally:
        with contextlib.suppress(BerthError):
            co.rm(engine, cid, force=True, volumes=True)
        out(f"Removing intermediate container {cid[:12]}\n")


#: conmon's attach packet stream byte -> the log's stream name
_STREAMS = {2: "stdout", 3: "stderr"}


def _relay(sock: Any, out: Output) -> dict[str, str]:
    """conmon's attach packets (one stream byte, then data) to ``out``, until the container is done;
    returns the text relayed per stream."""
    decoders = {n: codecs.getincrementaldecoder("utf-8")("replace") for n in _STREAMS}
    relayed = dict.fromkeys(_STREAMS.values(), "")

    def emit(n: int, text: str) -> None:
        if text:
            relayed[_STREAMS[n]] += text
            out(text)

    while True:
        packet = sock.recv(1 << 16)
        if not packet:
            break
        if packet[0] in decoders:
            emit(packet[0], decoders[packet[0]].decode(packet[1:]))
    for n, decoder in decoders.items():
        emit(n, decoder.decode(b"", final=True))
    return relayed


def _rest_of_log(engine: Any, cid: str, relayed: dict[str, str], out: Output) -> None:
    """What the container wrote that the attach socket did not bring: conmon may close the socket at
    the container's exit before it has passed on the last of its output (seen under load), while its
    log file has it all."""
    from berth.engine import container_ops as co

    logged = dict.fromkeys(relayed, "")
    with contextlib.suppress(BerthError, OSError):
        for line in co.logs(engine, cid):
            if line.stream in logged:
                logged[line.stream] += line.line
    for stream, text in logged.items():
        if len(text) > len(relayed[stream]) and text.startswith(relayed[stream]):
            out(text[len(relayed[stream]):])
