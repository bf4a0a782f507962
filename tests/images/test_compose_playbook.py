"""playbooks/compose.yml, seed 004's docker-compose.yml (nginx proxying to flask-web by service name),
under real ``ansible-playbook`` runs against localhost with an engine root of its own (``playkit``),
with the service images of images/ (``service_images``: loaded from the cache, else built).

Checked as a user would: the proxy's published port on loopback answers with what the flask-web app
(bind-mounted from the host, as the seed does) returns; a second run changes nothing; --check --diff
with a changed variable predicts the change and makes none; compose_state=absent tears it all down.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from nethost import free_port
from playkit import Host, Run
from rtkit import output, until
from service_images import IMAGES, ensure_images

from berth.errors import NotFound

PLAYBOOK = Path(__file__).resolve().parents[2] / "playbooks" / "compose.yml"
PROJECT = "seed"
NGINX, FLASK, NETWORK = f"{PROJECT}-nginx-1", f"{PROJECT}-flask-web-1", f"{PROJECT}_default"


@pytest.fixture
def host(tmp_path: Path, collections_root: Path) -> Iterator[Host]:
    """localhost with an engine root of its own holding local/nginx and local/flask-web."""
    if os.geteuid() != 0:
        pytest.skip("container tests need root")
    for tool in ("runc", "conmon"):
        if shutil.which(tool) is None and not os.access(f"/usr/sbin/{tool}", os.X_OK):
            pytest.skip(f"{tool} is not installed")
    h = Host(tmp_path, collections_root)
    try:
        ensure_images(h.engine, ["nginx", "flask-web"])
        yield h
    finally:
        for row in h.engine.containers(all=True):
            h.engine.remove_container(row["Id"], force=True)
        h.engine.networks.shutdown()  # bridges, firewall table, resolver of this root


def recap(run: Run) -> dict[str, int]:
    """localhost's PLAY RECAP counters (ok, changed, failed, ...)."""
    line = re.search(r"^localhost\s*:(.*)$", run.output, re.M)
    assert line, run.output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line.group(1))}


def fetch(url: str) -> tuple[int, dict, str] | None:
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status, dict(resp.headers), resp.read().decode()
    except (OSError, urllib.error.HTTPError):
        return None


def containers(h: Host) -> dict[str, dict]:
    return {row["Names"][0].lstrip("/"): h.engine.inspect_container(row["Id"]) for row in h.engine.containers(all=True)}


