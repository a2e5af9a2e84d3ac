#!/bin/sh
# runnerd agent: runs once at boot inside a runner instance (as root), configures the GitHub
# runner as an unprivileged user, supervises its listener until it ran one job (or cannot), records
# the result and powers off. POSIX sh; must also work under busybox and dash. Contract: see
# docs/architecture.md, "Instance contract".
#
# In:   /opt/runnerd/runner.json  (0600, written by runnerd before first start; deleted on every
#                                  path, by the short-lived process that reads its secret)
# Out:  /var/lib/runnerd/status   (state=booting|configuring|idle|busy|finished, at=, job=)
#       /var/lib/runnerd/result.json, /var/lib/runnerd/logs.tar.gz (agent.log, runner.log, diag/:
#                                  the runner's _diag)
#
# result.json: one line of JSON, read by runnerd (src/pools/runner-record.ts). Fields:
#   exit_code       number|null  the listener's last exit code (config.sh's when that failed)
#   outcome         string       succeeded | no-job | failed | config-failed | runner-deprecated
#   end             string       how the runner ended; outcome follows from it:
#     job-done              listener exited 0 after "Running job:"                -> succeeded
#     no-job                listener exited 0 without a job                       -> no-job
#     registration-deleted  exited 0 after "The runner no longer exists on the server" -> no-job
#     deprecated            exit 7, or exit 1 after "... is deprecated and cannot receive
#                           messages" (runners before 2.333.0 always exit 1)        -> runner-deprecated
#     session-conflict      exit 5: another listener holds this runner's session  -> failed
#     restart-limit         more than 3 self-updates, 5 retryable errors or 5
#                           configuration refreshes                               -> failed
#     config-failed         config.sh failed                                      -> config-failed
#     failed                anything else: exit 1, an unknown code, a restart
#                           needed after a job, no listener, the agent's own error -> failed
#   updates         number       self-updates the listener did (exit 3 or 4), each followed by a restart
#   retries         number       retryable errors (exit 2), each followed by a pause and a restart
#   refreshes       number       configuration refreshes (exit 6), each followed by a restart
#   runner_version  string|null  the last "Current runner version: 'X'" the listener printed
#   job_seen        boolean      job_name, job_result  strings ("" when none)
#   error           string       what went wrong ("" when nothing did)
#   started_at, finished_at      numbers, configured_at, listening_at (the first "Listening for
#                                Jobs"), job_started_at  numbers or null: seconds since the epoch
set -u
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

CONF=${RUNNERD_CONF:-/opt/runnerd/runner.json}
VAR=${RUNNERD_VAR:-/var/lib/runnerd}
RUNNER_DIR=${RUNNERD_RUNNER_DIR:-/opt/actions-runner}
RUNNER_USER=${RUNNERD_RUNNER_USER:-runner}
POWEROFF=${RUNNERD_POWEROFF:-1}
# run-helper.sh.template's pause after exit 2 and wait for update.finished after 3/4 (tests shorten them).
RETRY_PAUSE=${RUNNERD_RETRY_PAUSE:-5}
UPDATE_WAIT=${RUNNERD_UPDATE_WAIT:-30}
# A hostile or broken runner must not loop forever.
MAX_UPDATES=3
MAX_RETRIES=5
MAX_REFRESHES=5

# A second boot (LXD or Incus started the instance again: a manual start, a host that revived it
# although runnerd sets boot.autostart=false) must leave the first boot's result, status and logs
# as they are for runnerd to collect, and stop at once: it has no configuration to run with.
if [ -e "$VAR/.booted" ] || [ -e "$VAR/result.json" ]; then
  echo "runnerd agent: this instance has booted before; powering off without touching its result" >&2
  rm -f "$CONF"
  if [ "$POWEROFF" = 1 ]; then poweroff -f 2>/dev/null || poweroff 2>/dev/null || kill -USR2 1 2>/dev/null || halt -f; fi
  exit 0
fi
mkdir -p "$VAR/diag"
chmod 0755 "$VAR"
: >"$VAR/.booted"
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
end="failed"
error=""
updates=0
retries=0
refreshes=0
runner_version=""

