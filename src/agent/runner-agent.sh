#!/bin/sh
# runnerd agent: runs once at boot inside a runner instance (as root), configures the GitHub
# runner as an unprivileged user, runs exactly one job, records the result and powers off.
# POSIX sh; must also work under busybox. Contract: see docs/architecture.md, "Instance contract".
#
# In:   /opt/runnerd/runner.json  (0600, written by runnerd before first start; deleted here
#                                  as soon as it has been read)
# Out:  /var/lib/runnerd/status   (state=booting|configuring|idle|busy|finished, at=, job=)
#       /var/lib/runnerd/result.json, /var/lib/runnerd/logs.tar.gz (agent.log, runner.log, diag/:
#                                  the runner's _diag)
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

CONF=${RUNNERD_CONF:-/opt/runnerd/runner.json}
VAR=${RUNNERD_VAR:-/var/lib/runnerd}
RUNNER_DIR=${RUNNERD_RUNNER_DIR:-/opt/actions-runner}
RUNNER_USER=${RUNNERD_RUNNER_USER:-runner}
POWEROFF=${RUNNERD_POWEROFF:-1}

mkdir -p "$VAR/diag"
chmod 0755 "$VAR"
LOG=$VAR/agent.log
: >"$LOG"

started_at=$(date +%s)
configured_at=""
listening_at=""
job_started_at=""
job_name=""
job_result=""
exit_code=""
outcome="failed"
error=""

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG"; }

# Status is replaced atomically so runnerd never reads half a file.
set_status() {
  printf 'state=%s\nat=%s\njob=%s\n' "$1" "$(date +%s)" "$job_name" >"$VAR/status.tmp"
  mv -f "$VAR/status.tmp" "$VAR/status"
}

json_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g' | tr -d '\n\r')"; }
json_number_or_null() { if [ -n "$1" ]; then printf '%s' "$1"; else printf 'null'; fi; }

finish() {
  trap - EXIT INT TERM
  if [ -d "$RUNNER_DIR/_diag" ]; then cp -R "$RUNNER_DIR/_diag/." "$VAR/diag/" 2>/dev/null; fi
  job_seen=false
  [ -n "$job_started_at" ] && job_seen=true
  {
    printf '{"exit_code":%s,' "$(json_number_or_null "$exit_code")"
    printf '"outcome":%s,' "$(json_string "$outcome")"
    printf '"job_seen":%s,"job_name":%s,"job_result":%s,' "$job_seen" "$(json_string "$job_name")" "$(json_string "$job_result")"
    printf '"error":%s,' "$(json_string "$error")"
    printf '"started_at":%s,"configured_at":%s,"listening_at":%s,"job_started_at":%s,"finished_at":%s}\n' \
      "$started_at" "$(json_number_or_null "$configured_at")" "$(json_number_or_null "$listening_at")" \
      "$(json_number_or_null "$job_started_at")" "$(date +%s)"
  } >"$VAR/result.json.tmp"
  mv -f "$VAR/result.json.tmp" "$VAR/result.json"
  log "finished: outcome=$outcome exit_code=$exit_code ${error:+error=$error}"
  # One archive for runnerd to pull: each file read through LXD costs it a helper process.
  : >>"$VAR/runner.log"
  (cd "$VAR" && tar -czf logs.tar.gz.tmp agent.log runner.log diag 2>/dev/null; mv -f logs.tar.gz.tmp logs.tar.gz)
  set_status finished
  # No sync: runnerd reads these files through the same host kernel, page cache included, and
  # a global sync would wait for every dirty page on the host.
  if [ "$POWEROFF" = 1 ]; then
    # Whatever happened, the instance must stop: runnerd collects and deletes it then. Forced:
    # nothing in it is worth a clean shutdown, and a clean one keeps LXD busy for seconds.
    poweroff -f 2>/dev/null || poweroff 2>/dev/null || kill -USR2 1 2>/dev/null || halt -f
  fi
  exit 0
}
fail() { error=$1; log "error: $1"; finish; }
trap finish EXIT
trap 'error="agent interrupted"; finish' INT TERM

# runner.json is written by runnerd with one key per line and values free of quotes and
# backslashes (runnerd refuses others), so sed is enough to read it under busybox.
conf_value() { sed -n "s/^  \"$1\": \"\(.*\)\",\{0,1\}\$/\1/p" "$CONF" | head -n 1; }

