#!/usr/bin/env bash
# The anchors of `make bench`: a Docker daemon and the community.docker collection, set up so the
# bench can measure berth beside them, and taken down after. Optional: without them `make bench`
# prints "anchor not installed" rows.
#
#   bench/anchors.sh install   Debian's docker.io (dockerd + containerd; no service is started) and
#                              community.docker from the `ansible` wheel on PyPI
#   bench/anchors.sh start     install if needed, then dockerd by hand (see DOCKERD_ARGS)
#   bench/anchors.sh stop      stop dockerd (and the containerd it started), remove its bridge,
#                              check the firewall is as it was before start
#   bench/anchors.sh status    what is installed and running
#   bench/anchors.sh env       the environment the bench reads (run.py finds both by itself)
#
# The daemon is private to the bench, so nothing else on the machine sees a Docker daemon and the
# CI's network tests are left alone:
# * its socket is $SOCK, not /var/run/docker.sock (bench/run.py sets DOCKER_HOST to it);
# * --iptables=false --ip6tables=false --ip-masq=false --ip-forward=false: no DOCKER chains, no NAT,
#   no FORWARD policy change, no sysctl; published ports go through docker-proxy (userland);
# * its bridge (docker0) and its networks use 10.253.79.0/24 and 10.253.80.0/22, which neither the
#   tests (10.250-10.252) nor the bench's berth networks (10.253.76-77) use;
# * data under $DATA, state under $RUN; started with a policy-rc.d that keeps apt from starting the
#   packaged services.
set -euo pipefail

DATA=${BERTH_BENCH_DOCKER_DATA:-/var/cache/berth-bench-docker}
RUN=/run/berth-bench-docker
SOCK=$RUN/docker.sock
PIDFILE=$RUN/dockerd.pid
CACHE=${BERTH_TEST_CACHE:-$HOME/.cache/berth}
COLLECTIONS=${BERTH_BENCH_COLLECTIONS:-$CACHE/bench-collections}
ANSIBLE_WHEEL_VERSION=12.3.0  # ansible-core 2.19's `ansible`; holds community.docker 4.8.5
HERE=$(cd "$(dirname "$0")" && pwd)
PIP=${PIP:-$HERE/../.venv/bin/pip}
DOCKERD_ARGS=(--iptables=false --ip6tables=false --ip-masq=false --ip-forward=false
  --bip 10.253.79.1/24 --default-address-pool base=10.253.80.0/22,size=24
  --data-root "$DATA/data" --exec-root "$RUN/exec" --pidfile "$PIDFILE" -H "unix://$SOCK"
  --config-file "$RUN/daemon.json")

export DOCKER_HOST=unix://$SOCK

log() { echo "anchors: $*" >&2; }

