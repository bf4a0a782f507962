"""The shipped ``playbooks/site.yml`` and ``playbooks/drift.yml`` over a three-host fleet.

The site (group -> hosts): ``registry`` h1, ``nginx`` h1 and h2, ``mysql`` h2, ``redis`` h2 and
h3. h2 runs three services so that the drift made by hand there (a stopped container, a container
re-created with another environment, a deleted volume) all lands on one host, while the other two
must report nothing (h3 has a redis container and volume of the same names, left alone). Tomcat
is left out: its 360 MB JRE image (load, push, pull) and the JVM's start made the test half as
long again on this 2-core machine, for a role whose path (a bind, a port, a readiness wait) the
others already take; demo/site.sh runs it. The inventory is a site's: its variables live in
``group_vars/all.json`` beside it (image names under the registry's address, per-host data and
config directories under ``fleet_dir``, since the hosts share one filesystem), and facts are
cached between runs (jsonfile), as ansible.cfg's ``fact_caching`` does on many sites.

How the images get there. The site's own path is images.yml's build on the registry host (tagged
``<registry>/berth/<name>:latest``), the registry run from its local image, then the images pushed
to it, and every other host pulling from it once ``trust`` has made its engine accept the
registry. The test keeps all of that but the build: building the images costs minutes of apt-get,
so they come from ``service_images.ensure_images`` (the same Dockerfiles, built once and cached as
archives under ``$BERTH_TEST_CACHE/service-images``), loaded into h1's engine and tagged with the
registry's names. site.yml then runs with ``site_push_images=true`` (images.yml's push play
without its build play), so the registry, the trust, the push and the pulls on h2 and h3 are the
shipped playbooks' and modules' own. The engine role is left out (``site_install_engine=false``):
the simulated hosts share this machine's engine install, which is what ``berth_python`` points at
(the role has its own test, tests/integration/test_engine_role.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from collkit import REPO
from fleetkit import PYTHON, Fleet, FleetRun

sys.path.insert(0, str(REPO / "tests" / "images"))
import service_images

from berth.engine import Engine

HOSTS = ("h1", "h2", "h3")
GROUPS = {"registry": ["h1"], "nginx": ["h1", "h2"], "mysql": ["h2"], "redis": ["h2", "h3"]}
#: images the hosts pull from the registry (the registry's own runs where it was loaded)
PULLED = ["nginx", "redis", "mysql"]
REGISTRY_PORT = 9000
ROOT_PASSWORD = "site-root-pw"
#: the hand-made drift's password: it must never show in drift.yml's output (the task is no_log)
HAND_PASSWORD = "by-hand-pw-7f3a"
SITE = REPO / "playbooks" / "site.yml"
DRIFT = REPO / "playbooks" / "drift.yml"
#: site.yml's extra vars: push what h1's engine holds (no build), no engine role (see above)
SITE_RUN = {"site_install_engine": False, "site_push_images": True, "images_names": PULLED}
DRIFT_RUN = {"site_install_engine": False}
#: drift.yml's task that publishes the berth_drift fact of each host as run statistics
DRIFT_STATS = "Publish the drift as run statistics"

GROUP_VARS = {
    "registry_port": REGISTRY_PORT,
    # + registry_address: h1's address and that port (known once the fleet exists)
    "registry_image": "{{ registry_address }}/berth/registry:latest",
    "nginx_image": "{{ registry_address }}/berth/nginx:latest",
    "redis_image": "{{ registry_address }}/berth/redis:latest",
    "mysql_image": "{{ registry_address }}/berth/mysql:latest",
    "mysql_root_password": ROOT_PASSWORD,
    "mysql_home": "{{ fleet_dir }}/mysql",
    "nginx_home": "{{ fleet_dir }}/nginx",
    "nginx_index_html": "nginx on {{ inventory_hostname }}\n",
}


@pytest.fixture(scope="module")
def site(make_fleet) -> Fleet:
    with make_fleet(hosts=3, groups=GROUPS) as fleet:
        h1 = fleet.host("h1")
        registry = f"{h1.addr}:{REGISTRY_PORT}"
        fleet.write_group_vars("all", {**GROUP_VARS, "registry_address": registry})
        started = time.monotonic()
        refs = load_images(Engine(root=h1.root), ["registry", *PULLED])
        for name, ref in refs.items():
            h1.berth("tag", ref, f"{registry}/berth/{name}:latest")
        print(f"\nservice images in h1's engine: {time.monotonic() - started:.1f}s")
        yield fleet


def load_images(engine: Engine, names: list[str]) -> dict[str, str]:
    """``local/<name>:latest`` of each image in ``engine``, loaded from the cache. Images the cache
    lacks are built first by ``service_images.py`` (make images) in a throwaway engine of its own:
    a build's RUN steps are containers, which must not run from this namespace on a fleet host's
    root (its bridge and firewall belong in the host's namespace, where the teardown looks)."""
    si = service_images
    cache = si.default_cache_dir()
    si.ensure_base(engine, cache)
    base = si.base_identity(engine)
    missing = [n for n in names if not si.archive_path(cache, n, si.source_key(si.IMAGES / n, base)).is_file()]
    if missing:
        subprocess.run([sys.executable, si.__file__, "--cache", str(cache), *missing], check=True, timeout=1800)
    return si.ensure_images(engine, names, cache)


# -- talking to the services from another host ---------------------------------------------------
def redis(host, target, *commands: list[str]) -> list:
    """The replies to ``commands`` from redis on ``target`` (its published 6379), asked from ``host``."""
    code = ("import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom redis_wire import Redis\n"
            "with Redis(sys.argv[2], 6379) as r:\n    print(json.dumps([r(*c) for c in json.loads(sys.argv[3])]))")
    proc = host.run(PYTHON, "-c", code, str(REPO / "tests" / "images"), target.addr, json.dumps(commands))
    return json.loads(proc.stdout)


def mysql(host, target, password: str, sql: str) -> list:
    code = ("import json, sys\nsys.path.insert(0, sys.argv[1])\nfrom mysql_wire import Mysql\n"
            "with Mysql(sys.argv[2], 3307, 'root', sys.argv[3]) as db:\n    print(json.dumps(db.query(sys.argv[4])))")
    proc = host.run(PYTHON, "-c", code, str(REPO / "tests" / "images"), target.addr, password, sql)
    return json.loads(proc.stdout)


def drifts(entries: list[dict]) -> set[tuple[str, str, tuple[str, ...]]]:
    """(module, resource name, fields) of each entry."""
    return {(e["module"], e["name"], tuple(e["fields"])) for e in entries}


def play(fleet: Fleet, playbook, **extra_vars) -> FleetRun:
    """``playbook`` over the fleet with a fact cache, as many sites configure one (ansible.cfg's
    ``fact_caching``): facts, berth_drift among them, outlive each run."""
    cache = {"ANSIBLE_CACHE_PLUGIN": "jsonfile", "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(fleet.dir / "facts")}
    return fleet.play(playbook, env=cache, **extra_vars)


def tags(host) -> set[str]:
    return {tag for row in host.berth_json("images") for tag in row["RepoTags"]}


def changed(run: FleetRun) -> dict[str, list[str]]:
    return {h: run.changed_tasks(h) for h in HOSTS}


def drift_of(run: FleetRun) -> dict[str, list[dict]]:
    """host -> its ``berth_drift`` fact (``ansible_facts.berth_drift``), as drift.yml published it
    in the run's statistics (the fact cache's own file is Ansible's internal serialisation)."""
    out = {}
    for host in HOSTS:
        published = run[host, DRIFT_STATS]["ansible_stats"]["data"]["berth_drift"]
        assert list(published) == [host], published
        out[host] = published[host]
    return out


# -- the test ----------------------------------------------------------------------------------------
def test_site_converges_reports_hand_made_drift_and_repairs_it(site: Fleet) -> None:
    h1, h2, h3 = (site.host(h) for h in HOSTS)

    # 1. one run converges the fleet: registry, trust, push, then the services pulled on each host
    first = play(site, SITE, **SITE_RUN).check()
    assert first["h1", "Push each image to the registry"]["changed"], first.output
    assert {h: sorted(site.host(h).containers()) for h in HOSTS} == {
        "h1": ["nginx", "registry"], "h2": ["mysql_container", "nginx", "redis"], "h3": ["redis"]}, first.output
    catalog = json.loads(h3.fetch(f"http://{h1.addr}:{REGISTRY_PORT}/v2/_catalog"))
    assert sorted(catalog["repositories"]) == [f"berth/{name}" for name in sorted(PULLED)]
    # h2 and h3 started with empty engines: what they run came from the registry
    assert {h.name: tags(h) for h in (h2, h3)} == {
        "h2": {f"{h1.addr}:{REGISTRY_PORT}/berth/{name}:latest" for name in ("mysql", "nginx", "redis")},
        "h3": {f"{h1.addr}:{REGISTRY_PORT}/berth/redis:latest"}}

    # 2. each host's services answer, asked from another host
    assert h3.fetch(f"http://{h1.addr}/") == "nginx on h1\n\n"  # fetch() prints what it got
    assert h1.fetch(f"http://{h2.addr}/") == "nginx on h2\n\n"
    assert redis(h3, h2, ["PING"], ["SET", "site-key", "kept"], ["GET", "site-key"]) == ["PONG", "OK", "kept"]
    # h3's redis is another one
    assert redis(h1, h3, ["PING"], ["GET", "site-key"], ["SET", "h3-key", "h3"]) == ["PONG", None, "OK"]
    assert mysql(h1, h2, ROOT_PASSWORD, "SELECT 6*7") == [["42"]]

    # 3. the same run again changes nothing anywhere (the push finds the registry up to date)
    again = play(site, SITE, **SITE_RUN).check()
    assert changed(again) == {h: [] for h in HOSTS}, again.output
    assert redis(h3, h2, ["GET", "site-key"]) == ["kept"]  # nothing was re-created

    # 4. drift by hand on h2, with the CLI: nginx stopped; mysql re-created as the role runs it but
    # for one variable; redis removed with its data volume
    h2.berth("stop", "nginx")
    mysql_dir = h2.files / "mysql"
    h2.berth("stop", "mysql_container")
    h2.berth("rm", "mysql_container")
    h2.berth("run", "-d", "--name", "mysql_container", "-p", "3307:3306",
             "-v", f"{mysql_dir}/conf:/etc/mysql/conf.d:ro", "-v", f"{mysql_dir}/logs:/logs",
             "-v", f"{mysql_dir}/data:/var/lib/mysql", "--restart", "unless-stopped",
             "-e", f"MYSQL_ROOT_PASSWORD={HAND_PASSWORD}", f"{h1.addr}:{REGISTRY_PORT}/berth/mysql:latest")
    h2.berth("rm", "-f", "redis")
    h2.berth("volume", "rm", "redis-data")

    # 5. drift.yml names exactly those (host, resource, field), fails, and changes nothing
    drift = play(site, DRIFT, **DRIFT_RUN)
    assert drift.rc != 0, drift.output
    entries = drift_of(drift)
    assert {h: drifts(entries[h]) for h in HOSTS} == {"h1": set(), "h3": set(), "h2": {
        ("container", "nginx", ("running",)),
        ("container", "mysql_container", ("env.MYSQL_ROOT_PASSWORD",)),
        ("container", "redis", ("exists",)),
        ("volume", "redis-data", ("exists",)),
    }}, json.dumps(entries, indent=1)
    by_name = {e["name"]: e for e in entries["h2"]}
    assert by_name["nginx"]["changes"] == {"running": {"before": False, "after": True}}
    assert by_name["redis"]["changes"] == by_name["redis-data"]["changes"] == {
        "exists": {"before": False, "after": True}}
    # the task is no_log: the field is named, the passwords are not
    assert by_name["mysql_container"]["changes"] == {
        "env.MYSQL_ROOT_PASSWORD": {"before": "HIDDEN", "after": "HIDDEN"}}
    assert HAND_PASSWORD not in drift.output and ROOT_PASSWORD not in drift.output
    assert all(e["host"] == "h2" and e["summary"].startswith("h2: ") for e in entries["h2"])
    summary = drift["h2", "What differs on this host"]["msg"]
    assert len(summary) == 4 and any("env.MYSQL_ROOT_PASSWORD" in line for line in summary), summary
    assert drift["h1", "What differs on this host"]["msg"] == "no drift"
    assert {h: drift.status[h, "Fail where anything drifted"] for h in HOSTS} == {
        "h1": "skipped", "h2": "failed", "h3": "skipped"}
    # check mode: h2 is as the hand left it
    now = h2.containers()
    assert "redis" not in now and "redis-data" not in h2.volumes()
    assert now["nginx"]["State"] == "exited", now["nginx"]

    # 6. site.yml repairs h2, and h2 only; then drift.yml finds nothing (though the fact cache holds
    # the last run's entries)
    repair = play(site, SITE, **SITE_RUN).check()
    assert {h: sorted(tasks) for h, tasks in changed(repair).items()} == {"h1": [], "h3": [], "h2": sorted([
        "berth.core.service : Run the container nginx",
        "berth.core.service : Run the container mysql_container",
        "berth.core.redis : Create the redis data volume",
        "berth.core.service : Run the container redis",
    ])}, repair.output
    env = json.loads(h2.berth("inspect", "mysql_container").stdout)[0]["Config"]["Env"]
    assert f"MYSQL_ROOT_PASSWORD={ROOT_PASSWORD}" in env and f"MYSQL_ROOT_PASSWORD={HAND_PASSWORD}" not in env
    assert h1.fetch(f"http://{h2.addr}/") == "nginx on h2\n\n"
    # redis is back, on a new (empty) volume
    assert redis(h3, h2, ["PING"], ["GET", "site-key"]) == ["PONG", None]
    assert mysql(h1, h2, ROOT_PASSWORD, "SELECT 6*7") == [["42"]]  # the data dir kept root's password
    assert redis(h1, h3, ["GET", "h3-key"]) == ["h3"]  # h3's redis (and volume) of the same names: untouched

    clean = play(site, DRIFT, **DRIFT_RUN).check()
    assert drift_of(clean) == {h: [] for h in HOSTS}, clean.output
    assert {h: clean[h, "What differs on this host"]["msg"] for h in HOSTS} == {h: "no drift" for h in HOSTS}