set_status booting
[ -f "$CONF" ] || fail "no runner configuration at $CONF"
url=$(conf_value url)
name=$(conf_value name)
labels=$(conf_value labels)
group=$(conf_value runner_group)
no_default_labels=$(conf_value no_default_labels)
token=$(conf_value token)
jitconfig=$(conf_value jitconfig)
work=$(conf_value work_folder)
# The secret leaves the disk before any job can run in this instance.
rm -f "$CONF"
[ -n "$url" ] && [ -n "$name" ] || fail "runner configuration lacks url or name"
[ -n "$token" ] || [ -n "$jitconfig" ] || fail "runner configuration has neither token nor jitconfig"
[ -d "$RUNNER_DIR" ] || fail "no runner installed at $RUNNER_DIR"
id "$RUNNER_USER" >/dev/null 2>&1 || fail "no user $RUNNER_USER in the image"

# Runs a command in the runner directory as the unprivileged runner user. Secrets travel in
# ACTIONS_RUNNER_INPUT_* variables, which the runner reads and unsets, never in argv (ps shows argv).
as_runner() {
  if command -v runuser >/dev/null 2>&1; then
    runuser -u "$RUNNER_USER" -- env HOME="$(runner_home)" "$@"
  else
    # busybox su would take the runner's own flags as its options: pass one quoted command.
    cmd="cd $(shell_quote "$RUNNER_DIR") && exec env HOME=$(shell_quote "$(runner_home)")"
    for arg in "$@"; do cmd="$cmd $(shell_quote "$arg")"; done
    su -s /bin/sh -c "$cmd" "$RUNNER_USER"
  fi
}
shell_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
runner_home() { awk -F: -v u="$RUNNER_USER" '$1 == u { print $6 }' /etc/passwd; }

cd "$RUNNER_DIR" || fail "cannot enter $RUNNER_DIR"
if [ -n "$token" ]; then
  set_status configuring
  log "configuring runner $name for $url"
  set -- ./config.sh --unattended --ephemeral --disableupdate --replace --url "$url" --name "$name" --work "${work:-_work}"
  [ -n "$labels" ] && set -- "$@" --labels "$labels"
  [ -n "$group" ] && set -- "$@" --runnergroup "$group"
  # config.sh refuses --no-default-labels without --labels; runnerd's pools always have some then.
  [ "$no_default_labels" = true ] && [ -n "$labels" ] && set -- "$@" --no-default-labels
  ACTIONS_RUNNER_INPUT_TOKEN=$token as_runner "$@" >>"$LOG" 2>&1
  rc=$?
  token=""
  [ "$rc" = 0 ] || { exit_code=$rc; outcome="config-failed"; fail "config.sh exited with $rc"; }
  configured_at=$(date +%s)
  set -- ./run.sh
else
  configured_at=$(date +%s)
  set -- ./run.sh
fi
# The real listener reports its own exit code only when run directly (run.sh maps codes to 0).
if [ -x ./bin/Runner.Listener ]; then
  set -- ./bin/Runner.Listener run
fi

log "starting runner${jitconfig:+ with its just-in-time config}"
rcfile=$VAR/.runner-exit
rm -f "$rcfile"
# A JIT config travels like the token above: in ACTIONS_RUNNER_INPUT_JITCONFIG, which the runner
# reads and removes, never in argv. It is single-use: once the runner has its session, it is spent.
run_runner() {
  if [ -n "$jitconfig" ]; then ACTIONS_RUNNER_INPUT_JITCONFIG=$jitconfig as_runner "$@"; else as_runner "$@"; fi
}
{ run_runner "$@" 2>&1; echo $? >"$rcfile"; } | while IFS= read -r line; do
  printf '%s\n' "$line" >>"$VAR/runner.log"
  case $line in
    *"Listening for Jobs"*)
      listening_at=$(date +%s)
      printf '%s\n' "$listening_at" >"$VAR/.listening_at"
      set_status idle
      ;;
    *"Running job: "*)
      job_name=${line#*Running job: }
      printf '%s\n%s\n' "$(date +%s)" "$job_name" >"$VAR/.job"
      set_status busy
      ;;
    *"completed with result: "*)
      printf '%s\n' "${line##*completed with result: }" >"$VAR/.job_result"
      ;;
  esac
done
# The loop ran in a subshell: read back what it saw.
jitconfig=""
[ -f "$VAR/.listening_at" ] && listening_at=$(cat "$VAR/.listening_at")
if [ -f "$VAR/.job" ]; then
  job_started_at=$(sed -n 1p "$VAR/.job")
  job_name=$(sed -n 2p "$VAR/.job")
fi
[ -f "$VAR/.job_result" ] && job_result=$(cat "$VAR/.job_result")
exit_code=$(cat "$rcfile" 2>/dev/null)
if [ "$exit_code" = 0 ] && [ -n "$job_started_at" ]; then
  outcome=succeeded
elif [ "$exit_code" = 0 ]; then
  outcome=no-job
else
  outcome=failed
  error="runner exited with ${exit_code:-unknown code}"
fi
finish
