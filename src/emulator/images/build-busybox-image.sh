#!/usr/bin/env bash
# Builds the tiny runner image `runnerd demo` and the tests use, and imports it into LXD:
# Debian's busybox-static as the whole userland, busybox init starting runnerd's agent at boot,
# a `runner` user (uid 1001) with a setuid `sudo` shim, and the fake runner in /opt/actions-runner.
# Idempotent: the image carries a hash of its recipe and is rebuilt only when that changes.
#
#   usage: build-busybox-image.sh [ALIAS]      (default alias: runnerd-test/busybox)
set -euo pipefail

alias=${1:-runnerd-test/busybox}
here=$(cd "$(dirname "$0")" && pwd)
fake_runner=$(cd "$here/../fake-runner" && pwd)

log() { printf '[busybox-image] %s\n' "$*" >&2; }
# The daemon's own client: RUNNERD_BACKEND=incus imports into Incus, else into LXD.
lxc=lxc
[ "${RUNNERD_BACKEND:-lxd}" != incus ] || lxc=incus

command -v gcc >/dev/null 2>&1 && [ -e /usr/lib/x86_64-linux-gnu/libc.a ] || {
  log "installing gcc and libc6-dev (for the sudo shim)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc libc6-dev >/dev/null
}
[ -x /bin/busybox ] || { log "busybox-static is missing: run scripts/setup-lxd.sh"; exit 1; }

recipe=$( { cat "$0" "$here/sudo-shim.c"; sha256sum /bin/busybox; \
  (cd "$fake_runner" && find . -type f ! -name '*.ts' ! -name '*.md' | LC_ALL=C sort | xargs sha256sum); } \
  | sha256sum | cut -c1-16)

current=$("$lxc" image list "$alias" --format csv -c f 2>/dev/null | head -n1 || true)
if [ -n "$current" ] && [ "$("$lxc" image get-property "$alias" runnerd.recipe 2>/dev/null || true)" = "$recipe" ]; then
  log "image $alias is current (recipe $recipe)"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,tmp,proc,sys,dev,run,var/lib/runnerd,opt/runnerd,home/runner}
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for applet in $(/bin/busybox --list-full); do
  [ -e "$rootfs/$applet" ] || ln -s /bin/busybox "$rootfs/$applet"
done

cat >"$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
runner:x:1001:1001:GitHub runner:/home/runner:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >"$rootfs/etc/group" <<'GROUP'
root:x:0:
runner:x:1001:
nogroup:x:65534:
GROUP
echo "runner-image" >"$rootfs/etc/hostname"
# busybox init: mount what LXD does not, then start the agent once; it powers the instance off.
cat >"$rootfs/etc/inittab" <<'INITTAB'
::sysinit:/bin/busybox mount -t tmpfs -o mode=1777 tmpfs /tmp
::sysinit:/bin/busybox hostname -F /etc/hostname
::sysinit:/bin/busybox ip link set lo up
::once:/opt/runnerd/runner-agent.sh
::shutdown:/bin/busybox sync
INITTAB

gcc -static -Os -o "$rootfs/usr/bin/sudo" "$here/sudo-shim.c"
chmod 4755 "$rootfs/usr/bin/sudo"

mkdir -p "$rootfs/opt/actions-runner"
(cd "$fake_runner" && find . -type f ! -name '*.ts' ! -name '*.md' -print0 | xargs -0 -I{} cp --parents {} "$rootfs/opt/actions-runner/")
chmod 755 "$rootfs"/opt/actions-runner/*.sh 2>/dev/null || true
chown -R 1001:1001 "$rootfs/opt/actions-runner" "$rootfs/home/runner"

cat >"$work/metadata.yaml" <<META
architecture: x86_64
creation_date: $(date +%s)
properties:
  description: runnerd test runner (busybox $(/bin/busybox | head -n1 | awk '{print $2}'), fake actions/runner)
  os: busybox
  release: test
  runnerd.recipe: "$recipe"
META

tar -C "$work" --numeric-owner -czf "$work/image.tar.gz" metadata.yaml rootfs
if [ -n "$current" ]; then
  log "replacing outdated image $alias ($current)"
  "$lxc" image delete "$current" >/dev/null 2>&1 || "$lxc" image alias delete "$alias" >/dev/null 2>&1 || true
fi
"$lxc" image import "$work/image.tar.gz" --alias "$alias" >/dev/null
log "imported $alias (recipe $recipe, $(du -h "$work/image.tar.gz" | cut -f1))"
