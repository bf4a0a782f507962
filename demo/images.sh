#!/usr/bin/env bash
# make demo: the seed's private-registry story with berth instead of docker.
#   import an image (no public registry here), run a registry on 127.0.0.1:9000,
#   tag, push, list /v2/_catalog, rmi, pull back (same digest), save/load,
#   a registry mirror for docker.io names, login to a registry with auth,
#   then containers from the image: run, logs, ps, stop, volumes-from; a user network
#   where a proxy reaches an app by name through a published port.
set -euo pipefail
cd "$(dirname "$0")/.."
source demo/lib.sh
BERTH=${BERTH:-$PWD/.venv/bin/berth}
CACHE=${BERTH_TEST_CACHE:-$HOME/.cache/berth}
export BERTH_ROOT=${BERTH_ROOT:-$CACHE/demo/root}
WORK=$(mktemp -d)
: > "$WORK/pids"
cleanup() { xargs -r kill < "$WORK/pids" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
if [[ -d "$BERTH_ROOT" ]]; then  # an interrupted earlier demo: stop its containers before wiping its root
  "$BERTH" ps -aq | xargs -r "$BERTH" rm -f > /dev/null || true
fi
rm -rf "$BERTH_ROOT" && mkdir -p "$BERTH_ROOT"
echo "engine root: $BERTH_ROOT   (berth = $BERTH)"

say "1. an image without the internet: busybox-static imported as busybox:latest"
tests/images/busybox-rootfs.sh "$WORK/busybox.tar"
run "$BERTH" import "$WORK/busybox.tar" busybox:latest --change 'CMD ["sh"]' -m "busybox-static from Debian"
run "$BERTH" images

PORT=9000
port_free $PORT || { PORT=$(free_port); echo "(port 9000 is taken; using $PORT)"; }
REG=127.0.0.1:$PORT
say "2. a private registry (Debian's docker-registry) on $REG"
start_registry private "$PORT"
run curl -s "http://$REG/v2/_catalog"

say "3. tag and push (127.0.0.0/8 is an insecure registry by default, as in Docker)"
run "$BERTH" tag busybox "$REG/busybox:1.35"
run "$BERTH" push "$REG/busybox:1.35" | tee "$WORK/push.out"
pushed=$(awk '/digest:/ {print $3}' "$WORK/push.out")
run curl -s "http://$REG/v2/_catalog"

say "4. remove it locally (both names: the image and its layers go), pull it back: same digest"
run "$BERTH" rmi "$REG/busybox:1.35" busybox:latest
run "$BERTH" images
run "$BERTH" pull "$REG/busybox:1.35" | tee "$WORK/pull.out"
run "$BERTH" tag "$REG/busybox:1.35" busybox:latest
pulled=$(awk '/^Digest:/ {print $2}' "$WORK/pull.out")
[[ "$pushed" == "$pulled" ]] && echo "digest pushed == digest pulled: $pulled" || { echo "DIGEST MISMATCH" >&2; exit 1; }
run "$BERTH" images --digests

say "5. save / load (docker-archive format) into a second engine root"
run "$BERTH" save -o "$WORK/busybox-save.tar" "$REG/busybox:1.35" busybox:latest
run "$BERTH" --root "$WORK/other-root" load -i "$WORK/busybox-save.tar"
run "$BERTH" --root "$WORK/other-root" images

say "6. a registry mirror for docker.io (daemon.json's registry-mirrors)"
run "$BERTH" tag busybox "$REG/library/busybox:latest"
run "$BERTH" push "$REG/library/busybox:latest" > /dev/null
mkdir -p "$WORK/mirror-root/etc"
echo "{\"registry-mirrors\": [\"http://$REG\"]}" > "$WORK/mirror-root/etc/config.json"
run cat "$WORK/mirror-root/etc/config.json"
run "$BERTH" --root "$WORK/mirror-root" pull busybox

say "7. a registry with htpasswd auth: login, push, credentials stored 0600"
APORT=$(free_port)
htpasswd -Bbn demo demo-secret > "$WORK/htpasswd"
start_registry auth "$APORT" "$WORK/htpasswd"
run "$BERTH" tag busybox "127.0.0.1:$APORT/team/busybox:1"
if "$BERTH" push "127.0.0.1:$APORT/team/busybox:1" > "$WORK/denied" 2>&1; then
  echo "push without login should have failed" >&2; exit 1
fi
echo "without login: $(tail -1 "$WORK/denied")"
echo "demo-secret" | run "$BERTH" login -u demo --password-stdin "127.0.0.1:$APORT"
run "$BERTH" push "127.0.0.1:$APORT/team/busybox:1"
run stat -c '%a %n' "$BERTH_ROOT/etc/auth.json"
run "$BERTH" logout "127.0.0.1:$APORT"

say "8. containers from the image (seed 003 and 004, no daemon: runc + conmon)"
run "$BERTH" run --rm busybox echo "hello from a berth container"
run "$BERTH" run -d --name loop busybox sh -c 'while true; do echo hello; sleep 1; done'
sleep 2.2
run "$BERTH" logs --tail 2 loop
run "$BERTH" ps
run "$BERTH" stop -t 1 loop
run "$BERTH" rm loop
run "$BERTH" run -d --name test_1 -v /share busybox sh -c 'echo from-test_1 > /share/f; sleep 30'
sleep 0.5
run "$BERTH" run --rm --volumes-from test_1 busybox cat /share/f
run "$BERTH" rm -f -v test_1

WPORT=$(free_port)
say "9. networks and published ports: seed 004's compose by hand (nginx-like proxy -> flask-web by name)"
run "$BERTH" network create appnet
run "$BERTH" run -d --name flask-web --network appnet busybox \
  sh -c 'mkdir -p /www && echo "hello from flask-web" > /www/index.html && exec httpd -f -p 5000 -h /www'
# busybox httpd has no proxy module: a CGI that fetches http://flask-web:5000/ plays nginx's proxy_pass
run "$BERTH" run -d --name nginx --network appnet -p "$WPORT:80" busybox sh -c 'mkdir -p /www/cgi-bin &&
  printf "#!/bin/sh\necho Content-Type: text/plain\necho\nwget -q -O - http://flask-web:5000/\n" > /www/cgi-bin/app &&
  chmod +x /www/cgi-bin/app && exec httpd -f -p 80 -h /www'
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$WPORT/cgi-bin/app" && break; sleep 0.1; done
run curl -s "http://127.0.0.1:$WPORT/cgi-bin/app"
run "$BERTH" port nginx
run "$BERTH" ps
run "$BERTH" run --rm --network appnet busybox nslookup flask-web
run "$BERTH" rm -f nginx flask-web
run "$BERTH" network rm appnet

say "10. build from a Dockerfile (classic builder: Step N/M, layer cache), run the result"
mkdir -p "$WORK/app"
printf '#!/bin/sh\necho "hello from a built image: $GREETING"\n' > "$WORK/app/greet.sh"
cat > "$WORK/app/Dockerfile" <<'DOCKERFILE'
FROM busybox
ARG WHO=world
ENV GREETING="hello ${WHO}"
WORKDIR /app
COPY greet.sh .
RUN chmod +x greet.sh && echo "built on $(hostname)"
CMD ["./greet.sh"]
DOCKERFILE
run "$BERTH" build -t greeter:1 --build-arg WHO=berth "$WORK/app"
run "$BERTH" run --rm greeter:1
echo "(again, nothing changed: every step from the cache)"
run "$BERTH" build -t greeter:1 --build-arg WHO=berth "$WORK/app" | grep -c "Using cache"
run "$BERTH" history greeter:1

say "11. history, disk usage, store check"
run "$BERTH" history busybox
run "$BERTH" system df
run "$BERTH" system check
echo
echo "demo finished: every step above ran against real components."
