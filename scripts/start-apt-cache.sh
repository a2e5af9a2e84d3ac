#!/usr/bin/env bash
# Starts a local apt-cacher-ng on 127.0.0.1:3142 for building Debian images, idempotently:
# installs apt-cacher-ng when missing, runs it in the background with its own minimal config
# (no Remap-* lines: the stock config sends Debian to a mirror list whose hosts may not resolve,
# which shows up as "503 Host not found"), and waits until it fetches the Debian mirror's
# InRelease. When something already listens on the port, it is only checked, never restarted.
# The Debian mirror is the one this machine's apt sources use (or RUNNERD_DEBIAN_MIRROR).
#
#   RUNNERD_APT_CACHE_PORT  port on 127.0.0.1     (default 3142)
#
# Prints the proxy URL (and nothing else) on stdout:   http_proxy=$(scripts/start-apt-cache.sh)
set -euo pipefail

addr=127.0.0.1
port=${RUNNERD_APT_CACHE_PORT:-3142}
base=/var/cache/runnerd-test/apt-cache
conf=$base/conf
proxy=http://$addr:$port

log() { printf '[apt-cache] %s\n' "$*" >&2; }

# apt_sources, debian_mirror
# shellcheck source=SCRIPTDIR/lib/apt-sources.sh
. "$(dirname "$0")/lib/apt-sources.sh"

listening() { timeout 2 bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null; }
fetch_code() {
  curl -sS -o /dev/null -m 5 -w '%{http_code}' -x "$proxy" "$mirror/dists/bookworm/InRelease" 2>/dev/null || true
}
# Waits up to ~10 s for the cache to fetch InRelease through itself.
wait_answering() {
  local code='' deadline=$((SECONDS + 10))
  while :; do
    code=$(fetch_code)
    [ "$code" = 200 ] && return 0
    [ "$SECONDS" -lt "$deadline" ] || break
    sleep 0.5
  done
  log "no 200 for $mirror/dists/bookworm/InRelease through $proxy (last status: ${code:-none})"
  return 1
}

mirror=$(debian_mirror)
[ -n "$mirror" ] || {
  log "found no http:// Debian mirror in /etc/apt/sources.list{,.d/*} (set RUNNERD_DEBIAN_MIRROR)"
  exit 1
}

if listening; then
  log "something already listens on $addr:$port; checking it"
  wait_answering || { log "the process on $addr:$port is not a working cache for $mirror; left it alone"; exit 1; }
  log "cache at $proxy answers"
  echo "$proxy"
  exit 0
fi

if [ ! -x /usr/sbin/apt-cacher-ng ]; then
  [ "$(id -u)" = 0 ] || { log "need root to install apt-cacher-ng"; exit 1; }
  log "installing apt-cacher-ng"
  export DEBIAN_FRONTEND=noninteractive
  # Keep the package from starting its own daemon (stock config, all interfaces) on install.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod 755 "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  if ! apt-get install -y -qq apt-cacher-ng >/dev/null 2>&1; then
    log "install failed; updating the package lists and retrying"
    apt-get update -qq
    apt-get install -y -qq apt-cacher-ng >/dev/null
  fi
fi

mkdir -p "$conf" "$base/cache" "$base/log"
cat >"$conf/acng.conf" <<CONF
# Written by runnerd's scripts/start-apt-cache.sh; rewritten on every start.
CacheDir: $base/cache
LogDir: $base/log
SupportDir: /usr/lib/apt-cacher-ng
Port: $port
BindAddress: $addr
ExThreshold: 4
CONF

pid=$(cat "$base/pid" 2>/dev/null || true)
if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && grep -qa apt-cacher-ng "/proc/$pid/cmdline" 2>/dev/null; then
  log "apt-cacher-ng (pid $pid) is starting; waiting for it"
else
  log "starting apt-cacher-ng on $addr:$port (cache $base/cache, log $base/daemon.log)"
  # setsid: the daemon must outlive this script and the shell that ran it; its output goes to
  # the log so that $(...) around this script does not wait for it.
  setsid nohup /usr/sbin/apt-cacher-ng -c "$conf" ForeGround=1 PidFile="$base/pid" \
    SocketPath="$base/socket" >>"$base/daemon.log" 2>&1 </dev/null &
fi
if ! wait_answering; then
  tail -n 5 "$base/daemon.log" 2>/dev/null | sed 's/^/[apt-cache]   /' >&2 || true
  exit 1
fi
log "cache at $proxy answers (mirror $mirror)"
echo "$proxy"
