"""Run a Dockerfile's stages into an image, as Docker's classic builder does, with its layer cache.

One image per step (``images -a`` shows them; ``system prune`` takes them once nothing tags them), each
step looked up in the cache first (``cache.py``): an unchanged rebuild reads the Dockerfile, checksums
the copied files and finds every step. A failing step raises with its step number, instruction and
exit code; the build containers are always removed, and nothing is tagged unless every step passed.

Only the stages the target needs are built (FROM <stage> and COPY --from=<stage>), like BuildKit:
Docker's classic builder would also build unrelated earlier stages, which only costs time.
"""

from __future__ import annotations

import contextlib
import copy
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from berth.build.builder import describe
from berth.build.builder.cache import BuildCache, step_key
from berth.build.builder.images import step_image
from berth.build.builder.options import BuildOptions, Output, no_output
from berth.build.builder.state import PROXY_ARGS, StageState
from berth.build.builder.workdir import step_rootfs
from berth.build.dockerfile import Dockerfile, ShellLex, Stage, parse_dockerfile
from berth.build.dockerfile import instructions as ins
from berth.errors import BerthError, ImageNotFound, InvalidArgument
from berth.reference import Digest

CONFIG_ONLY = (ins.Env, ins.Arg, ins.Label, ins.Cmd, ins.Entrypoint, ins.Shell, ins.Expose, ins.Volume,
               ins.Workdir, ins.User, ins.StopSignal, ins.Maintainer, ins.Healthcheck, ins.Onbuild)


class BuildError(BerthError):
    """A step failed: the message names the step, the instruction and why."""


def build(engine: Any, options: BuildOptions, out: Output = no_output) -> Digest:
    """Build; tag the result with ``options.tags``; return the image ID."""
    return _Builder(engine, options, out).run()


