"""The seeds' Dockerfiles, built on the local Debian base and run: each answers on its published port.

Adapted as the issue allows: ``FROM python:...``/``centos`` become ``local/debian:bookworm`` and
``pip``/``yum`` become apt packages from the Debian mirror (reached from the RUN containers through
the default bridge's NAT). The packages are installed by the same first RUN line in every Dockerfile,
so the module's builds share that layer through the cache, as a user's related images would.
Built images are pushed to the real registry and pulled back with the same digest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from filekit import write_tree
from nethost import free_port, wait_http
from rtkit import output

from berth.build.builder import BuildOptions
from berth.containers import ContainerSpec
from berth.containers.ports import parse_publish
from berth.engine import Engine
from berth.engine import container_ops as co

APT = ("RUN apt-get update -qq && apt-get install -y -qq python3-flask python3-redis nginx-light >/dev/null "
       "&& rm -rf /var/lib/apt/lists/*")

FLASK_APP = """\
from flask import Flask

app = Flask(__name__)

@app.route('/')
def index():
    return '<h1> hello, Flask </h1>'

if __name__ == '__main__':
    app.run(host='0.0.0.0', port=5000)
"""


def build(engine: Engine, ctx: Path, files: dict[str, str], **kw) -> str:
    write_tree(ctx, files)
    chunks: list[str] = []
    try:
        engine.build(BuildOptions(context=ctx, **kw), chunks.append)
    except Exception:
        print("".join(chunks))
        raise
    return "".join(chunks)


def serve(engine: Engine, image: str, container_port: int, **kw) -> tuple[str, str]:
    """Run ``image`` detached with ``container_port`` published on a free host port: (id, URL)."""
    port = free_port()  # the seeds' 5000/4000/5001 may be taken on a test machine
    spec = ContainerSpec(image=image, ports=tuple(parse_publish(f"{port}:{container_port}")), **kw)
    cid = co.create(engine, spec, detach=True)
    co.start(engine, cid)
    return cid, f"http://127.0.0.1:{port}/"


def answer(engine: Engine, cid: str, url: str) -> str:
    try:
        return wait_http(url, timeout=30)
    except AssertionError:
        raise AssertionError(f"{url} never answered; container output:\n{output(engine, cid)}") from None


@pytest.fixture(scope="module")
def seeds(debian_builder: Engine, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    return debian_builder


def test_seed_000_flask_hello(seeds: Engine, tmp_path: Path) -> None:
    dockerfile = f"""\
FROM local/debian:bookworm
{APT}
RUN mkdir /app
COPY app.py /app
COPY requirements.txt /app
RUN python3 -c "import flask; print('flask', flask.__version__)"
WORKDIR /app
EXPOSE 5000
CMD ["python3", "app.py"]
"""
    out = build(seeds, tmp_path, {"Dockerfile": dockerfile, "app.py": FLASK_APP, "requirements.txt": "flask\n"},
                tags=("flask-hello",))
    assert "Successfully tagged flask-hello" in out and "flask 2." in out
    cid, url = serve(seeds, "flask-hello", 5000)
    try:
        assert "hello, Flask" in answer(seeds, cid, url)
    finally:
        co.rm(seeds, cid, force=True)


def test_seed_001_nginx_and_user_workdir(seeds: Engine, tmp_path: Path) -> None:
    nginx = f"""\
FROM local/debian:bookworm
MAINTAINER alexwoo
{APT}
RUN echo 'built by berth' > /var/www/html/index.html
EXPOSE 80/tcp
CMD ["nginx", "-g", "daemon off;"]
"""
    build(seeds, tmp_path / "nginx", {"Dockerfile": nginx}, tags=("alexwoo/nginx",))
    info = seeds.inspect_image("alexwoo/nginx")
    assert info["Author"] == "alexwoo" and info["Config"]["ExposedPorts"] == {"80/tcp": {}}
    cid, url = serve(seeds, "alexwoo/nginx", 80)
    try:
        assert answer(seeds, cid, url) == "built by berth\n"
    finally:
        co.rm(seeds, cid, force=True)

    user = """\
