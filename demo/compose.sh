#!/usr/bin/env bash
# make demo, part 3: seed 004's docker-compose.yml (nginx proxying to flask-web by service name) as
# playbooks/compose.yml, on the engine and images demo/site.sh left ($CACHE/demo/site):
#   up; the proxy answers with flask-web's page; nginx resolves flask-web on the project network;
#   up again: changed=0; a changed variable in --check --diff; down.
set -euo pipefail
cd "$(dirname "$0")/.."
source demo/lib.sh
CACHE=${BERTH_TEST_CACHE:-$HOME/.cache/berth}
DEMO=$CACHE/demo/site
VENV=$PWD/.venv
REG=127.0.0.1:9000
[[ -x "$DEMO/prefix/bin/berth" ]] || { echo "run demo/site.sh first: it installs the demo's engine and builds the images" >&2; exit 1; }
BERTH="$DEMO/prefix/bin/berth --root $DEMO/root"
export ANSIBLE_NOCOLOR=1 ANSIBLE_HOME=$DEMO/ansible-home ANSIBLE_LOCAL_TEMP=$DEMO/ansible-tmp
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/collections/ansible_collections/berth"
ln -s "$PWD" "$WORK/collections/ansible_collections/berth/core"
export ANSIBLE_COLLECTIONS_PATH=$WORK/collections
started=$(date +%s)

# an interrupted earlier run: take its project down first (its containers hold the ports)
$BERTH rm -f compose-nginx-1 compose-flask-web-1 > /dev/null 2>&1 || true
# the seed's ports (80 for the proxy, 6000 for flask-web), or free ones when taken
PORT=80 FPORT=6000
port_free $PORT || PORT=$(free_port)
port_free $FPORT || FPORT=$(free_port)

cat > "$WORK/inventory.yml" <<INV
all:
  hosts:
    localhost:
      ansible_connection: local
      ansible_python_interpreter: $VENV/bin/python
  vars:
    berth_prefix: $DEMO/prefix
    berth_root: $DEMO/root
    compose_dir: $DEMO/srv/compose
    compose_nginx_image: $REG/berth/nginx:latest
    compose_flask_image: $REG/berth/flask-web:latest
    compose_proxy_port: $PORT
    compose_flask_port: $FPORT
INV
play() { "$VENV/bin/ansible-playbook" -i "$WORK/inventory.yml" playbooks/compose.yml "$@"; }

say "1. compose.yml: the project network, nginx's conf.d from a template, flask-web and the proxy"
run play > "$WORK/up.log" || { tail -40 "$WORK/up.log"; exit 1; }
grep -E "^(TASK|changed|ok)|localhost +:" "$WORK/up.log" | grep -v "^ok:" || true
run cat "$DEMO/srv/compose/nginx/conf.d/server.conf"

say "2. the proxy on 127.0.0.1:$PORT answers with flask-web's page (flask-web itself: $FPORT)"
run curl -sS -D - "http://127.0.0.1:$PORT/"
echo
run $BERTH ps
run $BERTH exec compose-nginx-1 getent hosts flask-web
run $BERTH network ls

say "3. compose.yml again: nothing to change"
t0=$(date +%s)
play > "$WORK/again.log" || { tail -40 "$WORK/again.log"; exit 1; }
grep -A1 "PLAY RECAP" "$WORK/again.log"
echo "re-run took $(( $(date +%s) - t0 )) s"
grep -q "changed=0" "$WORK/again.log" || { echo "the second run changed something" >&2; exit 1; }

say "4. --check --diff with compose_proxy_listen=7000: the change is shown, nothing is changed"
echo "$ play --check --diff -e compose_proxy_listen=7000"
play --check --diff -e compose_proxy_listen=7000 > "$WORK/check.log" || { tail -40 "$WORK/check.log"; exit 1; }
sed -n '/^TASK \[Write/,/^TASK \[Apply/p' "$WORK/check.log" | sed '$d'
grep -A1 "PLAY RECAP" "$WORK/check.log"
run curl -sS "http://127.0.0.1:$PORT/"
echo

say "5. down: compose_state=absent"
play -e compose_state=absent | grep -A1 "PLAY RECAP"
run $BERTH ps -a
echo "compose demo took $(( $(date +%s) - started )) s"
