#!/usr/bin/env bash
# Builds a plain Debian 12 (bookworm) container image, or Debian 13 (trixie) with
# RUNNERD_DEBIAN_SUITE=trixie (the package test's host), and imports it into LXD: the *source* image
# for runnerd's image builder, like images:debian/12 but made here with debootstrap (minbase plus
# systemd, dbus, iproute2, ca-certificates and procps) from this machine's Debian mirror through
# the local apt cache (scripts/start-apt-cache.sh). No network configuration: containers from it
# have only lo, which systemd brings up. Empty /etc/machine-id (each container makes its own),
# root locked (no password), /etc/hostname and /etc/hosts templated to the instance name.
#
# Idempotent: the image carries a hash of its recipe (this script, the package list, the mirror)
# and is rebuilt only when that changes; the built tarball is kept in
# /var/cache/runnerd-test/images/debian<release>-<recipe>.tar.gz and reused without debootstrap.
#
#   usage: build-debian-source-image.sh [ALIAS]      (default alias: runnerd-test/debian12, or 13)
#   RUNNERD_DEBIAN_SUITE    bookworm (default) or trixie
#   RUNNERD_DEBIAN_MIRROR   Debian mirror URL (default: the one in this machine's apt sources)
set -euo pipefail
umask 022

suite=${RUNNERD_DEBIAN_SUITE:-bookworm}
case $suite in
  bookworm) release=12 ;;
  trixie) release=13 ;;
  *) printf '[debian-image] unknown RUNNERD_DEBIAN_SUITE %s (bookworm or trixie)\n' "$suite" >&2; exit 2 ;;
esac
alias=${1:-runnerd-test/debian$release}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
include=systemd-sysv,dbus,iproute2,ca-certificates,procps
cache_dir=/var/cache/runnerd-test/images

log() { printf '[debian-image] %s\n' "$*" >&2; }
# The daemon's own client: RUNNERD_BACKEND=incus imports into Incus, else into LXD.
lxc=lxc
[ "${RUNNERD_BACKEND:-lxd}" != incus ] || lxc=incus

# apt_sources, debian_mirror
# shellcheck source=SCRIPTDIR/../../../scripts/lib/apt-sources.sh
. "$root/scripts/lib/apt-sources.sh"

# The security archive this machine uses, if any (any release's -security suite).
security_mirror() {
  apt_sources | awk '$1 ~ /-security$/ && $2 ~ /^https?:\/\// { print $2; exit }' | sed 's:/*$::'
}

mirror=$(debian_mirror)
[ -n "$mirror" ] || { log "found no http:// Debian mirror in the apt sources (set RUNNERD_DEBIAN_MIRROR)"; exit 1; }
security=$(security_mirror)

recipe=$( { cat "$0" "$root/scripts/lib/apt-sources.sh"; echo "$suite $include"; echo "$mirror"; echo "$security"; } | sha256sum | cut -c1-16)
tarball=$cache_dir/debian$release-$recipe.tar.gz

image_fingerprint() { "$lxc" image info "$1" 2>/dev/null | awk '/^Fingerprint:/ { print $2; exit }'; }

mkdir -p "$cache_dir"
# One build at a time: a second run waits and then finds the image current.
exec 9>"$cache_dir/.debian$release.lock"
flock 9

current=$(image_fingerprint "$alias" || true)
if [ -n "$current" ] && [ "$("$lxc" image get-property "$alias" runnerd.recipe 2>/dev/null || true)" = "$recipe" ]; then
  log "image $alias is current (recipe $recipe)"
  exit 0
fi

work=
cleanup() {
  rm -f "$tarball.part"
  [ -n "$work" ] && [ -d "$work" ] || return 0
  # debootstrap mounts /proc and /sys inside the target and may leave them on failure:
  # unmount everything below the work dir, and never delete across a mount.
  awk -v w="$work" '$2 == w || index($2, w "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
    while read -r m; do umount -l "$m" 2>/dev/null || true; done
  rm -rf --one-file-system "$work" || log "could not remove $work"
}
trap cleanup EXIT

if [ -s "$tarball" ]; then
  log "reusing $tarball"
