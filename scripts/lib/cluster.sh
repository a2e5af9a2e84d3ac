# Shared by scripts/setup-cluster.sh, scripts/teardown-cluster.sh and scripts/lib/cluster-member.sh:
# the names, addresses and daemon handling of the 3-member test cluster on this one host.
# shellcheck shell=bash
# The settings below are read by the scripts that source this file.
# shellcheck disable=SC2034
#
# Each member is a daemon of the backend (RUNNERD_BACKEND=lxd|incus, default lxd) with its own
# directory, running in its own network namespace on a bridge made for the test. LXD and Incus
# clusters may run at once: every name carries the backend.
#
#   RUNNERD_BACKEND          lxd or incus                      (default lxd)
#   RUNNERD_CLUSTER_ROOT     parent of the member directories  (default /var/lib/runnerd-cluster)
#   RUNNERD_CLUSTER_SUBNET   first three octets of the /24     (default 10.199.51 for lxd, 10.199.52 for incus)
#   RUNNERD_CLUSTER_POOL_SIZE  each member's loop file        (default 4GiB)

cl_backend=${RUNNERD_BACKEND:-lxd}
case "$cl_backend" in
  lxd | incus) ;;
  *) printf 'RUNNERD_BACKEND=%s: expected lxd or incus\n' "$cl_backend" >&2; exit 2 ;;
esac

cl_members=(m1 m2 m3)
cl_root=${RUNNERD_CLUSTER_ROOT:-/var/lib/runnerd-cluster}/$cl_backend
cl_bridge=rndcl-$cl_backend
cl_pool=runnerd-test
cl_pool_size=${RUNNERD_CLUSTER_POOL_SIZE:-4GiB}
cl_port=8443
if [ "$cl_backend" = lxd ]; then
  cl_subnet=${RUNNERD_CLUSTER_SUBNET:-10.199.51}
  cl_cli=lxc
  cl_dir_var=LXD_DIR
  cl_daemon=$(command -v lxd || echo /usr/bin/lxd)
else
  cl_subnet=${RUNNERD_CLUSTER_SUBNET:-10.199.52}
  cl_cli=incus
  cl_dir_var=INCUS_DIR
  cl_daemon=/usr/libexec/incus/incusd
  [ -x "$cl_daemon" ] || cl_daemon=$(command -v incusd || echo /usr/libexec/incus/incusd)
fi
cl_bridge_addr=$cl_subnet.1

cl_log() { printf '[cluster %s] %s\n' "$cl_backend" "$*" >&2; }
cl_die() { cl_log "error: $*"; exit 1; }

cl_ns() { echo "rndcl-$cl_backend-$1"; }
# Host end of the member's veth pair (at most 15 characters: rndcl-incus-m1).
cl_veth() { echo "rndcl-$cl_backend-$1"; }
cl_dir() { echo "$cl_root/$1"; }
cl_daemon_log() { echo "$cl_root/$1.log"; }
cl_addr() { echo "$cl_subnet.1${1#m}"; }

# The backend's CLI talking to MEMBER's daemon: cl_cli_on m1 cluster list
cl_cli_on() {
  local member=$1
  shift
  env -u LXD_SOCKET -u INCUS_SOCKET "$cl_dir_var=$(cl_dir "$member")" "$cl_cli" "$@"
}

# The member daemon's pid (the `lxd --group root` / `incusd --group root` process in its
# namespace, not its forks or the containers' monitors), or nothing.
cl_daemon_pid() {
  local ns pid
  ns=$(cl_ns "$1")
  [ -e "/run/netns/$ns" ] || return 0
  for pid in $(ip netns pids "$ns" 2>/dev/null); do
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "^$cl_daemon --group root" && { echo "$pid"; return 0; }
  done
  return 0
}

cl_answering() { timeout 5 env -u LXD_SOCKET -u INCUS_SOCKET "$cl_dir_var=$(cl_dir "$1")" "$cl_cli" query /1.0 >/dev/null 2>&1; }

# Starts MEMBER's daemon in its namespace, in the background, unless it runs already; waits until
# it answers. The daemon gets a private mount namespace (unshare) but keeps the host's /sys and
# cgroups (`ip netns exec` would remount /sys without them): its mounts (the btrfs pool) vanish
# with its processes, and nothing it mounts shows on the host.
cl_start_daemon() {
  local member=$1 ns dir log
  ns=$(cl_ns "$member")
  dir=$(cl_dir "$member")
  log=$(cl_daemon_log "$member")
  [ -e "/run/netns/$ns" ] || cl_die "network namespace $ns is missing"
  mkdir -p "$dir"
  chmod 711 "$dir"
  if [ -z "$(cl_daemon_pid "$member")" ]; then
    printf '\n=== %s starting %s in %s\n' "$(date -u +%FT%TZ)" "$cl_daemon" "$ns" >>"$log"
    # setsid: the daemon outlives this script and whatever ran it (a test, a shell).
    nsenter --net="/run/netns/$ns" unshare --mount --propagation slave \
      setsid env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root "$cl_dir_var=$dir" \
      "$cl_daemon" --group root </dev/null >>"$log" 2>&1 &
  fi
  if [ "$cl_backend" = lxd ]; then
    env "LXD_DIR=$dir" lxd waitready --timeout=60 || cl_die "$member did not become ready in 60 s (log: $log)"
  else
    env "INCUS_DIR=$dir" incus admin waitready --timeout=60 || cl_die "$member did not become ready in 60 s (log: $log)"
  fi
}