log() { printf '%s %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >>"$LOG"; }

# Status is replaced atomically so runnerd never reads half a file.
set_status() {
  printf 'state=%s\nat=%s\njob=%s\n' "$1" "$(date +%s)" "$job_name" >"$VAR/status.tmp"
  mv -f "$VAR/status.tmp" "$VAR/status"
}

# A JSON string: backslash and quote escaped, tab as \t, other control characters (newlines
# included) dropped, so whatever the runner printed cannot break the file.
TAB=$(printf '\t')
json_string() {
  printf '"%s"' "$(printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g; s/'"$TAB"'/\\t/g' | tr -d '\001-\010\012-\037\177')"
}
json_number_or_null() { case $1 in '' | *[!0-9]*) printf 'null' ;; *) printf '%s' "$1" ;; esac; }
json_string_or_null() { if [ -n "$1" ]; then json_string "$1"; else printf 'null'; fi; }

write_result() {
  job_seen=false
  [ -n "$job_started_at" ] && job_seen=true
  {
    printf '{"exit_code":%s,' "$(json_number_or_null "$exit_code")"
    printf '"outcome":%s,"end":%s,' "$(json_string "$outcome")" "$(json_string "$end")"
    printf '"updates":%s,"retries":%s,"refreshes":%s,' "$updates" "$retries" "$refreshes"
    printf '"runner_version":%s,' "$(json_string_or_null "$runner_version")"
    printf '"job_seen":%s,"job_name":%s,"job_result":%s,' "$job_seen" "$(json_string "$job_name")" "$(json_string "$job_result")"
    printf '"error":%s,' "$(json_string "$error")"
    printf '"started_at":%s,"configured_at":%s,"listening_at":%s,"job_started_at":%s,"finished_at":%s}\n' \
      "$started_at" "$(json_number_or_null "$configured_at")" "$(json_number_or_null "$listening_at")" \
      "$(json_number_or_null "$job_started_at")" "$(date +%s)"
  } >"$VAR/result.json.tmp"
  mv -f "$VAR/result.json.tmp" "$VAR/result.json"
}

