#!/bin/sh
# The official redis image's entrypoint, for Debian's redis-server:
# - `berth run redis --requirepass x` means `redis-server --requirepass x` (first word an option or a .conf);
# - redis-server runs as the redis user, after /data is made its own (a fresh bind mount is root's);
# - no config file given: `--protected-mode no`. The official image patches that default into its
#   build, since a container is only reached through published ports, whose connections never come
#   from loopback; with a config file, the file decides, as there.
set -e

case "$1" in
  -*|*.conf) set -- redis-server "$@" ;;
esac

if [ "$1" = redis-server ]; then
  case "$2" in
    *.conf) ;;
    *) shift; set -- redis-server --protected-mode no "$@" ;;
  esac
  if [ "$(id -u)" = 0 ]; then
    find . \! -user redis -exec chown redis '{}' +
    # as the official image: files redis writes (dump.rdb, appendonly) are not world-readable
    umask 0077
    exec setpriv --reuid=redis --regid=redis --init-groups "$@"
  fi
fi
exec "$@"
