#!/usr/bin/env bash
# Builds a 3-member test cluster of LXD 5.0 or Incus 6.0 on this one host (issue 14 item 7) and
# imports the busybox test image into it. Each member (m1, m2, m3) is a daemon with its own
# directory under /var/lib/runnerd-cluster/BACKEND/, running in its own network namespace with a
# veth on a bridge made for the test: addresses in one free private /24 on those links only, no
# NAT, no default route. The host's own LXD and Incus are not touched.
#
# Idempotent: a healthy cluster is kept; a complete cluster with stopped members (a test that
# killed one, a reboot) is restarted; anything else left over is torn down and built again.
# Prints shell-sourceable RUNNERD_CLUSTER_* lines on stdout; progress goes to stderr.
#
#   usage: RUNNERD_BACKEND=lxd|incus scripts/setup-cluster.sh      (default lxd, as everywhere)
#   see scripts/lib/cluster.sh for the other settings
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib/cluster.sh
. "$here/lib/cluster.sh"

started=$(date +%s.%N)
elapsed() { awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }'; }

[ "$(id -u)" = 0 ] || cl_die "run as root (network namespaces, loop devices)"
# The tools a fresh Debian may lack, from its own archive (the backend itself comes from
# scripts/setup-$cl_backend.sh).
missing=()
for pair in ip:iproute2 nsenter:util-linux unshare:util-linux losetup:mount findmnt:util-linux jq:jq mkfs.btrfs:btrfs-progs; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf '[cluster %s] installing %s\n' "$cl_backend" "${missing[*]}" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
    cl_die "could not install ${missing[*]}"
fi
for tool in ip nsenter unshare jq mkfs.btrfs losetup findmnt "$cl_cli" "$cl_daemon"; do
  command -v "$tool" >/dev/null 2>&1 || cl_die "$tool is missing (scripts/setup-$cl_backend.sh installs the backend)"
done
complete_marker=$cl_root/complete