else
  command -v debootstrap >/dev/null 2>&1 || {
    [ "$(id -u)" = 0 ] || { log "need root to install debootstrap"; exit 1; }
    log "installing debootstrap"
    export DEBIAN_FRONTEND=noninteractive
    if ! apt-get install -y -qq debootstrap >/dev/null 2>&1; then
      apt-get update -qq
      apt-get install -y -qq debootstrap >/dev/null
    fi
  }
  # 9>&-: the cache daemon it may start must not inherit (and hold) the build lock.
  proxy=$(bash "$root/scripts/start-apt-cache.sh" 9>&-)
  work=$(mktemp -d "/var/tmp/runnerd-debian$release.XXXXXX")
  rootfs=$work/rootfs
  arch=$(dpkg --print-architecture)
  log "debootstrap $suite ($arch, minbase + $include) from $mirror via $proxy"
  started=$SECONDS
  if ! http_proxy=$proxy debootstrap --variant=minbase --arch="$arch" --include="$include" \
      "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 20 "$work/debootstrap.log" | sed 's/^/[debian-image]   /' >&2
    tail -n 20 "$rootfs/debootstrap/debootstrap.log" 2>/dev/null | sed 's/^/[debian-image]   /' >&2 || true
    log "debootstrap failed"
    exit 1
  fi
  log "debootstrap done in $((SECONDS - started)) s"

  # apt sources in deb822 style, as images:debian/<release> has them; no proxy settings stay behind.
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  stanza() {
    printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\n' "$1" "$2"
    [ ! -e "$rootfs$keyring" ] || printf 'Signed-By: %s\n' "$keyring"
  }
  rm -f "$rootfs/etc/apt/sources.list"
  mkdir -p "$rootfs/etc/apt/sources.list.d"
  {
    stanza "$mirror" "$suite $suite-updates"
    if [ -n "$security" ]; then echo; stanza "$security" "$suite-security"; fi
  } >"$rootfs/etc/apt/sources.list.d/debian.sources"

  # Identity: each container gets its own machine-id (systemd makes one at first boot) and its
  # own name (templates below); the files here are the fallback when templates do not apply.
  : >"$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  mkdir -p "$rootfs/var/lib/dbus"
  ln -s /etc/machine-id "$rootfs/var/lib/dbus/machine-id"
  echo debian >"$rootfs/etc/hostname"
  cat >"$rootfs/etc/hosts" <<'HOSTS'
127.0.0.1	localhost
127.0.1.1	debian
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
HOSTS
  # debootstrap copies the host's resolv.conf; the image has no network of its own.
  rm -f "$rootfs/etc/resolv.conf"
  : >"$rootfs/etc/resolv.conf"
  # Root has no password (locked: `lxc exec` needs none).
  sed -i 's/^root:[^:]*:/root:*:/' "$rootfs/etc/shadow"

  # Leave out what the next `apt-get update` or boot recreates anyway.
  rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb \
    "$rootfs"/var/cache/debconf/*-old "$rootfs"/var/lib/dpkg/*-old "$rootfs"/tmp/* "$rootfs"/var/tmp/*
  mkdir -p "$rootfs/var/lib/apt/lists/partial"
  find "$rootfs/var/log" -type f -exec truncate -s 0 {} +

  mkdir -p "$work/templates"
  echo '{{ container.name }}' >"$work/templates/hostname.tpl"
  cat >"$work/templates/hosts.tpl" <<'HOSTS'
127.0.0.1	localhost
127.0.1.1	{{ container.name }}
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
HOSTS
  cat >"$work/metadata.yaml" <<META
architecture: $(uname -m)
creation_date: $(date +%s)
properties:
  description: Debian $release ($suite) $arch minbase, systemd (runnerd test source image)
  os: debian
  release: $suite
  architecture: $arch
  variant: minbase
  runnerd.recipe: "$recipe"
templates:
  /etc/hostname:
    when: [create, copy]
    template: hostname.tpl
  /etc/hosts:
    when: [create, copy]
    template: hosts.tpl
META

  tar -C "$work" --numeric-owner --xattrs --xattrs-include='*' -czf "$tarball.part" \
    metadata.yaml templates rootfs
  mv -f "$tarball.part" "$tarball"
  for old in "$cache_dir"/debian$release-*.tar.gz; do
    [ "$old" = "$tarball" ] || rm -f "$old"
  done
  log "built $tarball ($(du -h "$tarball" | cut -f1))"
fi

# A unified image's fingerprint is the sha256 of its tarball.
fingerprint=$(sha256sum "$tarball" | cut -d' ' -f1)
if "$lxc" image info "$fingerprint" >/dev/null 2>&1; then
  log "image ${fingerprint:0:12} is already in ${RUNNERD_BACKEND:-lxd}"
elif [ -z "$current" ]; then
  "$lxc" image import "$tarball" --alias "$alias" runnerd.recipe="$recipe" >/dev/null
else
  "$lxc" image import "$tarball" runnerd.recipe="$recipe" >/dev/null
fi
# (Also when the image was there already: its property may have been changed by hand.)
"$lxc" image set-property "$fingerprint" runnerd.recipe "$recipe"
if [ "$(image_fingerprint "$alias" || true)" != "$fingerprint" ]; then
  "$lxc" image alias delete "$alias" >/dev/null 2>&1 || true
  "$lxc" image alias create "$alias" "$fingerprint" >/dev/null
fi
if [ -n "$current" ] && [ "$current" != "$fingerprint" ]; then
  log "replacing outdated image $alias (${current:0:12})"
  "$lxc" image delete "$current" >/dev/null 2>&1 || log "could not delete the old image ${current:0:12}"
fi
log "imported $alias (${fingerprint:0:12}, recipe $recipe, $(du -h "$tarball" | cut -f1))"
