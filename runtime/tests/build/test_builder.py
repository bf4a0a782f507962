"""``berth build`` end to end on busybox: steps, cache, stages, args, copies, failures (real runc)."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from filekit import write_tree
from rtkit import mounts_under, output

from berth.build.builder import BuildError, BuildOptions
from berth.containers import ContainerSpec
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.errors import BerthError, ImageNotFound


def build(engine: Engine, ctx: Path, **kw) -> tuple[str, str]:
    """(image ID, output) of a build of ``ctx``."""
    chunks: list[str] = []
    image = engine.build(BuildOptions(context=ctx, **kw), chunks.append)
    return str(image), "".join(chunks)


def run_image(engine: Engine, image: str, *cmd: str) -> str:
    cid = co.create(engine, ContainerSpec(image=image, command=tuple(cmd) if cmd else None))
    co.start(engine, cid)
    assert co.wait(engine, cid, timeout=30) == 0
    out = output(engine, cid)
    co.rm(engine, cid)
    return out


APP = """\
FROM busybox
ENV GREETING=hello
WORKDIR /app
COPY greet.sh ./
RUN chmod +x greet.sh && echo built > /app/stamp
EXPOSE 8080
CMD ["./greet.sh"]
"""


def test_build_run_history_and_cache(builder: Engine, tmp_path: Path) -> None:
    greet = '#!/bin/sh\necho "$GREETING from $(pwd) $(cat stamp)"\n'
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": APP, "greet.sh": greet})
    image, out = build(builder, ctx, tags=("app:1", "app:latest"))
    assert "Step 1/7 : FROM busybox" in out and "Step 5/7 : RUN chmod +x greet.sh" in out
    assert f"Successfully built {image[7:19]}" in out and "Successfully tagged app:1" in out
    assert str(builder.image_id("app:1")) == image == str(builder.image_id("app"))
    assert run_image(builder, "app:1") == "hello from /app built\n"
    cfg = builder.inspect_image("app:1")["Config"]
    assert cfg["Cmd"] == ["./greet.sh"] and cfg["WorkingDir"] == "/app"
    assert "GREETING=hello" in cfg["Env"] and cfg["ExposedPorts"] == {"8080/tcp": {}}
    hist = builder.history("app:1")
    assert len(hist) == len(builder.history("busybox")) + 6
    assert "#(nop)  CMD" in hist[0]["CreatedBy"] and "chmod +x greet.sh" in hist[2]["CreatedBy"]
    assert "COPY" in hist[3]["CreatedBy"] and hist[3]["Size"] > 0
    # the steps are images, listed by `images -a` only, as Docker's
    shown = {r["ID"] for r in builder.images()}
    every = {r["ID"] for r in builder.images(all=True)}
    assert image in shown and len(every - shown) == 5
    # no build container left behind
    assert co.ps(builder, all=True) == []

    again, out = build(builder, ctx, tags=("app:1",))
    assert again == image
    assert out.count(" ---> Using cache") == 6 and "Running in" not in out

    (ctx / "greet.sh").write_text('#!/bin/sh\necho "changed $GREETING"\n')
    changed, out = build(builder, ctx, tags=("app:1",))
    assert changed != image and out.count(" ---> Using cache") == 2  # ENV, WORKDIR; from COPY on: built
    assert run_image(builder, "app:1") == "changed hello\n"
    assert str(builder.image_id("app:latest")) == image  # only the tags asked for move

    nocache, out = build(builder, ctx, no_cache=True)
    assert "Using cache" not in out and nocache != changed


def test_failing_step_names_step_command_and_code(builder: Engine, tmp_path: Path) -> None:
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo one\nRUN echo about to fail && exit 3\n"
                                                 "RUN echo never\n"})
    chunks: list[str] = []
    with pytest.raises(BuildError) as err:
        builder.build(BuildOptions(context=ctx, tags=("broken:1",)), chunks.append)
    msg = str(err.value)
    assert "Step 3/4" in msg and "Dockerfile:3" in msg
    assert "The command '/bin/sh -c echo about to fail && exit 3' returned a non-zero code: 3" in msg
    assert "about to fail" in "".join(chunks) and "never" not in "".join(chunks)
    with pytest.raises(ImageNotFound):
        builder.image_id("broken:1")
    assert co.ps(builder, all=True) == []
    assert mounts_under(builder.paths.root) == []
    assert not list(builder.paths.tmp.glob("build-*"))


def test_multi_stage_copy_from_and_target(builder: Engine, tmp_path: Path) -> None:
    dockerfile = """\