FROM local/debian:bookworm
MAINTAINER alexwoo<wj19840501@gmail.com>
RUN useradd -m alexwoo
WORKDIR /home/alexwoo
USER alexwoo
"""
    build(seeds, tmp_path / "user", {"Dockerfile": user}, tags=("alexwoo/centos",))
    cid = co.create(seeds, ContainerSpec(image="alexwoo/centos", command=("sh", "-c", "id -un; pwd; touch mine")))
    co.start(seeds, cid)
    assert co.wait(seeds, cid, timeout=30) == 0
    assert output(seeds, cid) == "alexwoo\n/home/alexwoo\n"
    co.rm(seeds, cid)


def test_seed_002_friendlyhello(seeds: Engine, tmp_path: Path) -> None:
    app = """\
from flask import Flask
from redis import Redis, RedisError
import os
import socket

redis = Redis(host="redis", db=0, socket_connect_timeout=2, socket_timeout=2)
app = Flask(__name__)

@app.route("/")
def hello():
    try:
        visits = redis.incr("counter")
    except RedisError:
        visits = "<i>cannot connect to Redis, counter disabled</i>"
    html = "<h3>Hello {name}!</h3><b>Hostname:</b> {hostname}<br/><b>Visits:</b> {visits}"
    return html.format(name=os.getenv("NAME", "world"), hostname=socket.gethostname(), visits=visits)

if __name__ == "__main__":
    app.run(host='0.0.0.0', port=80)
"""
    dockerfile = f"""\
FROM local/debian:bookworm
{APT}
WORKDIR /app
ADD . /app
EXPOSE 80
ENV NAME World
CMD ["python3", "app.py"]
"""
    build(seeds, tmp_path, {"Dockerfile": dockerfile, "app.py": app, "requirements.txt": "Flask\nRedis\n"},
          tags=("friendlyhello",))
    cid, url = serve(seeds, "friendlyhello", 80)
    try:
        page = answer(seeds, cid, url)
        assert "Hello World!" in page and "counter disabled" in page
    finally:
        co.rm(seeds, cid, force=True)


def test_seed_004_dockerfile_and_flask_dockerfile(seeds: Engine, tmp_path: Path, registry) -> None:
    plain = f"""\
FROM local/debian:bookworm
MAINTAINER Mason
{APT}
WORKDIR /usr
CMD ["/bin/bash"]
"""
    out = build(seeds, tmp_path, {"Dockerfile": plain}, dockerfile="Dockerfile", tags=("test_centos:1",))
    assert "Step 4/5 : WORKDIR /usr" in out
    flask = f"""\
FROM local/debian:bookworm
MAINTAINER Mason
{APT}
WORKDIR /web_app
ENTRYPOINT [ "python3" ]
CMD ["app.py"]
"""
    build(seeds, tmp_path, {"flask_dockerfile": flask, "flask-web/app.py": FLASK_APP},
          dockerfile="flask_dockerfile", tags=("flask-web:1.0",))
    # seed: docker run -id -p 5001:5000 --name web_app -v $PWD/flask-web:/web_app flask-web:1.0
    from berth.containers.mounts import parse_volume

    cid, url = serve(seeds, "flask-web:1.0", 5000, name="web_app", interactive=True,
                mounts=(parse_volume(f"{tmp_path / 'flask-web'}:/web_app"),))
    try:
        assert "hello, Flask" in answer(seeds, cid, url)
    finally:
        co.rm(seeds, cid, force=True)

    # a built image goes to the private registry and comes back unchanged
    ref = f"{registry.host}/flask-web:1.0"
    seeds.tag("flask-web:1.0", ref)
    pushed = seeds.push(ref)
    image = seeds.image_id("flask-web:1.0")
    seeds.rmi(ref)
    seeds.rmi("flask-web:1.0")
    pulled = seeds.pull(ref)
    assert pulled.image_id == image and pulled.digest == pushed.digest
    hist = seeds.history(ref)
    assert any("apt-get install" in h["CreatedBy"] for h in hist)
    assert hist[0]["CreatedBy"].endswith('CMD ["app.py"]')
