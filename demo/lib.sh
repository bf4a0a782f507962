# Shared helpers of the demo scripts (sourced).
say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { printf '$'; printf ' %q' "$@"; printf '\n'; "$@"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# port_free PORT: a listener on 127.0.0.1:PORT would be reached there. Not only "nothing listens":
# a port rule (a container's published port, or the stale rule of a container that died with a
# killed session) takes the connection elsewhere, even with nothing listening on the host
port_free() {
  # (the client closes first, so no TIME_WAIT is left on PORT to refuse the next bind)
  python3 -c 'import socket, sys
port = int(sys.argv[1])
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    srv.bind(("127.0.0.1", port))
except OSError:
    sys.exit(1)
srv.listen(1)
srv.settimeout(1)
c = socket.socket()
c.settimeout(1)
try:
    c.connect(("127.0.0.1", port))
    conn, _ = srv.accept()
except OSError:
    sys.exit(1)
c.close()
conn.recv(1)
conn.close()' "$1" 2>/dev/null
}

# start_registry NAME PORT [htpasswd-file]: Debian's docker-registry on 127.0.0.1:PORT
start_registry() {
  local name=$1 port=$2 htpasswd=${3:-} dir="$WORK/registry-$1"
  mkdir -p "$dir/data"
  {
    echo "version: 0.1"
    echo "log: {level: error}"
    echo "storage: {filesystem: {rootdirectory: $dir/data}, delete: {enabled: true}}"
    echo "http: {addr: 127.0.0.1:$port}"
    if [[ -n "$htpasswd" ]]; then echo "auth: {htpasswd: {realm: berth-demo, path: $htpasswd}}"; fi
  } > "$dir/config.yml"
  docker-registry serve "$dir/config.yml" > "$dir/log" 2>&1 &
  echo $! >> "$WORK/pids"
  for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$port/v2/" && return 0
    sleep 0.1
  done
  echo "registry $name did not start: $(cat "$dir/log")" >&2
  return 1
}