def test_compose_playbook_up_idempotent_check_down(host: Host, tmp_path: Path) -> None:
    # the seed binds its app dir on /web_app: an app of this test's own, so the answer can only be its
    token = secrets.token_hex(6)
    app = tmp_path / "flask-web"
    app.mkdir()
    source = (IMAGES / "flask-web" / "app.py").read_text()
    assert "hello, Flask" in source
    (app / "app.py").write_text(source.replace("hello, Flask", f"hello, Flask {token}"))
    proxy_port, flask_port = free_port(), free_port()
    project = tmp_path / "compose"
    # the project's settings in the inventory (they must win over the playbook's defaults), the ports as -e
    with host.inventory.open("a") as inv:
        inv.write(f"[all:vars]\ncompose_project={PROJECT}\ncompose_dir={project}\ncompose_flask_app_dir={app}\n"
                  "compose_nginx_image=local/nginx:latest\ncompose_flask_image=local/flask-web:latest\n")
    args = {"compose_proxy_port": proxy_port, "compose_flask_port": flask_port}
    play = lambda **kw: host.play(str(PLAYBOOK), **{**args, **kw})  # noqa: E731

    # up: network, conf.d, both containers; the playbook itself waits for the answer through the proxy
    up = play()
    assert up.rc == 0, up.output
    assert recap(up)["changed"] >= 4, up.output
    for task in ("Create the project network", "Write the proxy's server.conf", "Run flask-web", "Run the nginx proxy"):
        assert up[task]["changed"] is True, (task, up.output)
    assert up.status["Restart the proxy"] == "skipped"  # created in this run: it read server.conf at start
    assert token in up["Wait for flask-web's answer through the proxy"]["content"]

    conf = (project / "nginx" / "conf.d" / "server.conf").read_text()
    assert "listen 6000;" in conf and "proxy_pass http://flask-web:5000;" in conf  # by service name
    box = containers(host)
    assert sorted(box) == [FLASK, NGINX]
    assert all(c["State"]["Running"] for c in box.values())
    for name, alias in ((NGINX, "nginx"), (FLASK, "flask-web")):
        assert alias in box[name]["NetworkSettings"]["Networks"][NETWORK]["Aliases"], box[name]["NetworkSettings"]
    nets = host.networks()
    assert nets[NETWORK]["Labels"]["com.docker.compose.project"] == PROJECT
    assert sorted(c["Name"] for c in nets[NETWORK]["Containers"].values()) == [FLASK, NGINX]

    # the user's view: the proxy's port on loopback answers with flask-web's page, served by nginx
    status, headers, body = until(lambda: fetch(f"http://127.0.0.1:{proxy_port}/"), timeout=20, what="the proxy")
    assert status == 200 and body == f"<h1> hello, Flask {token} </h1>"
    assert headers["Server"].startswith("nginx"), headers
    direct = until(lambda: fetch(f"http://127.0.0.1:{flask_port}/"), timeout=20, what="flask-web")
    assert direct[2] == body and not direct[1]["Server"].startswith("nginx")  # flask-web's own 6000:5000
    # flask-web's log: the proxied request came from nginx's address on the project network
    nginx_ip = box[NGINX]["NetworkSettings"]["Networks"][NETWORK]["IPAddress"]
    flask_log = output(host.engine, box[FLASK]["Id"])
    assert nginx_ip and f"{nginx_ip} - - " in flask_log, flask_log

    # again: nothing to do
    again = play()
    assert again.rc == 0, again.output
    assert recap(again)["changed"] == 0, again.output

    # a changed variable in --check --diff: the new conf and the proxy's recreate are predicted, nothing happens
    ids = {name: c["Id"] for name, c in containers(host).items()}
    check = play(check=True, diff=True, compose_proxy_listen=7000)
    assert check.rc == 0, check.output
    assert recap(check)["changed"] >= 2, check.output
    assert check["Write the proxy's server.conf"]["changed"] is True
    assert "-    listen 6000;" in check.output and "+    listen 7000;" in check.output
    assert check["Run the nginx proxy"]["changed"] is True
    assert check["Run the nginx proxy"]["actions"][0].startswith(f"recreate container {NGINX}"), check.output
    assert check["Run flask-web"]["changed"] is False
    assert (project / "nginx" / "conf.d" / "server.conf").read_text() == conf
    assert {name: c["Id"] for name, c in containers(host).items()} == ids
    assert fetch(f"http://127.0.0.1:{proxy_port}/")[2] == body

    # flask-web recreated (another published port): nginx resolved its name at start, so it is restarted
    moved = play(compose_flask_port=free_port())
    assert moved.rc == 0, moved.output
    assert moved["Run flask-web"]["actions"][0].startswith(f"recreate container {FLASK}"), moved.output
    assert moved["Run the nginx proxy"]["changed"] is False
    assert moved.status["Restart the proxy"] == "ok" and moved["Restart the proxy"]["changed"] is True
    assert token in moved["Wait for flask-web's answer through the proxy"]["content"]
    after = containers(host)
    assert after[FLASK]["Id"] != ids[FLASK] and after[NGINX]["Id"] == ids[NGINX]
    assert fetch(f"http://127.0.0.1:{proxy_port}/")[2] == body

    # down: containers, then the network; a second down has nothing left to remove
    down = play(compose_state="absent")
    assert down.rc == 0, down.output
    assert recap(down)["changed"] == 2, down.output
    assert containers(host) == {}
    assert NETWORK not in host.networks()
    with pytest.raises(NotFound):
        host.engine.inspect_container(NGINX)
    assert fetch(f"http://127.0.0.1:{proxy_port}/") is None
    assert recap(play(compose_state="absent"))["changed"] == 0
