#!/usr/bin/env bash
# Removes the test cluster scripts/setup-cluster.sh built for RUNNERD_BACKEND (lxd|incus, default
# incus): its instances, the member daemons (by the pids in their network namespaces) and the
# containers they ran, the veths, namespaces and bridge, the member directories and their loop
# devices. Idempotent: safe on a half-built or already removed cluster.
#
#   usage: RUNNERD_BACKEND=lxd|incus scripts/teardown-cluster.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/lib/cluster.sh
. "$here/lib/cluster.sh"

[ "$(id -u)" = 0 ] || cl_die "run as root"
started=$(date +%s.%N)
cl_teardown
cl_log "removed in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