running() { [[ -s $PIDFILE ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

# the firewall as seen by iptables (legacy and nft), ip6tables, and nft outside berth's own tables
# (berth_*: the tests running at the same time make and remove those), without packet counters
firewall() {
  local t
  for t in iptables-legacy-save ip6tables-legacy-save iptables-nft-save ip6tables-nft-save; do
    command -v "$t" >/dev/null || continue
    echo "== $t"
    { "$t" 2>/dev/null | grep -v '^#' | sed 's/\[[0-9]*:[0-9]*\]//'; } || true
  done
  echo "== nft"
  for t in $(nft list tables 2>/dev/null | awk '$3 !~ /^berth_/ {print $2 "/" $3}'); do
    { nft list table "${t%/*}" "${t#*/}" 2>/dev/null | sed 's/counter packets [0-9]* bytes [0-9]*/counter/'; } || true
  done
  echo "== ip_forward $(cat /proc/sys/net/ipv4/ip_forward)"
}

install_docker() {
  command -v dockerd >/dev/null && return
  log "installing docker.io (dockerd, containerd) from Debian; runc before: $(runc --version 2>/dev/null | head -1)"
  local guard=""
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then  # keep the package from starting its services
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends docker.io >&2 || {
    [[ -n $guard ]] && rm -f /usr/sbin/policy-rc.d; exit 1; }
  [[ -n $guard ]] && rm -f /usr/sbin/policy-rc.d
  log "runc after: $(runc --version | head -1)"
}

install_collection() {
  [[ -f $COLLECTIONS/ansible_collections/community/docker/MANIFEST.json ]] && return
  local wheels=$CACHE/bench-anchors
  mkdir -p "$wheels" "$COLLECTIONS"
  log "community.docker from PyPI (ansible==$ANSIBLE_WHEEL_VERSION wheel) into $COLLECTIONS"
  "$PIP" download -q --no-deps --disable-pip-version-check --only-binary=:all: -d "$wheels" \
    "ansible==$ANSIBLE_WHEEL_VERSION" 2> >(grep -v "is ignored: it is neither" >&2)
  # only the two collections the docker modules need (the wheel holds ~100)
  python3 - "$wheels/ansible-$ANSIBLE_WHEEL_VERSION-py3-none-any.whl" "$COLLECTIONS" <<'EOF'
import sys, zipfile
wheel, dest = sys.argv[1:]
keep = ("ansible_collections/community/docker/", "ansible_collections/community/library_inventory_filtering_v1/")
with zipfile.ZipFile(wheel) as z:
    z.extractall(dest, [n for n in z.namelist() if n.startswith(keep)])
EOF
}

start() {
  install_docker
  install_collection
  if running; then
    log "dockerd already running (pid $(cat "$PIDFILE"))"
    return
  fi
  mkdir -p "$DATA" "$RUN"
  echo '{}' >"$RUN/daemon.json"
  firewall >"$RUN/firewall.before"
  ip -o link show docker0 >/dev/null 2>&1 && touch "$RUN/docker0.preexisting"
  setsid dockerd "${DOCKERD_ARGS[@]}" </dev/null >"$RUN/dockerd.log" 2>&1 &
  local i
  for i in $(seq 60); do
    docker info >/dev/null 2>&1 && break
    if ! kill -0 $! 2>/dev/null; then
      log "dockerd exited; its log:"; tail -20 "$RUN/dockerd.log" >&2; exit 1
    fi
    sleep 0.5
  done
  docker info >/dev/null 2>&1 || { log "dockerd does not answer after 30 s"; stop; exit 1; }
  log "dockerd $(docker version -f '{{.Server.Version}}') running (pid $(cat "$PIDFILE")), DOCKER_HOST=$DOCKER_HOST"
}

stop() {
  if running; then
    local pid
    pid=$(cat "$PIDFILE")
    # the bench removes its containers; any left over would keep their shims after dockerd goes
    docker ps -aq 2>/dev/null | xargs -r docker rm -f >/dev/null 2>&1 || true
    kill -TERM "$pid"
    for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    if kill -0 "$pid" 2>/dev/null; then
      log "dockerd (pid $pid) ignored SIGTERM for 30 s: SIGKILL"; kill -KILL "$pid"
    fi
    log "dockerd stopped"
  fi
  # the containerd dockerd started (it stops with dockerd; this is for a dockerd that was killed)
  local cpid
  cpid=$(cat "$RUN/exec/containerd/containerd.pid" 2>/dev/null || true)
  if [[ -n $cpid ]] && kill -0 "$cpid" 2>/dev/null && grep -q containerd "/proc/$cpid/comm"; then
    kill -TERM "$cpid"; sleep 1; log "stopped the leftover containerd (pid $cpid)"
  fi
  rm -f "$PIDFILE"
  if [[ ! -e $RUN/docker0.preexisting ]] && ip -o link show docker0 >/dev/null 2>&1; then
    ip link delete docker0
  fi
  rm -f "$RUN/docker0.preexisting"
  if mountpoint -q "$RUN/exec" 2>/dev/null; then umount "$RUN/exec" || true; fi
  if [[ -f $RUN/firewall.before ]]; then
    if firewall | diff -u "$RUN/firewall.before" - >"$RUN/firewall.diff"; then
      log "firewall as before start"
    else
      log "firewall differs from before start (berth_* tables are left out; other engineers' tests may change the rest):"
      cat "$RUN/firewall.diff" >&2
    fi
    rm -f "$RUN/firewall.before"
  fi
}

status() {
  local rc=0
  if command -v dockerd >/dev/null; then
    echo "docker engine: installed ($(dockerd --version))"
  else
    echo "docker engine: not installed"; rc=1
  fi
  if running && docker info >/dev/null 2>&1; then
    echo "dockerd: running (pid $(cat "$PIDFILE")), DOCKER_HOST=$DOCKER_HOST"
  else
    echo "dockerd: not running"; rc=1
  fi
  if [[ -f $COLLECTIONS/ansible_collections/community/docker/MANIFEST.json ]]; then
    echo "community.docker: $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["collection_info"]["version"])' \
      "$COLLECTIONS/ansible_collections/community/docker/MANIFEST.json") in $COLLECTIONS"
  else
    echo "community.docker: not installed"; rc=1
  fi
  echo "runc: $(runc --version 2>/dev/null | head -1)"
  return $rc
}

case ${1:-} in
  install) install_docker; install_collection ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  env) echo "export DOCKER_HOST=$DOCKER_HOST BERTH_BENCH_COLLECTIONS=$COLLECTIONS" ;;
  *) echo "usage: $0 install|start|stop|status|env" >&2; exit 2 ;;
esac
