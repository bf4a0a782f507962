"""The service images of images/, run as the seeds run the official ones and checked as a user would:
through the published port, with the seed's bind mounts, environment and commands.

Images come from ``service_images.ensure_image`` (the cache, else a build on the local Debian base).
Every container is removed after its test; the module's engine is torn down after the module.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from filekit import write_tree
from mysql_wire import Mysql, MysqlError
from nethost import wait_http
from redis_wire import Redis, RedisError
from rtkit import output, until
from runkit import Started
from service_images import KEY_LABEL, ensure_image, ensure_images, names, source_key

from berth.containers.mounts import parse_volume
from berth.engine import Engine
from berth.engine import container_ops as co
from berth.errors import RegistryError

Run = Callable[..., Started]
Image = Callable[[str], str]

# seed 004, "Nginx部署": the nginx.conf the tutorial binds over the image's
SEED_NGINX_CONF = """\
#user  nobody;
worker_processes  1;

events {
    worker_connections  1024;
}

http {
    include       mime.types;
    default_type  application/octet-stream;
    sendfile        on;
    keepalive_timeout  65;
include /etc/nginx/conf.d/*.conf;
}
"""


def binds(root: Path, **targets: str) -> tuple:
    """``-v root/NAME:TARGET`` for each NAME=TARGET, the host side created as docker run -v does."""
    for name in targets:
        (root / name).mkdir(parents=True, exist_ok=True)
    return tuple(parse_volume(f"{root / name}:{target}") for name, target in targets.items())


def answer(engine: Engine, started: Started, url: str, timeout: float = 30) -> str:
    try:
        return wait_http(url, timeout=timeout)
    except AssertionError:
        raise AssertionError(f"{url} never answered; container output:\n{output(engine, started.cid)}") from None


def stopped_cleanly(engine: Engine, cid: str, within: float) -> int:
    """Stop ``cid`` (its stop signal, SIGKILL after 10 s) and return its exit code, which must come
    before ``within`` seconds: a server that ignores its stop signal is killed only at 10 s."""
    began = time.monotonic()
    co.stop(engine, cid)
    code = co.wait(engine, cid, timeout=30)
    assert time.monotonic() - began < within, output(engine, cid)[-3000:]
    return code


def test_images_are_labelled_and_expose_their_ports(services: Engine) -> None:
    expected = {"mysql": "3306/tcp", "tomcat": "8080/tcp", "nginx": "80/tcp", "redis": "6379/tcp",
                "registry": "5000/tcp", "flask-web": "5000/tcp"}
    assert sorted(names()) == sorted(expected)
    refs = ensure_images(services, names())  # all at once (loads side by side): the later tests find them
    for name, port in expected.items():
        info = services.inspect_image(refs[name])
        labels = info["Config"]["Labels"]
        assert labels["org.opencontainers.image.title"] == name
        assert labels["org.opencontainers.image.description"] and labels["org.opencontainers.image.source"]
        assert labels[KEY_LABEL]
        assert list(info["Config"]["ExposedPorts"]) == [port]
        print(f"{name}: {info['Size'] / 1e6:.0f} MB")


def test_nginx_default_page_then_seed_binds(services: Engine, service_image: Image, run: Run, tmp_path: Path) -> None:
    image = service_image("nginx")
    plain = run(image, 80)
    assert "Welcome to nginx!" in answer(services, plain, plain.url(80))
    # seed: -v $PWD/conf/nginx.conf:/etc/nginx/nginx.conf -v $PWD/logs:/var/log/nginx -v $PWD/html:/usr/share/nginx/html
    seed = write_tree(tmp_path, {"conf/nginx.conf": SEED_NGINX_CONF, "html/index.html": "<h1>Hello, Nginx. </h1>\n"})
    mounts = (parse_volume(f"{seed}/conf/nginx.conf:/etc/nginx/nginx.conf"),
              *binds(seed, logs="/var/log/nginx", html="/usr/share/nginx/html"))
    web = run(image, 80, mounts=mounts)
    assert answer(services, web, web.url(80)) == "<h1>Hello, Nginx. </h1>\n"
    # nginx logs a request after answering it
    until(lambda: "GET / HTTP/1.1" in (seed / "logs" / "access.log").read_text(), timeout=5, what="access.log")
    # STOPSIGNAL SIGQUIT: a graceful stop, exit 0, not the SIGKILL after the timeout
    assert services.inspect_image(image)["Config"]["StopSignal"] == "SIGQUIT"
    assert stopped_cleanly(services, web.cid, within=8) == 0


def test_tomcat_serves_the_seed_webapps_bind(services: Engine, service_image: Image, run: Run,
                                             tmp_path: Path) -> None:
    # seed: docker run -id --name=tomcat -p 8080:8080 -v $PWD:/usr/local/tomcat/webapps tomcat
    write_tree(tmp_path, {"my_app/index.html": "<h1>hello,Docker!</h1>\n"})
    tomcat = run(service_image("tomcat"), 8080, name="tomcat", interactive=True,
                 mounts=(parse_volume(f"{tmp_path}:/usr/local/tomcat/webapps"),))
    assert answer(services, tomcat, tomcat.url(8080, "/my_app/index.html"), timeout=90) == "<h1>hello,Docker!</h1>\n"
    assert "Server startup in" in output(services, tomcat.cid)


def client_at(engine: Engine, started: Started, container_port: int, client, *args):
    """``client("127.0.0.1", published port, *args)``, retried while the server starts; if it never
    comes up, the failure shows the container's output."""
    def attempt():
        try:
            return client("127.0.0.1", started.ports[container_port], *args)
        except (OSError, MysqlError):
            return None

    try:
        return until(attempt, timeout=60, what=f"{client.__name__} on port {container_port}")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; container output:\n{output(engine, started.cid)[-3000:]}") from None


def test_redis_through_the_published_port(services: Engine, service_image: Image, run: Run) -> None:
    # seed: docker run -id --name=my_redis -p 6379:6379 redis; then redis-cli -h 0.0.0.0 -p 6379
    redis = run(service_image("redis"), 6379, name="my_redis")
    with client_at(services, redis, 6379, Redis) as r:
        assert r("PING") == "PONG"
        assert r("SET", "name", "test") == "OK"
        assert r("GET", "name") == "test"
    assert co.top(services, redis.cid)["Processes"][0][1] == "redis"  # not root, as in the official image
    # data lives in /data: saved on the stop signal, there after a restart
    assert stopped_cleanly(services, redis.cid, within=8) == 0
    co.start(services, redis.cid)
    with client_at(services, redis, 6379, Redis) as r:
        assert r("GET", "name") == "test"


def test_redis_requirepass_from_the_command(services: Engine, service_image: Image, run: Run) -> None:
    redis = run(service_image("redis"), 6379, command=("redis-server", "--requirepass", "s3cret"))
    with client_at(services, redis, 6379, Redis) as r:
        with pytest.raises(RedisError, match="NOAUTH"):
            r("PING")
        with pytest.raises(RedisError, match="WRONGPASS"):
            r("AUTH", "wrong")
        assert r("AUTH", "s3cret") == "OK"
        assert r("PING") == "PONG"


def test_mysql_seed_first_start_then_restart(services: Engine, service_image: Image, run: Run,
                                             tmp_path: Path) -> None:
    # seed: docker run -id -p 3307:3306 --name mysql_container -v $PWD/conf:/etc/mysql/conf.d
    #   -v $PWD/logs:/logs -v $PWD/data:/var/lib/mysql -e MYSQL_ROOT_PASSWORD=pass mysql:5.6
    seed = write_tree(tmp_path, {
        "conf/berth.cnf": "[mysqld]\nmax_connections = 77\n",
        "initdb/01-visits.sql": "CREATE TABLE visits (who VARCHAR(20));\nINSERT INTO visits VALUES ('initdb');\n",
        # sourced (not executable), with the entrypoint's SQL helper, as official images' scripts do
        "initdb/02-script.sh": 'docker_process_sql --database="$MYSQL_DATABASE" <<< '
                               '"INSERT INTO visits VALUES (\'sh\')"\n',
        "secrets/shopper": "sh0p",
    })
    mounts = binds(seed, conf="/etc/mysql/conf.d", logs="/logs", data="/var/lib/mysql",
                   initdb="/docker-entrypoint-initdb.d", secrets="/run/secrets")
    env = (("MYSQL_ROOT_PASSWORD", "pass"), ("MYSQL_DATABASE", "shop"), ("MYSQL_USER", "shopper"),
           ("MYSQL_PASSWORD_FILE", "/run/secrets/shopper"))
    db = run(service_image("mysql"), 3306, name="mysql_container", interactive=True, mounts=mounts, env=env)
    port = db.ports[3306]
    with client_at(services, db, 3306, Mysql, "root", "pass") as root:  # root from the host: 'root'@'%'
        assert root.query("SELECT @@max_connections, @@bind_address") == [("77", "0.0.0.0")]
        assert root.query("SELECT who FROM shop.visits") == [("initdb",), ("sh",)]
    with client_at(services, db, 3306, Mysql, "shopper", "sh0p", "shop") as shopper:
        shopper.query("INSERT INTO visits VALUES ('shopper')")
    with pytest.raises(MysqlError) as denied:
        Mysql("127.0.0.1", port, "root", "wrong")
    assert denied.value.code == 1045
    # seed: docker exec -it mysql_container bash; mysql -uroot -ppass
    code, out, err = services.exec_container(db.cid, ["mysql", "-uroot", "-ppass", "-N", "-e",
                                                      "SELECT COUNT(*) FROM shop.visits"])
    assert (code, out) == (0, b"3\n"), err
    assert (seed / "data" / "mysql").is_dir() and (seed / "data").stat().st_uid == 999  # the mysql user's

    # SIGTERM: InnoDB shuts down cleanly; the next start finds the data and initialises nothing
    assert stopped_cleanly(services, db.cid, within=8) == 0
    co.start(services, db.cid)
    with client_at(services, db, 3306, Mysql, "root", "pass") as root:
        assert root.query("SELECT who FROM shop.visits ORDER BY who") == [("initdb",), ("sh",), ("shopper",)]
    logs = output(services, db.cid)  # both runs': a log survives a restart
    assert logs.count("Initializing database files") == 1, logs[-3000:]
    assert logs.count("mysqld: Shutdown complete") == 2, logs[-3000:]  # the init's temporary server, the stop
    client = shutil.which("mariadb") or shutil.which("mysql")
    if client:  # the seed's "any client on the host, port 3307"
        proc = subprocess.run([client, "-h127.0.0.1", f"-P{port}", "-uroot", "-ppass", "-N", "-e", "SELECT 1"],
                              capture_output=True, text=True, timeout=30)
        assert proc.stdout == "1\n", proc.stderr


def test_mysql_refuses_to_initialise_without_a_password(services: Engine, service_image: Image, run: Run) -> None:
    db = run(service_image("mysql"), 3306)
    assert co.wait(services, db.cid, timeout=30) == 1
    assert "You need to specify one of MYSQL_ROOT_PASSWORD" in output(services, db.cid)


def test_registry_with_htpasswd_and_tls_push_pull(services: Engine, service_image: Image, run: Run,
                                                  tmp_path: Path) -> None:
    if shutil.which("htpasswd") is None:
        pytest.skip("htpasswd is not installed (apache2-utils)")
    from registry_fixture import make_cert

    user, password = "mason", "reg-pass"
    auth = tmp_path / "auth"
    auth.mkdir()
    (auth / "htpasswd").write_text(subprocess.run(["htpasswd", "-Bbn", user, password], check=True,
                                                  capture_output=True, text=True).stdout)
    crt, key = make_cert(tmp_path / "certs", "domain", cn="127.0.0.1", ip="127.0.0.1")
    env = (("REGISTRY_AUTH", "htpasswd"), ("REGISTRY_AUTH_HTPASSWD_REALM", "Registry Realm"),
           ("REGISTRY_AUTH_HTPASSWD_PATH", "/auth/htpasswd"),
           ("REGISTRY_HTTP_TLS_CERTIFICATE", f"/certs/{crt.name}"), ("REGISTRY_HTTP_TLS_KEY", f"/certs/{key.name}"))
    reg = run(service_image("registry"), 5000, name="registry", env=env,
              mounts=(parse_volume(f"{auth}:/auth:ro"), parse_volume(f"{crt.parent}:/certs:ro")))
    tls = ssl.create_default_context(cafile=str(crt))

    def challenge() -> str | None:
        try:
            urllib.request.urlopen(reg.url(5000, "/v2/", "https"), timeout=2, context=tls)
        except urllib.error.HTTPError as exc:
            return exc.headers.get("WWW-Authenticate") if exc.code == 401 else None
        except OSError:
            return None
        return None

    assert until(challenge, timeout=20, what="the registry over https") == 'Basic realm="Registry Realm"'

    host = f"127.0.0.1:{reg.ports[5000]}"
    # trusted as Docker trusts a registry's own CA (loopback is an insecure registry, tried over plain
    # HTTP first unless certs.d names a CA for it)
    (services.paths.certs_dir / host).mkdir(parents=True)
    shutil.copy(crt, services.paths.certs_dir / host / "ca.crt")
    source = service_image("redis")
    target = f"{host}/seed/redis:1"
    services.tag(source, target)
    with pytest.raises(RegistryError):
        services.push(target)  # no credentials yet
    services.login(host, user, password)
    pushed = services.push(target)
    services.rmi(target)
    pulled = services.pull(target)
    assert (pulled.image_id, pulled.digest) == (services.image_id(source), pushed.digest)
    catalog = urllib.request.Request(reg.url(5000, "/v2/_catalog", "https"))
    catalog.add_unredirected_header("Authorization", "Basic " + _b64(f"{user}:{password}"))
    with urllib.request.urlopen(catalog, timeout=5, context=tls) as resp:
        assert b'"seed/redis"' in resp.read()
    services.logout(host)
    services.rmi(target)


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


def test_compose_nginx_proxies_to_flask_web_by_name(services: Engine, service_image: Image, run: Run,
                                                    user_network: str, tmp_path: Path) -> None:
    # seed 004's docker-compose.yml: Nginx (80:6000, ./nginx/conf.d) -> flask-web:5000 on the project network
    flask = run(service_image("flask-web"), 5000, name="flask-web", network=user_network)
    assert "hello, Flask" in answer(services, flask, flask.url(5000))
    conf = write_tree(tmp_path, {"conf.d/server.conf": (
        "server {\n    listen 6000;\n    access_log off;\n"
        "    location / {\n        proxy_pass http://flask-web:5000;\n    }\n}\n")})
    proxy = run(service_image("nginx"), 6000, network=user_network,
                mounts=(parse_volume(f"{conf}/conf.d:/etc/nginx/conf.d"),))
    assert "hello, Flask" in answer(services, proxy, proxy.url(6000))


def test_cached_image_is_loaded_not_built(services: Engine, service_image: Image) -> None:
    ref = service_image("redis")  # built (and saved to the cache) or loaded by now
    image_id = services.image_id(ref)
    services.rmi(ref)  # its own layer goes; the base's stays with the other images
    built: list[str] = []
    assert ensure_image(services, "redis", log=built.append) == ref
    assert built == [], "a cached image was built again"
    assert services.image_id(ref) == image_id


def test_source_key_follows_the_sources(tmp_path: Path) -> None:
    src = Path(__file__).resolve().parents[2] / "images" / "redis"
    copy = shutil.copytree(src, tmp_path / "redis")
    key = source_key(copy, "base-1")
    assert source_key(copy, "base-1") == key
    assert source_key(copy, "base-2") != key  # another base
    (copy / "docker-entrypoint.sh").chmod(0o644)
    assert source_key(copy, "base-1") != key  # COPY keeps modes
    (copy / "docker-entrypoint.sh").chmod(0o755)
    (copy / "Dockerfile").write_text((copy / "Dockerfile").read_text() + "\n# edited\n")
    assert source_key(copy, "base-1") != key

