#!/usr/bin/env bash
# One member of the test cluster (scripts/setup-cluster.sh), for test/support/cluster-harness.ts:
#
#   cluster-member.sh pid MEMBER                the daemon's pid, or nothing
#   cluster-member.sh kill MEMBER               SIGKILL the daemon (the host "dies"; its containers run on)
#   cluster-member.sh start MEMBER [SECONDS]    start it again in its namespace; wait until the
#                                               cluster shows it Online (default 120 s)
#
# RUNNERD_BACKEND picks the cluster (lxd|incus, default lxd).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=SCRIPTDIR/cluster.sh
. "$here/cluster.sh"

action=${1:-}
member=${2:-}
[[ " ${cl_members[*]} " == *" $member "* ]] || cl_die "usage: cluster-member.sh pid|kill|start MEMBER (one of ${cl_members[*]})"

case "$action" in
  pid) cl_daemon_pid "$member" ;;
  kill) cl_kill_daemon "$member" KILL ;;
  start)
    cl_start_daemon "$member"
    cl_wait_online "$member" "$member" "${3:-120}" || cl_die "$member is not Online after ${3:-120} s: $(cl_member_status "$member" | tr '\n' ' ')"
    ;;
  *) cl_die "usage: cluster-member.sh pid|kill|start MEMBER" ;;
esac