ip_to_int() {
  local IFS=. a b c d
  read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

# Whether CIDR (a.b.c.d/len) overlaps the cluster's /24.
overlaps_subnet() {
  local addr=${1%/*} len=${1#*/} ours min mask
  [ "$len" != "$1" ] || len=32
  ours=$(ip_to_int "$cl_subnet.0")
  min=$((len < 24 ? len : 24))
  mask=$(((0xffffffff << (32 - min)) & 0xffffffff))
  [ "$min" -eq 0 ] || [ $(($(ip_to_int "$addr") & mask)) -eq $((ours & mask)) ]
}

# The /24 must not be used by any interface or route of this machine but the cluster's own bridge.
check_subnet_free() {
  local dev cidr line
  [[ "$cl_subnet" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || cl_die "RUNNERD_CLUSTER_SUBNET=$cl_subnet: expected the first three octets, e.g. 10.199.52"
  while read -r _ dev _ cidr _; do
    [ "$dev" != "$cl_bridge" ] || continue
    ! overlaps_subnet "$cidr" || cl_die "$cl_subnet.0/24 is in use: address $cidr on $dev (set RUNNERD_CLUSTER_SUBNET to a free /24)"
  done < <(ip -4 -o addr show)
  while read -r line; do
    cidr=${line%% *}
    case "$cidr" in default | unreachable | prohibit | blackhole | broadcast | local) continue ;; esac
    [[ " $line " != *" dev $cl_bridge "* ]] || continue
    ! overlaps_subnet "$cidr" || cl_die "$cl_subnet.0/24 is in use: route '$line' (set RUNNERD_CLUSTER_SUBNET to a free /24)"
  done < <(ip -4 route show table all | grep -v '^local \|^broadcast ')
}

create_network() {
  local member ns veth
  ip link add "$cl_bridge" type bridge
  ip addr add "$cl_bridge_addr/24" dev "$cl_bridge"
  ip link set "$cl_bridge" up
  for member in "${cl_members[@]}"; do
    ns=$(cl_ns "$member")
    veth=$(cl_veth "$member")
    ip netns add "$ns"
    ip link add "$veth" type veth peer name "${veth}p"
    ip link set "${veth}p" netns "$ns"
    ip link set "$veth" master "$cl_bridge"
    ip link set "$veth" up
    ip -n "$ns" link set lo up
    ip -n "$ns" link set "${veth}p" name eth0
    ip -n "$ns" addr add "$(cl_addr "$member")/24" dev eth0
    ip -n "$ns" link set eth0 up
  done
}

bootstrap_first() {
  cl_start_daemon m1
  local preseed
  preseed="config:
  core.https_address: $(cl_addr m1):$cl_port
  images.auto_update_interval: \"0\"
storage_pools:
- name: $cl_pool
  driver: btrfs
  config:
    size: $cl_pool_size
profiles:
- name: default
  devices:
    root:
      path: /
      pool: $cl_pool
      type: disk
cluster:
  server_name: m1
  enabled: true"
  if [ "$cl_backend" = lxd ]; then
    env "LXD_DIR=$(cl_dir m1)" lxd init --preseed <<<"$preseed"
  else
    env "INCUS_DIR=$(cl_dir m1)" incus admin init --preseed <<<"$preseed"
  fi
  # Members are declared offline after this many seconds without a heartbeat (default 20); 10 is
  # the lowest value: both LXD 5.0 and Incus 6.0 answer "Value must be greater than '10'" to 10, so tests of a dying member wait less.
  cl_cli_on m1 config set cluster.offline_threshold 11
}

join_member() {
  local member=$1 token preseed
  cl_start_daemon "$member"
  token=$(cl_cli_on m1 cluster add "$member" --quiet)
  preseed="cluster:
  enabled: true
  server_name: $member
  server_address: $(cl_addr "$member"):$cl_port
  cluster_address: $(cl_addr m1):$cl_port
  cluster_token: $token
  member_config:
  - entity: storage-pool
    name: $cl_pool
    key: size
    value: $cl_pool_size"
  if [ "$cl_backend" = lxd ]; then
    env "LXD_DIR=$(cl_dir "$member")" lxd init --preseed <<<"$preseed"
  else
    env "INCUS_DIR=$(cl_dir "$member")" incus admin init --preseed <<<"$preseed"
  fi
}

all_online() {
  local via=m1
  [ "$(cl_member_status "$via" | grep -c ' Online$')" -eq "${#cl_members[@]}" ]
}

network_present() {
  local member
  [ -e "/sys/class/net/$cl_bridge" ] || return 1
  for member in "${cl_members[@]}"; do
    [ -e "/run/netns/$(cl_ns "$member")" ] && [ -e "/sys/class/net/$(cl_veth "$member")" ] || return 1
  done
}

# A complete cluster whose daemons stopped: start them again (all of them before waiting: a lone
# member cannot elect a database leader).
repair() {
  local member
  network_present || return 1
  for member in "${cl_members[@]}"; do
    [ -n "$(cl_daemon_pid "$member")" ] && continue
    cl_log "starting stopped member $member"
    ( cl_start_daemon "$member" ) &
  done
  wait || true
  for member in "${cl_members[@]}"; do cl_wait_online "$member" m1 90 || return 1; done
}

daemons_answering() {
  local member
  for member in "${cl_members[@]}"; do
    [ -n "$(cl_daemon_pid "$member")" ] && cl_answering "$member" || return 1
  done
}

if [ -e "$complete_marker" ] && network_present && daemons_answering && all_online; then
  cl_log "cluster is up: $(cl_member_status m1 | tr '\n' ' ')"
elif [ -e "$complete_marker" ] && repair && all_online; then
  cl_log "cluster repaired: $(cl_member_status m1 | tr '\n' ' ')"
else
  if [ -e "$cl_root" ] || [ -e "/sys/class/net/$cl_bridge" ] || [ -e "/run/netns/$(cl_ns m1)" ]; then
    cl_log "removing an incomplete or broken cluster"
    cl_teardown
  fi
  check_subnet_free
  cl_log "building the cluster on $cl_subnet.0/24 (bridge $cl_bridge)"
  create_network
  bootstrap_first
  cl_log "m1 bootstrapped ($(elapsed) s)"
  for member in "${cl_members[@]:1}"; do
    join_member "$member"
    cl_log "$member joined ($(elapsed) s)"
  done
  for member in "${cl_members[@]}"; do cl_wait_online "$member" m1 60 || cl_die "$member is not Online: $(cl_member_status m1 | tr '\n' ' ')"; done
  touch "$complete_marker"
fi

# The test image, imported once through m1: the project's own script, pointed at m1 by the CLI's
# directory variable; the cluster replicates images to the members that need them.
env -u LXD_SOCKET -u INCUS_SOCKET "RUNNERD_BACKEND=$cl_backend" "$cl_dir_var=$(cl_dir m1)" \
  bash "$here/../src/emulator/images/build-busybox-image.sh" runnerd-test/busybox

cl_log "ready in $(elapsed) s: $(cl_member_status m1 | tr '\n' ' ')"
echo "RUNNERD_CLUSTER_BACKEND=$cl_backend"
echo "RUNNERD_CLUSTER_DIR=$cl_root"
echo "RUNNERD_CLUSTER_SOCKET=$(cl_dir m1)/unix.socket"
for member in "${cl_members[@]}"; do
  echo "RUNNERD_CLUSTER_SOCKET_$(echo "$member" | tr '[:lower:]' '[:upper:]')=$(cl_dir "$member")/unix.socket"
done