ARG BASE=busybox
FROM ${BASE} AS compile
RUN mkdir -p /out && echo artifact > /out/app.txt && echo junk > /out/junk.txt
FROM ${BASE} AS unused
RUN echo this stage is not needed && exit 1
FROM ${BASE}
COPY --from=compile /out/app.txt /srv/
COPY --from=0 /out/junk.txt /srv/junk
CMD ["cat", "/srv/app.txt", "/srv/junk"]
"""
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": dockerfile})
    _, out = build(builder, ctx, tags=("multi",))
    assert "this stage is not needed" not in out
    assert run_image(builder, "multi") == "artifact\njunk\n"
    build(builder, ctx, target="compile", tags=("compile-only",))
    assert run_image(builder, "compile-only", "ls", "/out") == "app.txt\njunk.txt\n"
    with pytest.raises(BerthError, match="nope"):
        build(builder, ctx, target="nope")


def test_build_args_and_substitution(builder: Engine, tmp_path: Path) -> None:
    dockerfile = """\
FROM busybox
ARG VERSION=1.0
ARG WHO
ENV APP_VERSION=${VERSION} GREETING="hello ${WHO:-nobody}"
LABEL version=$VERSION
RUN echo "run sees $VERSION/$WHO" > /args.txt
CMD ["sh", "-c", "echo $APP_VERSION $GREETING; cat /args.txt; env | grep -c VERSION="]
"""
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": dockerfile})
    _, out = build(builder, ctx, tags=("args",), build_args=(("WHO", "alice"), ("UNUSED", "x")))
    assert "[Warning] One or more build-args [UNUSED] were not consumed" in out
    # ARGs are in RUN's environment but not in the image's: only APP_VERSION carries it on
    assert run_image(builder, "args") == "1.0 hello alice\nrun sees 1.0/alice\n1\n"
    assert builder.inspect_image("args")["Config"]["Labels"] == {"version": "1.0"}
    hist = builder.history("args")
    assert hist[1]["CreatedBy"].startswith("|2 VERSION=1.0 WHO=alice /bin/sh -c echo")
    _, out = build(builder, ctx, tags=("args2",), build_args=(("VERSION", "2.0"),))
    assert run_image(builder, "args2") == "2.0 hello nobody\nrun sees 2.0/\n1\n"
    assert "Using cache" in out  # FROM-level steps before the first use of VERSION's value


def test_dockerignore_and_copy_rules(builder: Engine, tmp_path: Path) -> None:
    ctx = write_tree(tmp_path / "ctx", {
        "Dockerfile": "FROM busybox\nCOPY . /src/\nCOPY conf/*.ini /etc/app/\n"
                      "COPY --chown=nobody:nogroup --chmod=640 conf/a.ini /owned.ini\n"
                      "RUN find /src /etc/app | sort && stat -c '%U %G %a' /owned.ini\n",
        ".dockerignore": "*.log\nsecret/\n!keep.log\n",
        "app.py": "print(1)\n", "debug.log": "x", "keep.log": "k", "secret/key": "s",
        "conf/a.ini": "a", "conf/b.ini": "b", "conf/c.txt": "c",
    })
    _, out = build(builder, ctx)
    listing = out.split("Running in", 1)[1]
    for present in ("/src/app.py", "/src/keep.log", "/src/conf/a.ini", "/etc/app/a.ini", "/etc/app/b.ini",
                    "nobody nogroup 640"):
        assert present in listing, present
    for absent in ("debug.log", "/src/secret", "/etc/app/c.txt"):
        assert absent not in listing, absent


def _tar_bytes(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def test_add_extracts_local_tars_and_fetches_urls(builder: Engine, tmp_path: Path, stub_server) -> None:
    payload = _tar_bytes({"pkg/one.txt": b"one\n"})
    server = stub_server(lambda m, p, h: (200, {}, payload) if p == "/dl/pkg.tar.gz"
                         else (404, {}, b"no such file"))
    ctx = write_tree(tmp_path / "ctx", {
        "Dockerfile": f"FROM busybox\nADD pkg.tar.gz /opt/\nADD {server.url}/dl/pkg.tar.gz /downloads/\n"
                      'CMD ["sh", "-c", "cat /opt/pkg/one.txt; ls /downloads; stat -c %a /downloads/pkg.tar.gz"]\n',
        "pkg.tar.gz": payload,
    })
    build(builder, ctx, tags=("added",))
    # a local archive is unpacked; a downloaded one is not (Docker), and gets mode 600
    assert run_image(builder, "added") == "one\npkg.tar.gz\n600\n"
    bad = write_tree(tmp_path / "bad", {"Dockerfile": f"FROM busybox\nADD {server.url}/missing.txt /x\n"})
    with pytest.raises(BuildError, match="404"):
        build(builder, bad, tags=("bad-url",))
    with pytest.raises(ImageNotFound):
        builder.image_id("bad-url")


@pytest.mark.parametrize("files, message", [
    ({"Dockerfile": "FROM busybox\nFROB x\n"}, "Dockerfile:2"),
    ({"Dockerfile": "FROM busybox\nCOPY missing.txt /x\n"}, "missing.txt"),
    ({"Dockerfile": "FROM busybox\nCOPY ../outside /x\n"}, "outside"),
    ({"Dockerfile": "FROM busybox\nENV =x\n"}, "Dockerfile:2"),
    ({"Dockerfile": "FROM busybox\nARG =1\n"}, "Dockerfile:2"),
    ({"Dockerfile": "FROM no-such-image-here:1\n"}, "no-such-image-here"),
    ({"Dockerfile": "FROM busybox\nCOPY --from=nowhere /x /y\n"}, "nowhere"),
    ({"Dockerfile": "FROM scratch\nRUN true\n"}, "scratch"),
    ({"Other": "FROM busybox\n"}, "Dockerfile"),
], ids=["unknown-instruction", "missing-source", "outside-context", "bad-env", "bad-arg", "unknown-base", "bad-from",
        "run-on-scratch", "no-dockerfile"])
def test_bad_input_is_a_clear_error_and_tags_nothing(builder: Engine, tmp_path: Path, files, message) -> None:
    ctx = write_tree(tmp_path / "ctx", files)
    before = {r["ID"] for r in builder.images(all=True)}
    with pytest.raises(BerthError, match=message.replace(".", r"\.")):
        build(builder, ctx, tags=("bad:1",))
    with pytest.raises(ImageNotFound):
        builder.image_id("bad:1")
    assert co.ps(builder, all=True) == []
    assert mounts_under(builder.paths.root) == []
    if "COPY" in files.get("Dockerfile", ""):  # nothing was built before the failing step
        assert {r["ID"] for r in builder.images(all=True)} == before


def test_missing_context_is_an_error(builder: Engine, tmp_path: Path) -> None:
    with pytest.raises(BerthError, match=r"not found|does not exist"):
        build(builder, tmp_path / "nowhere")


def test_scratch_copy_and_onbuild(builder: Engine, tmp_path: Path) -> None:
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": "FROM scratch\nCOPY hello.txt /\nCMD [\"/hello.txt\"]\n",
                                   "hello.txt": "hi\n"})
    build(builder, ctx, tags=("tiny",))
    info = builder.inspect_image("tiny")
    assert len(info["RootFS"]["Layers"]) == 1 and info["Config"]["Cmd"] == ["/hello.txt"]
    parent = write_tree(tmp_path / "parent", {"Dockerfile": "FROM busybox\nONBUILD COPY marker /marker\n"
                                                        "ONBUILD RUN cat /marker > /seen\n"})
    build(builder, parent, tags=("withtriggers",))
    assert builder.inspect_image("withtriggers")["Config"]["OnBuild"] == ["COPY marker /marker",
                                                                          "RUN cat /marker > /seen"]
    child = write_tree(tmp_path / "child", {"Dockerfile": "FROM withtriggers\nCMD [\"cat\", \"/seen\"]\n",
                                       "marker": "triggered\n"})
    _, out = build(builder, child, tags=("child",))
    assert "Executing 2 build triggers" in out
    assert run_image(builder, "child") == "triggered\n"
    assert not builder.inspect_image("child")["Config"].get("OnBuild")


def test_run_steps_reach_the_network_and_volumes_stay_out(builder: Engine, tmp_path: Path) -> None:
    """RUN runs on the default bridge (the build's NAT egress is shown with apt in the seed tests);
    writes under a VOLUME during RUN are not kept, as in Docker."""
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nVOLUME /data\nRUN echo lost > /data/file && "
                                                 "ip -o -4 addr show eth0 | grep -q inet\n"})
    build(builder, ctx, tags=("vol",))
    assert run_image(builder, "vol", "ls", "/data") == ""


def test_cli_build(builder: Engine, tmp_path: Path) -> None:
    import subprocess
    import sys

    ctx = write_tree(tmp_path / "ctx", {"sub/app.Dockerfile": "FROM busybox\nARG X\nRUN echo x=$X\n"})
    cli = [sys.executable, "-m", "berth.cli.main", "--root", str(builder.paths.root)]
    proc = subprocess.run([*cli, "build", "-t", "cli:1", "-f", str(ctx / "sub/app.Dockerfile"),
                           "--build-arg", "X=42", "--label", "team=a", str(ctx)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "Step 3/4 : RUN echo x=$X" in proc.stdout and "x=42" in proc.stdout
    assert "Successfully tagged cli:1" in proc.stdout
    labels = json.loads(subprocess.run([*cli, "image", "inspect", "cli:1"], capture_output=True,
                                       text=True).stdout or "[{}]")
    assert (labels[0].get("Config") or {}).get("Labels") == {"team": "a"}
    bad = write_tree(tmp_path / "bad", {"Dockerfile": "FROM busybox\nRUN false\n"})
    proc = subprocess.run([*cli, "build", "-q", str(bad)], capture_output=True, text=True)
    assert proc.returncode != 0 and "returned a non-zero code: 1" in proc.stderr


def test_kill_9_of_build_then_system_check_repairs(builder: Engine, tmp_path: Path) -> None:
    """A build killed during a RUN leaves its container running; killed inside a COPY step it leaves
    an overlay mounted under tmp/. ``system check --repair`` removes both; nothing is tagged."""
    import signal
    import subprocess
    import sys
    import time

    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo started && sleep 60\n"})
    cli = [sys.executable, "-m", "berth.cli.main", "--root", str(builder.paths.root)]
    proc = subprocess.Popen([*cli, "build", "-t", "killed", str(ctx)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("started"):
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(co.ps(builder)) == 1  # the step's container outlives its builder
    found = builder.system_check()
    assert [p.kind for p in found.problems] == ["stale-build-container"], found.to_dict()
    assert builder.system_check(repair=True).clean
    assert co.ps(builder, all=True) == [] and builder.system_check().problems == []

    child = ("import os, sys\nfrom berth.engine import Engine\nfrom berth.build.builder.workdir import step_rootfs\n"
             "e = Engine(root=sys.argv[1])\nwith step_rootfs(e.store, e.image_id('busybox')) as (d, root):\n"
             "    (root / 'half-copied').write_text('x')\n    os.kill(os.getpid(), 9)\n")
    subprocess.run([sys.executable, "-c", child, str(builder.paths.root)])
    time.sleep(0.1)
    assert mounts_under(builder.paths.root) != []
    found = builder.system_check()
    assert [p.kind for p in found.problems] == ["stale-temp"], found.to_dict()
    assert builder.system_check(repair=True).clean
    assert mounts_under(builder.paths.root) == [] and not list(builder.paths.tmp.glob("build-*"))
    with pytest.raises(ImageNotFound):
        builder.image_id("killed")


def test_shell_healthcheck_and_the_rest_of_the_config(builder: Engine, tmp_path: Path) -> None:
    dockerfile = """\
FROM busybox
SHELL ["/bin/sh", "-xc"]
RUN : traced
HEALTHCHECK --interval=5s --retries=2 CMD wget -q -O /dev/null http://localhost/ || exit 1
STOPSIGNAL SIGQUIT
VOLUME /data
USER nobody
CMD echo shell form runs in $0
"""
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": dockerfile})
    _, out = build(builder, ctx, tags=("cfg",))
    # -x of the SHELL traced the RUN (`:` writes nothing to stdout, which could land inside the trace line)
    assert "+ : traced" in out
    cfg = builder.inspect_image("cfg")["Config"]
    assert cfg["Shell"] == ["/bin/sh", "-xc"]
    assert cfg["Cmd"] == ["/bin/sh", "-xc", "echo shell form runs in $0"]
    assert cfg["Healthcheck"]["Test"][0] == "CMD-SHELL" and cfg["Healthcheck"]["Interval"] == 5_000_000_000
    assert cfg["Healthcheck"]["Retries"] == 2
    assert cfg["StopSignal"] == "SIGQUIT" and cfg["Volumes"] == {"/data": {}} and cfg["User"] == "nobody"
    assert run_image(builder, "cfg", "id", "-u") == "65534\n"


def test_rmi_of_a_built_image_deletes_its_untagged_steps_as_docker_does(builder: Engine, tmp_path: Path) -> None:
    app, other = tmp_path / "app", tmp_path / "other"
    write_tree(app, {"Dockerfile": "FROM busybox\nENV A=1\nCOPY f /f\nLABEL x=y\n", "f": "hi\n"})
    write_tree(other, {"Dockerfile": "FROM busybox\nENV A=1\nENV B=2\n"})  # shares the ENV A step
    base = str(builder.image_id("busybox"))
    first, _ = build(builder, app, tags=("app:1",))
    second, _ = build(builder, other, tags=("other:1",))
    steps = {row["ID"] for row in builder.images(all=True)} - {first, second, base}
    assert len(steps) == 2  # ENV A (shared) and COPY; LABEL and ENV B are the images themselves

    deleted = [line["Deleted"] for line in builder.rmi("app:1") if "Deleted" in line]
    assert deleted[0] == first and len(deleted) == 2  # and the COPY step: ENV A is other:1's too
    (shared,) = steps - set(deleted)
    assert {row["ID"] for row in builder.images(all=True)} == {base, second, shared}

    deleted = [line["Deleted"] for line in builder.rmi("other:1") if "Deleted" in line]
    assert deleted == [second, shared]  # busybox has a name: kept
    assert builder.rmi("busybox")[-1] == {"Deleted": base}


def test_run_output_the_attach_socket_lost_comes_from_the_log(builder: Engine, tmp_path: Path, monkeypatch) -> None:
    """conmon can close the attach socket at exit before passing on the last output; the step's
    output is then completed from the container's log."""
    from berth.build.builder import run as step

    def lossy(sock, out):  # read the socket to its end, pass nothing on
        while sock.recv(1 << 16):
            pass
        return {"stdout": "", "stderr": ""}

    monkeypatch.setattr(step, "_relay", lossy)
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo to-stdout && echo to-stderr >&2\n"})
    _, out = build(builder, ctx, no_cache=True)
    assert "to-stdout\n" in out and "to-stderr\n" in out