finish() {
  trap - EXIT INT TERM
  rm -f "$CONF"
  if [ -d "$RUNNER_DIR/_diag" ]; then cp -R "$RUNNER_DIR/_diag/." "$VAR/diag/" 2>/dev/null; fi
  write_result
  log "finished: end=$end outcome=$outcome exit_code=$exit_code updates=$updates retries=$retries refreshes=$refreshes ${error:+error=$error}"
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
# Whether a key has a value, without reading the value into this shell.
conf_has() { grep -q "^  \"$1\": \"[^\"]" "$CONF"; }

set_status booting
[ -f "$CONF" ] || fail "no runner configuration at $CONF"
url=$(conf_value url)
name=$(conf_value name)
labels=$(conf_value labels)
group=$(conf_value runner_group)
no_default_labels=$(conf_value no_default_labels)
work=$(conf_value work_folder)
# The secret (a registration token or a JIT config) never enters this shell: it lives as long as
# the instance, and a job with sudo can read its memory (dash and busybox keep freed variables in
# the heap). Only the short-lived process that hands it to the runner reads it (with_secret).
credential=""
conf_has token && credential=token
[ -z "$credential" ] && conf_has jitconfig && credential=jitconfig
[ -n "$url" ] && [ -n "$name" ] || fail "runner configuration lacks url or name"
[ -n "$credential" ] || fail "runner configuration has neither token nor jitconfig"
[ -d "$RUNNER_DIR" ] || fail "no runner installed at $RUNNER_DIR"
id "$RUNNER_USER" >/dev/null 2>&1 || fail "no user $RUNNER_USER in the image"

# Runs a command in the runner directory as the unprivileged runner user, in place of the calling
# (sub)shell: call it as the last thing in a subshell. Secrets travel in ACTIONS_RUNNER_INPUT_*
# variables, which the runner reads, never in argv (ps shows argv).
as_runner() {
  if command -v runuser >/dev/null 2>&1; then
    exec runuser -u "$RUNNER_USER" -- env HOME="$(runner_home)" "$@"
  fi
  # busybox su would take the runner's own flags as its options: pass one quoted command.
  cmd="cd $(shell_quote "$RUNNER_DIR") && exec env HOME=$(shell_quote "$(runner_home)")"
  for arg in "$@"; do cmd="$cmd $(shell_quote "$arg")"; done
  exec su -s /bin/sh -c "$cmd" "$RUNNER_USER"
}
# Runs a command as the runner user with the secret from runner.json in ACTIONS_RUNNER_INPUT_<$1>,
# in a subshell that reads it, deletes the file and becomes the command: the secret is then only
# in that command's process (and whatever it starts), never in this long-lived shell.
with_secret() {
  (
    variable=$1
    shift
    secret=$(conf_value "$credential")
    rm -f "$CONF"
    export "ACTIONS_RUNNER_INPUT_$variable=$secret"
    as_runner "$@"
  )
}
shell_quote() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
runner_home() { awk -F: -v u="$RUNNER_USER" '$1 == u { print $6 }' /etc/passwd; }

# --- Supervising the listener as run.sh and run-helper.sh.template do (github-runner-facts.md §3),
# where that is right for a runner of one job: restarts only before a job, and only so often.

rcfile=$VAR/.runner-exit
SQ="'"

# One listener run's output: phases go to the status file at once; what runnerd records goes to
# files, because this loop runs in a subshell of the pipeline.
watch_output() {
  while IFS= read -r line; do
    printf '%s\n' "$line" >>"$VAR/runner.log"
    case $line in
      *"Listening for Jobs"*)
        [ -f "$VAR/.listening_at" ] || date +%s >"$VAR/.listening_at"
        set_status idle
        ;;
      *"Running job: "*)
        job_name=${line#*Running job: }
        printf '%s\n%s\n' "$(date +%s)" "$job_name" >"$VAR/.job"
        set_status busy
        ;;
      *"completed with result: "*) printf '%s\n' "${line##*completed with result: }" >"$VAR/.job_result" ;;
      *"Current runner version: $SQ"*)
        version=${line#*"Current runner version: $SQ"}
        printf '%s\n' "${version%%"$SQ"*}" >"$VAR/.runner_version"
        ;;
      # Program.cs: "An error occurred: <message>" ("occured" before runner 2.333.0).
      *"is deprecated and cannot receive messages"*) printf '%s\n' "${line#*An error occur*ed: }" >"$VAR/.deprecated" ;;
      *"The runner no longer exists on the server"*) : >"$VAR/.registration_deleted" ;;
    esac
  done
}

# A JIT config travels like the token: in ACTIONS_RUNNER_INPUT_JITCONFIG, never in argv, and only
# to the first listener. That listener writes the files it holds (.runner, .credentials,
# .credentials_rsaparams) into the runner root before it connects, and they stay there until its
# job is done (actions/runner Runner.cs, "--jitconfig"), so a listener started again after an
# update or a retryable error runs from them, as one configured by config.sh does. run.sh hands it
# to every listener it starts; this agent does not keep it for that.
run_runner() {
  if [ "$jit_pending" = 1 ]; then with_secret JITCONFIG "$@"; else (as_runner "$@"); fi
}

run_listener() {
  rm -f "$rcfile" "$VAR/.deprecated" "$VAR/.registration_deleted"
  log "starting the listener$([ "$jit_pending" = 1 ] && echo " with its just-in-time config") (updates=$updates retries=$retries refreshes=$refreshes)"
  { run_runner "$@" 2>&1; echo $? >"$rcfile"; } | watch_output
  jit_pending=0
  exit_code=$(cat "$rcfile" 2>/dev/null)
  [ -f "$VAR/.listening_at" ] && listening_at=$(cat "$VAR/.listening_at")
  if [ -f "$VAR/.job" ]; then
    job_started_at=$(sed -n 1p "$VAR/.job")
    job_name=$(sed -n 2p "$VAR/.job")
  fi
  [ -f "$VAR/.job_result" ] && job_result=$(cat "$VAR/.job_result")
  [ -f "$VAR/.runner_version" ] && runner_version=$(cat "$VAR/.runner_version")
  log "the listener exited with ${exit_code:-no code}"
}

ended_as() { end=$1 outcome=$2 error=$3; }