class _Builder:
    def __init__(self, engine: Any, options: BuildOptions, out: Output) -> None:
        self.engine = engine
        self.store = engine.store
        self.opts = options
        self.out = out
        self.cache = BuildCache(engine.store)
        self.build_args = _build_args(options.build_args)
        self.used_args: set[str] = set()
        self.stages: dict[str, Digest | None] = {}  # by lower-case name and by index
        self.step = 0
        self.total = 0
        self.lex = ShellLex()
        self._meta: dict[str, str] = {}

    # -- the whole build -------------------------------------------------------------------
    def run(self) -> Digest:
        from berth.archive.common import tag_key
        from berth.build.context import BuildContext

        tags = [tag_key(t) for t in self.opts.tags]  # a bad name fails before any work
        self.context = BuildContext.open(self.opts.context, self.opts.dockerfile)
        df = parse_dockerfile(self.context.dockerfile_text(), filename=self.opts.dockerfile)
        self.lex = ShellLex(df.escape)
        meta = self._meta_args(df)
        target = df.stage(self.opts.target) if self.opts.target else df.stages[-1]
        todo = [s for s in df.stages if s.index in self._needed(df, target, meta)]
        self.total = sum(1 + len(s.instructions) for s in todo) + (1 if self.opts.labels else 0)
        state = None
        for stage in todo:
            state = self._stage(stage, meta)
        assert state is not None
        if self.opts.labels:
            label = ins.Label(line=0, original="LABEL " + " ".join(f"{k}={v}" for k, v in self.opts.labels),
                              pairs=tuple(self.opts.labels))
            self._do(state, label)
        if state.image is None:
            raise BuildError("the build produced no image: a FROM scratch stage needs at least one step")
        unused = sorted(set(self.build_args) - self.used_args - PROXY_ARGS)
        if unused:
            self.out(f"[Warning] One or more build-args [{' '.join(unused)}] were not consumed\n")
        self.out(f"Successfully built {state.image.short}\n")
        for tag, shown in zip(tags, self.opts.tags, strict=True):
            self.engine.tag(str(state.image), tag)
            self.out(f"Successfully tagged {shown}\n")
        return state.image

    def _meta_args(self, df: Dockerfile) -> dict[str, str]:
        """ARGs before the first FROM: only FROM lines see them (and stages that redeclare them)."""
        meta: dict[str, str] = {}
        for arg in df.meta_args:
            for name, default in arg.expand(self.lex, meta).pairs:
                if name in self.build_args:
                    self.used_args.add(name)
                    meta[name] = self.build_args[name]
                elif default is not None:
                    meta[name] = default
        return meta

    def _needed(self, df: Dockerfile, target: Stage, meta: dict[str, str]) -> set[int]:
        """Indexes of the stages ``target`` depends on, itself included."""
        names = {s.name: s.index for s in df.stages if s.name}
        needed: set[int] = set()
        todo = [target.index]
        while todo:
            index = todo.pop()
            if index in needed:
                continue
            needed.add(index)
            stage = df.stages[index]
            refs = [stage.from_.expand(self.lex, meta).image]
            refs += [i.from_ for i in stage.instructions if isinstance(i, ins.Copy) and i.from_]
            for ref in refs:
                ref = ref.lower()
                if ref in names and names[ref] < index:
                    todo.append(names[ref])
                elif ref.isdigit() and int(ref) < index:
                    todo.append(int(ref))
        return needed

    # -- one stage -------------------------------------------------------------------------
    def _stage(self, stage: Stage, meta: dict[str, str]) -> StageState:
        self._header(stage.from_)
        with self._failing_step(stage.from_):
            frm = stage.from_.expand(self.lex, meta)
            image = self._base(frm.image, frm.platform)
        state = StageState.of_image(self.store, image)
        state.args = {}
        self._meta = meta
        self.out(f" ---> {image.short if image else 'scratch'}\n")
        triggers = list(state.config.get("OnBuild") or [])
        if triggers:  # they run once, in the child, and are not inherited further (Docker)
            from berth.build.dockerfile import parse_instructions

            state.full.setdefault("config", {})["OnBuild"] = None
            self.out(f"# Executing {len(triggers)} build trigger{'s' if len(triggers) > 1 else ''}\n")
            for trigger in parse_instructions("\n".join(triggers), "ONBUILD"):
                self._do(state, trigger)
        for instr in stage.instructions:
            self._header(instr)
            self._do(state, instr)
        self.stages[str(stage.index)] = state.image
        if stage.name:
            self.stages[stage.name.lower()] = state.image
        return state

    def _header(self, instr: Any) -> None:
        self.step += 1
        self.out(f"Step {self.step}/{self.total} : {instr.original}\n")

    def _base(self, ref: str, platform: str | None) -> Digest | None:
        if ref.lower() == "scratch":
            return None
        if ref.lower() in self.stages:
            return self.stages[ref.lower()]
        if not self.opts.pull:
            with contextlib.suppress(ImageNotFound):
                return self.engine.image_id(ref)
        result = self.engine.pull(ref, platform=platform)
        self.out(f"{result.status}\n")
        return result.image_id

    # -- one step --------------------------------------------------------------------------
    @contextlib.contextmanager
    def _failing_step(self, instr: Any) -> Iterator[None]:
        """Any engine error of a step becomes a BuildError naming the step, its line and instruction."""
        try:
            yield
        except BuildError:
            raise
        except BerthError as exc:
            where = f"{self.opts.dockerfile}:{instr.line}" if instr.line else self.opts.dockerfile
            data = {k: v for k, v in (getattr(exc, "data", None) or {}).items() if k not in ("step", "line")}
            raise BuildError(f"Step {self.step}/{self.total} ({where}) : {instr.original}: {exc}",
                             step=self.step, line=instr.line, instruction=instr.original,
                             reason=type(exc).__name__, **data) from exc

    def _do(self, state: StageState, instr: Any) -> None:
        with self._failing_step(instr):
            instr = instr.expand(self.lex, state.expansion_env())
            if isinstance(instr, ins.Run):
                self._run(state, instr)
            elif isinstance(instr, (ins.Copy, ins.Add)):
                self._copy(state, instr)
            elif isinstance(instr, CONFIG_ONLY):
                self._config(state, instr)
            else:
                raise InvalidArgument(f"{instr.keyword} is not allowed here", instruction=instr.original)

    def _cached(self, state: StageState, created_by: str, content: str = "") -> tuple[str, Digest | None]:
        key = step_key(state.image, created_by, content)
        hit = None if self.opts.no_cache else self.cache.get(key)
        if hit is not None:
            self.out(" ---> Using cache\n")
            self._advance(state, hit)
        return key, hit

    def _advance(self, state: StageState, image: Digest, key: str | None = None) -> None:
        if key is not None:
            self.cache.put(key, image)
        state.advance(self.store, image)
        self.out(f" ---> {image.short}\n")

    def _config(self, state: StageState, instr: Any) -> None:
        from berth.build.dockerfile.config_edits import apply_instruction

        if isinstance(instr, ins.Arg):
            self._declare(state, instr)
        created_by = describe.config_step(instr)
        key, hit = self._cached(state, created_by)
        if isinstance(instr, ins.Cmd):
            state.cmd_set = True
        if hit is not None:
            return
        full = copy.deepcopy(state.full)
        if isinstance(instr, ins.Maintainer):
            full["author"] = instr.name
        elif not isinstance(instr, ins.Arg):
            config = full.setdefault("config", {})
            apply_instruction(config, instr, cmd_set_in_stage=state.cmd_set)
        self._advance(state, step_image(self.store, state.image, full, created_by), key)

    def _declare(self, state: StageState, arg: ins.Arg) -> None:
        for name, default in arg.pairs:
            if name in self.build_args:
                self.used_args.add(name)
                state.args[name] = self.build_args[name]
            elif default is not None:
                state.args[name] = default
            elif name in self._meta:  # ARG NAME in a stage takes the value of the ARG before FROM
                state.args[name] = self._meta[name]

    def _run(self, state: StageState, instr: ins.Run) -> None:
        from berth.build.builder.run import run_in_container

        if state.image is None:
            raise InvalidArgument("RUN needs a base image with a shell: this stage is FROM scratch")
        shell = state.config.get("Shell") or ["/bin/sh", "-c"]
        command = [*shell, instr.command[0]] if instr.shell_form else list(instr.command)
        args = state.run_args()
        created_by = describe.run_step(command, args)
        key, hit = self._cached(state, created_by)
        if hit is not None:
            return
        proxies = [(k, v) for k, v in self.build_args.items() if k in PROXY_ARGS and k not in state.args]
        full = state.full

        def commit(record_dir: Path, record: dict[str, Any]) -> Digest:
            return step_image(self.store, state.image, full, created_by, record_dir=record_dir, stub_record=record)

        image = run_in_container(self.engine, state.image, command, [*args, *proxies],
                                 network=self.opts.network, out=self.out, commit=commit)
        self._advance(state, image, key)

    def _copy(self, state: StageState, instr: ins.Copy | ins.Add) -> None:
        from berth.build.context import BuildContext, copy_into, parse_chown

        add = isinstance(instr, ins.Add)
        local = [s for s in instr.sources if not (add and _is_url(s))]
        urls = [s for s in instr.sources if add and _is_url(s)]
        flags = [f"--chown={instr.chown}"] * bool(instr.chown) + [f"--chmod={instr.chmod}"] * bool(instr.chmod)
        chmod = _chmod(instr.chmod)
        with contextlib.ExitStack() as stack:
            source_ctx = self.context
            from_ = getattr(instr, "from_", None)
            if from_:
                _, root = stack.enter_context(step_rootfs(self.store, self._copy_from(from_)))
                source_ctx = BuildContext.open(root, dockerignore=False)
                flags.insert(0, f"--from={from_}")
            groups = []
            if local:
                sources = source_ctx.resolve(local)
                groups.append((source_ctx, sources, add and not from_))
            for fetched, name in stack.enter_context(self._fetch(urls)):
                groups.append((fetched, fetched.resolve([name]), False))
            checksum = ",".join(ctx.checksum(srcs) for ctx, srcs, _ in groups)
            dest = instr.dest
            if len(instr.sources) > 1 and not dest.endswith("/"):
                dest += "/"  # several sources: dest is a directory (copy_into also insists)
            created_by = describe.copy_step(instr.keyword, checksum, instr.dest, flags)
            key, hit = self._cached(state, created_by, checksum)
            if hit is not None:
                return
            record_dir, root = stack.enter_context(step_rootfs(self.store, state.image))
            owner = parse_chown(instr.chown, root) if instr.chown else None
            for _ctx, srcs, extract in groups:
                copy_into(root, srcs, dest, workdir=state.workdir(), chown=owner, chmod=chmod,
                          extract_archives=extract)
            image = step_image(self.store, state.image, state.full, created_by, record_dir=record_dir)
        self._advance(state, image, key)

    def _copy_from(self, ref: str) -> Digest:
        key = ref.lower()
        if key in self.stages:
            image = self.stages[key]
            if image is None:
                raise InvalidArgument(f"COPY --from={ref}: that stage has no content", value=ref)
            return image
        base = self._base(ref, None)
        assert base is not None
        return base

    @contextlib.contextmanager
    def _fetch(self, urls: list[str]) -> Iterator[list[tuple[Any, str]]]:
        """ADD's URLs, each downloaded into a directory of its own (two may end in the same name)."""
        from berth.build.context import BuildContext, fetch_url

        self.store.paths.tmp.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix=f"build-{os.getpid()}-", dir=self.store.paths.tmp) as tmp:
            fetched = []
            for i, url in enumerate(urls):
                self.out(f"Downloading {url}\n")
                directory = Path(tmp) / str(i)
                directory.mkdir()
                name = fetch_url(url, directory).name
                fetched.append((BuildContext.open(directory, dockerignore=False), name))
            yield fetched


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def _chmod(text: str | None) -> int | None:
    if not text:
        return None
    try:
        mode = int(text, 8)
    except ValueError:
        mode = -1
    if not 0 <= mode <= 0o7777:
        raise InvalidArgument(f"invalid --chmod value {text!r}: an octal mode is expected", value=text)
    return mode


def _build_args(pairs: tuple[tuple[str, str | None], ...]) -> dict[str, str]:
    """``--build-arg K=V``; ``--build-arg K`` takes K from the caller's environment, if set (Docker)."""
    out: dict[str, str] = {}
    for key, value in pairs:
        if not key:
            raise InvalidArgument("--build-arg needs a name: KEY=VALUE", value=f"={value}")
        if value is None:
            if key in os.environ:
                out[key] = os.environ[key]
        else:
            out[key] = value
    return out
