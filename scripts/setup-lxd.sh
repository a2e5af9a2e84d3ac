#!/usr/bin/env bash
# Makes this machine ready for runnerd's LXD tests and demo, idempotently: installs LXD and
# btrfs-progs when missing, starts the daemon when it is not answering, and creates a btrfs
# storage pool on a loop file. Safe to rerun; changes nothing that is already in place.
#
#   RUNNERD_TEST_POOL   storage pool name          (default runnerd-test)
#   RUNNERD_TEST_POOL_SIZE  loop file size         (default 24GiB)
set -euo pipefail

pool=${RUNNERD_TEST_POOL:-runnerd-test}
pool_size=${RUNNERD_TEST_POOL_SIZE:-24GiB}

log() { printf '[setup-lxd] %s\n' "$*" >&2; }

need_install=()
command -v lxd >/dev/null 2>&1 || need_install+=(lxd lxd-client)
command -v lxc >/dev/null 2>&1 || need_install+=(lxd-client)
command -v mkfs.btrfs >/dev/null 2>&1 || need_install+=(btrfs-progs)
[ -x /bin/busybox ] && busybox --list 2>/dev/null | grep -qx wget || need_install+=(busybox-static)
if [ ${#need_install[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { log "need root to install: ${need_install[*]}"; exit 1; }
  log "installing ${need_install[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_install[@]}" >/dev/null
fi

socket=/var/lib/lxd/unix.socket
answering() { timeout 5 lxc query /1.0 >/dev/null 2>&1; }
if ! answering && [ -x /snap/bin/lxd ]; then
  # Ubuntu installs LXD as a snap (even through apt): the snap runs its own daemon.
  log "starting the LXD snap"
  snap start lxd >/dev/null 2>&1 || true
  timeout 60 /snap/bin/lxd waitready || true
fi
if ! answering; then
  if [ -d /run/systemd/system ] && systemctl cat lxd.service >/dev/null 2>&1; then
    log "starting lxd via systemd"
    systemctl start lxd.socket lxd.service || true
  fi
fi
if ! answering; then
  log "starting lxd in the background (log: /var/log/lxd/daemon.log)"
  mkdir -p /var/log/lxd
  # setsid: the daemon must outlive this script and the shell that ran it.
  setsid nohup lxd --group root >>/var/log/lxd/daemon.log 2>&1 < /dev/null &
  timeout 60 lxd waitready
fi
answering || { log "LXD does not answer on $socket"; exit 1; }

if ! lxc storage show "$pool" >/dev/null 2>&1; then
  log "creating btrfs storage pool $pool ($pool_size loop file)"
  lxc storage create "$pool" btrfs size="$pool_size" >/dev/null
fi
log "LXD $(lxd --version) ready; storage pool $pool ($(lxc storage get "$pool" source 2>/dev/null || echo '?'))"