deprecated() {
  message=$(cat "$VAR/.deprecated" 2>/dev/null)
  ended_as deprecated runner-deprecated "${message:-Runner version ${runner_version:+v$runner_version }is deprecated.} (exit $exit_code)"
}

# run-helper.sh.template waits up to 30 s for update.finished, which the update script touches in
# the listener's working directory (the runner root) once the new layout is in place; the
# listener is started again either way.
wait_for_update() {
  waited=0
  while [ ! -f "$RUNNER_DIR/update.finished" ] && [ "$waited" -lt "$UPDATE_WAIT" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  if [ -f "$RUNNER_DIR/update.finished" ]; then
    rm -f "$RUNNER_DIR/update.finished"
    log "the self-update finished after ${waited}s"
  else
    log "no update.finished after ${UPDATE_WAIT}s; starting the listener anyway, as run-helper.sh does"
  fi
}

# Exit 2, 3, 4 or 6 before a job: counts it, and returns 0 when the listener may start again.
restart_allowed() {
  case $exit_code in
    2)
      retries=$((retries + 1))
      [ "$retries" -le "$MAX_RETRIES" ] || return 1
      log "retryable error: starting the listener again in ${RETRY_PAUSE}s"
      sleep "$RETRY_PAUSE"
      ;;
    3 | 4)
      updates=$((updates + 1))
      [ "$updates" -le "$MAX_UPDATES" ] || return 1
      wait_for_update
      ;;
    6)
      refreshes=$((refreshes + 1))
      [ "$refreshes" -le "$MAX_REFRESHES" ] || return 1
      ;;
  esac
}

# What the listener's exit code means (Constants.Runner.ReturnCode); 1 when it is to run again.
listener_done() {
  case $exit_code in
    0)
      if [ -n "$job_started_at" ]; then ended_as job-done succeeded ""
      elif [ -f "$VAR/.registration_deleted" ]; then ended_as registration-deleted no-job "the runner's registration was deleted while it listened"
      else ended_as no-job no-job ""
      fi
      ;;
    7) deprecated ;;
    1) if [ -f "$VAR/.deprecated" ]; then deprecated; else ended_as failed failed "runner exited with 1"; fi ;;
    5) ended_as session-conflict failed "another listener holds this runner's session (exit 5)" ;;
    2 | 3 | 4 | 6)
      if [ -n "$job_started_at" ]; then ended_as failed failed "runner exited with $exit_code after its job"; return 0; fi
      restart_allowed && return 1
      ended_as restart-limit failed "runner exited with $exit_code too often (updates=$updates retries=$retries refreshes=$refreshes)"
      ;;
    *) ended_as failed failed "runner exited with ${exit_code:-unknown code}" ;;
  esac
  return 0
}

supervise() {
  while :; do
    run_listener "$@"
    listener_done && return 0
  done
}

cd "$RUNNER_DIR" || fail "cannot enter $RUNNER_DIR"
jit_pending=0
[ "$credential" = jitconfig ] && jit_pending=1
if [ "$credential" = token ]; then
  set_status configuring
  log "configuring runner $name for $url"
  set -- ./config.sh --unattended --ephemeral --disableupdate --replace --url "$url" --name "$name" --work "${work:-_work}"
  [ -n "$labels" ] && set -- "$@" --labels "$labels"
  [ -n "$group" ] && set -- "$@" --runnergroup "$group"
  # config.sh refuses --no-default-labels without --labels; runnerd's pools always have some then.
  [ "$no_default_labels" = true ] && [ -n "$labels" ] && set -- "$@" --no-default-labels
  with_secret TOKEN "$@" >>"$LOG" 2>&1
  rc=$?
  [ "$rc" = 0 ] || { exit_code=$rc; outcome="config-failed"; end="config-failed"; fail "config.sh exited with $rc"; }
fi
configured_at=$(date +%s)
# The real listener reports its own exit code only when run directly (run.sh maps codes to 0), and
# exits 7 rather than 1 for a deprecated version only when asked to (Program.cs).
set -- ./run.sh
[ -x ./bin/Runner.Listener ] && set -- ./bin/Runner.Listener run
set -- env ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1 "$@"

supervise "$@"
finish
