#!/usr/bin/env bash
# Make the base image rootfs `local/debian:bookworm` from a debootstrap minbase (no registry needed).
# usage: debian-base.sh OUT.tar
#
# debootstrap takes a minute or two and the network, so the tarball is cached as
# $BERTH_TEST_CACHE/debian-bookworm-minbase.tar (default ~/.cache/berth), keyed by this script's
# checksum: edit the script and the next run makes a new one. The tar is deterministic (sorted names,
# fixed mtimes, numeric owners), so the same rootfs gives the same layer digest and every image built
# on it keeps its cache.
set -euo pipefail
out=${1:?usage: debian-base.sh OUT.tar}
suite=bookworm
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
cache=${BERTH_TEST_CACHE:-$HOME/.cache/berth}
key=$(sha256sum "$0" | cut -c1-12)
cached="$cache/debian-$suite-minbase-$key.tar"

if [[ ! -s "$cached" ]]; then
  command -v debootstrap >/dev/null || { echo "debootstrap is not installed (apt-get install debootstrap)" >&2; exit 1; }
  mkdir -p "$cache"
  work=$(mktemp -d "$cache/debootstrap.XXXXXX")
  trap 'umount -R "$work/rootfs/proc" "$work/rootfs/sys" 2>/dev/null || true; rm -rf "$work"' EXIT
  debootstrap --variant=minbase "$suite" "$work/rootfs" "$mirror" >"$work/log" 2>&1 \
    || { tail -30 "$work/log" >&2; echo "debootstrap of $suite from $mirror failed" >&2; exit 1; }
  r="$work/rootfs"
  # What the host lent the chroot, and what the engine provides per container, is not image content.
  rm -f "$r/etc/resolv.conf" "$r/etc/hostname" "$r/etc/machine-id" "$r/var/lib/dbus/machine-id"
  : > "$r/etc/hosts"
  rm -rf "$r/var/cache/apt/archives/"*.deb "$r/var/lib/apt/lists/"* "$r/var/log/"*.log "$r/tmp/"* "$r/run/"*
  printf 'deb %s %s main\ndeb %s %s-updates main\n' "$mirror" "$suite" "$mirror" "$suite" > "$r/etc/apt/sources.list"
  # As Docker's debian images: no recommends, no docs prompts, apt works non-interactively.
  printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$r/etc/apt/apt.conf.d/90berth-minimal"
  tar --sort=name --mtime='2024-01-01 00:00:00Z' --numeric-owner -C "$r" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$cached"
  # older keys of this script are stale
  find "$cache" -maxdepth 1 -name "debian-$suite-minbase-*.tar" ! -name "$(basename "$cached")" -delete
fi
if [[ "$out" != "$cached" ]]; then
  ln -f "$cached" "$out" 2>/dev/null || cp "$cached" "$out"
fi