# Sends SIGNAL (default KILL) to MEMBER's daemon and waits until it has exited.
cl_kill_daemon() {
  local member=$1 signal=${2:-KILL} pid i
  pid=$(cl_daemon_pid "$member")
  [ -n "$pid" ] || return 0
  kill "-$signal" "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    [ -e "/proc/$pid" ] || return 0
    sleep 0.1
  done
  cl_die "$member's daemon (pid $pid) did not exit after SIG$signal"
}

# The members' status as "NAME STATUS" lines, as MEMBER sees it (nothing when it cannot tell).
cl_member_status() {
  timeout 10 env -u LXD_SOCKET -u INCUS_SOCKET "$cl_dir_var=$(cl_dir "$1")" "$cl_cli" query '/1.0/cluster/members?recursion=1' 2>/dev/null \
    | jq -r '.[] | "\(.server_name) \(.status)"' 2>/dev/null || true
}

# Waits (at most SECONDS) until MEMBER is Online as seen from VIA.
cl_wait_online() {
  local member=$1 via=$2 seconds=${3:-60}
  for _ in $(seq "$((seconds * 2))"); do
    cl_member_status "$via" | grep -qx "$member Online" && return 0
    sleep 0.5
  done
  return 1
}

# Every process of MEMBER, SIGKILLed: the containers' processes (children of the `[lxc monitor]`
# processes that name the member's directory; they live in namespaces of their own), the monitors,
# and whatever else runs in the member's network namespace (the daemon and its forks).
cl_kill_member_processes() {
  local member=$1 dir ns pids monitors pid i
  dir=$(cl_dir "$member")
  ns=$(cl_ns "$member")
  monitors=$(ps -eo pid=,args= | awk -v d="$dir/" 'index($0, "[lxc monitor] " d) { print $1 }')
  pids=""
  for pid in $monitors; do pids="$pids $(ps -o pid= --ppid "$pid" | tr '\n' ' ')"; done
  # Each container's init first (its processes follow it), then the monitors, then the namespace.
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in $monitors; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ -e "/run/netns/$ns" ]; then
    pids="$pids $monitors $(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')"
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
  fi
  for _ in $(seq 100); do
    local alive=""
    for pid in $pids; do [ ! -e "/proc/$pid" ] || alive="$alive $pid"; done
    [ -n "$alive" ] || return 0
    pids=$alive
    sleep 0.1
  done
  cl_log "warning: processes of $member still alive after SIGKILL:$pids"
}

# Best effort, through whichever member still answers: deletes every instance of the cluster, so
# that no container outlives its daemon.
cl_delete_all_instances() {
  local member names
  for member in "${cl_members[@]}"; do
    if [ -z "$(cl_daemon_pid "$member")" ] || ! cl_answering "$member"; then continue; fi
    names=$(timeout 20 env -u LXD_SOCKET -u INCUS_SOCKET "$cl_dir_var=$(cl_dir "$member")" "$cl_cli" query '/1.0/instances' 2>/dev/null \
      | jq -r '.[]' 2>/dev/null | sed 's|.*/||') || continue
    local name
    for name in $names; do
      timeout 30 env -u LXD_SOCKET -u INCUS_SOCKET "$cl_dir_var=$(cl_dir "$member")" "$cl_cli" delete --force "$name" >/dev/null 2>&1 \
        || cl_log "warning: could not delete instance $name through $member"
    done
    return 0
  done
}

# Removes everything the cluster of this backend made on the host; safe to run on any leftover.
cl_teardown() {
  local member ns veth dir loop target
  [ -d "$cl_root" ] && cl_delete_all_instances
  # In parallel: a killed daemon takes a second or two to go (its namespace's btrfs is unmounted).
  for member in "${cl_members[@]}"; do cl_kill_member_processes "$member" & done
  wait
  # The daemons mounted in private namespaces that died with them; this catches anything else.
  findmnt -rn -o TARGET | awk -v r="$cl_root/" 'index($0, r) == 1' | sort -r | while read -r target; do
    umount -l "$target" 2>/dev/null || cl_log "warning: could not unmount $target"
  done
  losetup -n -l -O NAME,BACK-FILE 2>/dev/null | awk -v r="$cl_root/" 'index($2, r) == 1 { print $1 }' | while read -r loop; do
    losetup -d "$loop" 2>/dev/null || cl_log "warning: could not detach $loop"
  done
  for member in "${cl_members[@]}"; do
    ns=$(cl_ns "$member")
    veth=$(cl_veth "$member")
    [ ! -e "/sys/class/net/$veth" ] || ip link del "$veth"
    [ ! -e "/run/netns/$ns" ] || ip netns del "$ns"
  done
  [ ! -e "/sys/class/net/$cl_bridge" ] || ip link del "$cl_bridge"
  if [ -d "$cl_root" ]; then
    rm -rf "$cl_root"
    rmdir "$(dirname "$cl_root")" 2>/dev/null || true
  fi
  # Loop devices whose file is gone show "(deleted)": autoclear frees them once unmounted.
  for loop in $(losetup -n -l -O NAME,BACK-FILE 2>/dev/null | awk -v r="$cl_root/" 'index($2, r) == 1 { print $1 }'); do
    cl_log "warning: loop device $loop is still attached: $(losetup -n -l -O BACK-FILE "$loop")"
  done
  return 0
}
