#!/usr/bin/env bash
# Make a busybox rootfs tarball from Debian's busybox-static (no registry needed).
# usage: busybox-rootfs.sh OUT.tar
set -euo pipefail
out=${1:?usage: busybox-rootfs.sh OUT.tar}
bb=$(command -v busybox || true)
[[ -n "$bb" ]] || { echo "busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,etc,tmp,root,proc,sys,dev,var/log}
cp "$bb" "$work/bin/busybox"
for applet in $("$bb" --list); do
  [[ "$applet" == busybox ]] || ln -s busybox "$work/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$work/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$work/etc/group"
chmod 1777 "$work/tmp"
# Deterministic tar: same input, same digest, so cached layers are reused.
tar --sort=name --mtime='2024-01-01 00:00:00Z' --owner=0 --group=0 --numeric-owner -C "$work" -cf "$out" .
