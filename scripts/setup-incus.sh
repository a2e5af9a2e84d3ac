#!/usr/bin/env bash
# Makes this machine ready for runnerd's tests on Incus, idempotently, like scripts/setup-lxd.sh
# does for LXD: installs Incus and btrfs-progs when missing (on Debian 12 from bookworm-backports,
# added to the apt sources from the machine's own Debian source), starts the daemon when it is not
# answering, and creates a btrfs storage pool on a loop file. LXD and Incus run side by side:
# each daemon has its own socket, its own loop file and its own pool of the same name.
#
#   RUNNERD_TEST_POOL        storage pool name       (default runnerd-test)
#   RUNNERD_TEST_POOL_SIZE   loop file size          (default 24GiB)
set -euo pipefail

pool=${RUNNERD_TEST_POOL:-runnerd-test}
pool_size=${RUNNERD_TEST_POOL_SIZE:-24GiB}
socket=/var/lib/incus/unix.socket
backports_list=/etc/apt/sources.list.d/runnerd-backports.sources

log() { printf '[setup-incus] %s\n' "$*" >&2; }

# apt_sources
# shellcheck source=SCRIPTDIR/lib/apt-sources.sh
. "$(dirname "$0")/lib/apt-sources.sh"

# Debian 12 has Incus (6.0 LTS) only in bookworm-backports; later releases have it in main.
codename=$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")

# Adds SUITE-backports from the URI the machine already uses for SUITE (nothing written here names
# a mirror). Leaves an existing backports entry alone.
add_backports() {
  local suite=$1 uri keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  apt_sources | awk -v s="$suite-backports" '$1 == s { found = 1 } END { exit !found }' && return 0
  uri=$(apt_sources | awk -v s="$suite" '$1 == s { print $2; exit }')
  [ -n "$uri" ] || { log "no apt source serves $suite: cannot add $suite-backports"; return 1; }
  log "adding $suite-backports from $uri to $backports_list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\n' "$uri" "$suite"
    [ ! -e "$keyring" ] || printf 'Signed-By: %s\n' "$keyring"
  } >"$backports_list"
}

need_install=()
command -v incus >/dev/null 2>&1 || need_install+=(incus-client)
[ -x /usr/libexec/incus/incusd ] || command -v incusd >/dev/null 2>&1 || need_install+=(incus)
command -v mkfs.btrfs >/dev/null 2>&1 || need_install+=(btrfs-progs)
# The test images' userland (src/emulator/images/build-busybox-image.sh).
[ -x /bin/busybox ] && busybox --list 2>/dev/null | grep -qx wget || need_install+=(busybox-static)
if [ ${#need_install[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "need root to install: ${need_install[*]}"; exit 1; }
  export DEBIAN_FRONTEND=noninteractive
  target=()
  if [ "$codename" = bookworm ]; then
    add_backports bookworm
    target=(-t bookworm-backports)
  fi
  log "installing ${need_install[*]}${target:+ from ${target[1]}}"
  apt-get update -qq
  # No recommends: they bring QEMU and OVMF for virtual machines, which runnerd does not use.
  apt-get install -y -qq --no-install-recommends "${target[@]}" "${need_install[@]}" >/dev/null
fi

incusd=/usr/libexec/incus/incusd
[ -x "$incusd" ] || incusd=$(command -v incusd)
answering() { timeout 5 incus query /1.0 >/dev/null 2>&1; }
if ! answering && [ -d /run/systemd/system ] && systemctl cat incus.service >/dev/null 2>&1; then
  log "starting incus via systemd"
  systemctl start incus.socket incus.service || true
fi
if ! answering; then
  log "starting incusd in the background (log: /var/log/incus/daemon.log)"
  mkdir -p /var/log/incus
  # setsid: the daemon must outlive this script and the shell that ran it.
  setsid nohup "$incusd" --group root >>/var/log/incus/daemon.log 2>&1 </dev/null &
  timeout 60 incus admin waitready
fi
answering || { log "Incus does not answer on $socket"; exit 1; }

if ! incus storage show "$pool" >/dev/null 2>&1; then
  log "creating btrfs storage pool $pool ($pool_size loop file)"
  incus storage create "$pool" btrfs size="$pool_size" >/dev/null
fi
version=$(incus query /1.0 | sed -n 's/.*"server_version": *"\([^"]*\)".*/\1/p' | head -n1)
log "Incus ${version:-?} ready; storage pool $pool ($(incus storage get "$pool" source 2>/dev/null || echo '?'))"
