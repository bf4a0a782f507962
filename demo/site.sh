#!/usr/bin/env bash
# make demo, part 2: the site on this machine, as a user would run it.
#   the engine installed on localhost by the berth.core.engine role (its own prefix and root),
#   the service images built from images/ on a debootstrap Debian base and pushed to a private
#   registry run by the berth.core.registry role, then mysql, tomcat, nginx and redis from it;
#   each service checked from the host; site.yml again: changed=0; drift.yml: no drift.
# The demo's engine, images and services live in $CACHE/demo/site: a second run converges them
# (the images are rebuilt only when images/ changed), as a site does. BERTH_DEMO_FRESH=1 starts over.
set -euo pipefail
cd "$(dirname "$0")/.."
source demo/lib.sh
CACHE=${BERTH_TEST_CACHE:-$HOME/.cache/berth}
DEMO=$CACHE/demo/site
VENV=$PWD/.venv
export ANSIBLE_NOCOLOR=1 ANSIBLE_HOME=$DEMO/ansible-home ANSIBLE_LOCAL_TEMP=$DEMO/ansible-tmp
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$DEMO" "$WORK/collections/ansible_collections/berth"
ln -s "$PWD" "$WORK/collections/ansible_collections/berth/core"
export ANSIBLE_COLLECTIONS_PATH=$WORK/collections
started=$(date +%s)

# An earlier demo's engine, images and services stay: site.yml converges them (starting what was
# stopped), as it would a real site. BERTH_DEMO_FRESH=1 removes the services and their data first.
demo_berth=("$DEMO/prefix/bin/berth" --root "$DEMO/root")
if [[ -x "$DEMO/prefix/bin/berth" && ${BERTH_DEMO_FRESH:-0} == 1 ]]; then
  "${demo_berth[@]}" ps -aq | xargs -r "${demo_berth[@]}" rm -f -v > /dev/null
  rm -rf "$DEMO/srv"
fi
# what a boot-time restore would find after a reboot or a killed session: dead services whose port
# rules and endpoints are still there; the demo's engine repairs them, as `system check --repair` does
if [[ -x "$DEMO/prefix/bin/berth" ]]; then
  "${demo_berth[@]}" system check --repair > /dev/null 2>&1 || true
fi
# the ports must be free unless the demo's own services hold them (berth refuses a taken port anyway)
if ! [[ -x "$DEMO/prefix/bin/berth" && -n "$("${demo_berth[@]}" ps -q 2>/dev/null)" ]]; then
  for port in 9000 3307 8080 8081 6379; do
    port_free $port || { echo "port $port is taken on this machine: the demo publishes it" >&2; exit 1; }
  done
fi

# the demo's engine (prefix + root) survives between runs: the image cache lives in its root
cat > "$WORK/inventory.yml" <<INV
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: $VENV/bin/python
  vars:
    berth_prefix: $DEMO/prefix
    berth_root: $DEMO/root
    berth_config: {bridge: berthdemo0, bip: 10.253.10.1/24}
    registry_address: 127.0.0.1:9000
    registry_image: 127.0.0.1:9000/berth/registry:latest
    mysql_image: 127.0.0.1:9000/berth/mysql:latest
    mysql_root_password: demo-root-pass
    mysql_home: $DEMO/srv/mysql
    tomcat_image: 127.0.0.1:9000/berth/tomcat:latest
    tomcat_webapps_dir: $DEMO/srv/tomcat/webapps
    tomcat_webapp_files: {"my_app/index.html": "<h1>hello,Docker!</h1>"}
    nginx_image: 127.0.0.1:9000/berth/nginx:latest
    nginx_home: $DEMO/srv/nginx
    nginx_port: 8081
    redis_image: 127.0.0.1:9000/berth/redis:latest
  children:
    registry: {hosts: {localhost: {}}}
    mysql: {hosts: {localhost: {}}}
    tomcat: {hosts: {localhost: {}}}
    nginx: {hosts: {localhost: {}}}
    redis: {hosts: {localhost: {}}}
INV

say "1. site.yml: the engine role, the images built, the registry, the images pushed, the services"
# the images are built (and pushed) when their sources changed since the demo's last build, as a
# site's pipeline would; BERTH_DEMO_FRESH=1 builds them whatever
sources=$(find images -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16)
build=true
if [[ ${BERTH_DEMO_FRESH:-0} != 1 && -f "$DEMO/images.built" && $(cat "$DEMO/images.built") == "$sources" ]]; then
  build=false
  echo "(images/ unchanged since the demo built and pushed it: site_build_images=false)"
fi
run "$VENV/bin/ansible-playbook" -i "$WORK/inventory.yml" playbooks/site.yml -e site_build_images=$build | tee "$WORK/site1.log" | grep -E "^(PLAY|TASK|changed|ok|fatal|failed)|RECAP|localhost +:" || true
grep -q "failed=0" "$WORK/site1.log" || { tail -60 "$WORK/site1.log"; exit 1; }
[[ $build == false ]] || echo "$sources" > "$DEMO/images.built"

say "2. check each service as a user would"
BERTH="$DEMO/prefix/bin/berth --root $DEMO/root"
run $BERTH ps
run curl -fsS http://127.0.0.1:8081/
run curl -fsS http://127.0.0.1:8080/my_app/index.html
run "$VENV/bin/python" -c 'import sys; sys.path.insert(0, "tests/images"); from redis_wire import Redis
with Redis("127.0.0.1", 6379) as r: print(r("SET", "demo-key", "berth"), r("GET", "demo-key"))'
if command -v mysql > /dev/null; then
  run mysql -h127.0.0.1 -P3307 -uroot -pdemo-root-pass -e "SELECT VERSION(), NOW();"
else
  echo "(no mysql client on this host: apt-get install mariadb-client; asking with tests/images/mysql_wire.py)"
  run "$VENV/bin/python" -c 'import sys; sys.path.insert(0, "tests/images"); from mysql_wire import Mysql
with Mysql("127.0.0.1", 3307, "root", "demo-root-pass") as db: print(db.query("SELECT VERSION(), NOW()"))'
fi

say "3. site.yml again: nothing to change"
t0=$(date +%s)
"$VENV/bin/ansible-playbook" -i "$WORK/inventory.yml" playbooks/site.yml > "$WORK/site2.log" || { tail -60 "$WORK/site2.log"; exit 1; }
grep -A2 "PLAY RECAP" "$WORK/site2.log"
echo "re-run took $(( $(date +%s) - t0 )) s"
grep -q "changed=0" "$WORK/site2.log" || { echo "the second run changed something:" >&2; grep -B5 "changed:" "$WORK/site2.log" >&2; exit 1; }

say "4. drift.yml: nothing drifted"
"$VENV/bin/ansible-playbook" -i "$WORK/inventory.yml" playbooks/drift.yml > "$WORK/drift.log" || { tail -40 "$WORK/drift.log"; exit 1; }
grep -A3 "What differs on this host" "$WORK/drift.log" | tail -3

say "summary"
echo "services: registry 127.0.0.1:9000, mysql 127.0.0.1:3307, tomcat 127.0.0.1:8080, nginx 127.0.0.1:8081, redis 127.0.0.1:6379"
echo "engine: $DEMO/prefix (CLI: $BERTH)"
echo "took $(( $(date +%s) - started )) s; stop everything with: $BERTH ps -q | xargs $BERTH rm -f"
