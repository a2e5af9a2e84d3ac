# `run.sh` for the fake runner: open a session, long-poll for a job, run it, report, clean up.
# Exit codes keep actions/runner's meanings (Constants.Runner.ReturnCode): 0 success or
# registration gone, 1 terminated (not configured, bad jitconfig, registration deleted before
# a session), 2 retryable.

run_fail() {
  echo "$*" >&2
  rn_log ERROR "$*"
  exit 1
}

# --jitconfig: base64 of {"<file>":"<base64 content>",...}; writes the files it names.
run_apply_jitconfig() {
  printf '%s' "$1" | base64 -d >"$RN_TMP/jit.json" 2>/dev/null || run_fail "Failed to decode the jitconfig: not valid base64."
  grep -q '^{.*}$' "$RN_TMP/jit.json" 2>/dev/null || run_fail "Failed to decode the jitconfig: not a JSON object."
  _aj_count=0
  for _aj_file in .runner .credentials .credentials_rsaparams; do
    _aj_key=$(printf '%s' "$_aj_file" | sed 's/\./\\./g')
    _aj_val=$(sed -n "s/.*\"$_aj_key\":\"\([A-Za-z0-9+\/=]*\)\".*/\1/p" "$RN_TMP/jit.json")
    [ -n "$_aj_val" ] || continue
    printf '%s' "$_aj_val" | base64 -d >"$RUNNER_ROOT/$_aj_file" 2>/dev/null || run_fail "Failed to decode $_aj_file from the jitconfig."
    _aj_count=$((_aj_count + 1))
  done
  [ "$_aj_count" -eq 3 ] || run_fail "Failed to decode the jitconfig: expected .runner, .credentials and .credentials_rsaparams."
  chmod 600 "$RUNNER_ROOT/.credentials_rsaparams"
  rn_log INFO "jitconfig applied"
}

run_load_settings() {
  [ -f "$RUNNER_ROOT/.runner" ] && [ -f "$RUNNER_ROOT/.credentials_rsaparams" ] \
    || run_fail "Not configured. Run config.(sh/cmd) to configure the runner."
  run_server=$(rn_json_str "$RUNNER_ROOT/.runner" serverUrl)
  run_name=$(rn_json_str "$RUNNER_ROOT/.runner" agentName)
  run_work=$(rn_json_str "$RUNNER_ROOT/.runner" workFolder)
  run_ephemeral=$(rn_json_raw "$RUNNER_ROOT/.runner" ephemeral)
  run_credential=$(rn_json_str "$RUNNER_ROOT/.credentials_rsaparams" credential)
  [ -n "$run_server" ] && [ -n "$run_credential" ] || run_fail "The runner configuration is damaged; run config.sh remove and configure again."
  case "$run_work" in /*) ;; *) run_work="$RUNNER_ROOT/${run_work:-_work}" ;; esac
  # .env holds KEY=VALUE lines loaded into the environment, as Program.LoadAndSetEnv does.
  if [ -f "$RUNNER_ROOT/.env" ]; then
    while IFS= read -r _ls_line || [ -n "$_ls_line" ]; do
      case "$_ls_line" in [A-Za-z_]*=*) export "${_ls_line?}" ;; esac
    done <"$RUNNER_ROOT/.env"
  fi
}

run_registration_gone() {
  rn_say "The runner no longer exists on the server. Cleaning up local configuration."
  rn_delete_local_config
  exit 0
}

run_open_session() {
  while :; do
    rn_http POST "$run_server/_runner/sessions" "Bearer $run_credential" "$RN_TMP/session" "{\"version\":\"$RUNNER_VERSION\"}"
    case "$RN_STATUS" in
      200) return 0 ;;
      401 | 404)
        run_fail "Failed to create a session. The runner registration has been deleted from the server, please re-configure. Runner registrations are automatically deleted for runners that have not connected to the service recently." ;;
    esac
    rn_transient "$RN_STATUS" || run_fail "Failed to create a session: $(rn_http_reason "$RN_STATUS")"
    rn_log WARN "session: transient answer $RN_STATUS, retrying"
    sleep 2
  done
}

# Posts whatever the job printed since the last call; keeps the offset when the post fails.
run_flush_log() {
  _fl_size=$(wc -c <"$run_job_out" | tr -d ' ')
  [ "$_fl_size" -gt "$run_log_sent" ] || return 0
  tail -c +"$((run_log_sent + 1))" "$run_job_out" | head -c "$((_fl_size - run_log_sent))" >"$RN_TMP/chunk"
  rn_http_retry "${1:-1}" POST "$run_server/_runner/jobs/$run_job_id/log" "Bearer $run_credential" "$RN_TMP/logack" "@$RN_TMP/chunk"
  [ "$RN_STATUS" = 200 ] && run_log_sent=$_fl_size
  return 0
}

run_hook() {
  [ -n "$2" ] || return 0
  [ -f "$2" ] || { echo "Hook $1 script not found: $2" >>"$run_job_out"; return 1; }
  echo "A job $1 hook has been configured by the self-hosted runner administrator" >>"$run_job_out"
  (cd "$run_workspace" && sh "$2") >>"$run_job_out" 2>&1
}

run_job() {
  run_job_id=$1
  rn_http_retry 10 GET "$run_server/_runner/jobs/$run_job_id" "Bearer $run_credential" "$RN_TMP/job"
  [ "$RN_STATUS" = 404 ] && run_registration_gone
  [ "$RN_STATUS" = 200 ] || { rn_log ERROR "job $run_job_id: info answered $RN_STATUS"; return 1; }
  run_job_name=$(rn_json_str "$RN_TMP/job" name)
  run_repo=$(rn_json_str "$RN_TMP/job" repository)
  rn_http_retry 10 GET "$run_server/_runner/jobs/$run_job_id/script" "Bearer $run_credential" "$RN_TMP/script.sh"
  [ "$RN_STATUS" = 404 ] && run_registration_gone
  [ "$RN_STATUS" = 200 ] || { rn_log ERROR "job $run_job_id: script answered $RN_STATUS"; return 1; }
  rn_say "Running job: $run_job_name"
  _rj_repo=${run_repo##*/}
  run_workspace="$run_work/${_rj_repo:-workspace}/${_rj_repo:-workspace}"
  mkdir -p "$run_workspace" "$run_work/_temp"
  run_job_out="$RN_TMP/job-output.log"
  : >"$run_job_out"
  run_log_sent=0
  _rj_worker="$RUNNER_ROOT/_diag/Worker_$(date -u '+%Y%m%d-%H%M%S')-utc.log"
  printf '[%s INFO Worker] job %s "%s" (%s) in %s\n' "$(rn_ts)" "$run_job_id" "$run_job_name" "$run_repo" "$run_workspace" >>"$_rj_worker"
  _rj_rc=0
  run_hook started "${ACTIONS_RUNNER_HOOK_JOB_STARTED:-}" || _rj_rc=1
  if [ "$_rj_rc" -eq 0 ]; then
    (
      cd "$run_workspace" || exit 1
      export GITHUB_WORKSPACE="$run_workspace" RUNNER_NAME="$run_name" RUNNER_TEMP="$run_work/_temp" \
        RUNNER_WORKSPACE="$run_work/$_rj_repo" RUNNER_OS=Linux CI=true GITHUB_ACTIONS=true \
        GITHUB_REPOSITORY="$run_repo" GITHUB_JOB="$run_job_name" GITHUB_RUN_ID="$run_job_id"
      exec ${RUNNER_JOB_SHELL:-sh} "$RN_TMP/script.sh"
    ) >>"$run_job_out" 2>&1 </dev/null &
    RN_JOB_PID=$!
    _rj_ticks=0
    while kill -0 "$RN_JOB_PID" 2>/dev/null; do
      sleep 0.2 2>/dev/null || sleep 1
      _rj_ticks=$((_rj_ticks + 1))
      [ $((_rj_ticks % 5)) -eq 0 ] && run_flush_log 1
    done
    wait "$RN_JOB_PID"
    _rj_rc=$?
    RN_JOB_PID=""
  fi
  run_hook completed "${ACTIONS_RUNNER_HOOK_JOB_COMPLETED:-}" || [ "$_rj_rc" -ne 0 ] || _rj_rc=1
  run_flush_log 10
  sed 's/^/    /' "$run_job_out" >>"$_rj_worker"
  printf '[%s INFO Worker] job %s finished with exit code %s\n' "$(rn_ts)" "$run_job_id" "$_rj_rc" >>"$_rj_worker"
  rn_http_retry 30 POST "$run_server/_runner/jobs/$run_job_id/complete" "Bearer $run_credential" "$RN_TMP/done" "exit_code=$_rj_rc"
  [ "$RN_STATUS" = 404 ] && run_registration_gone
  [ "$RN_STATUS" = 200 ] || rn_log ERROR "job $run_job_id: complete answered $RN_STATUS"
  if [ "$_rj_rc" -eq 0 ]; then _rj_result=Succeeded; else _rj_result=Failed; fi
  rn_say "Job $run_job_name completed with result: $_rj_result"
}

run_listen() {
  _rl_backoff=1
  while :; do
    rn_http POST "$run_server/_runner/message" "Bearer $run_credential" "$RN_TMP/message" ""
    case "$RN_STATUS" in
      200)
        _rl_backoff=1
        _rl_job=$(tr -dc '0-9' <"$RN_TMP/message")
        [ -n "$_rl_job" ] || continue
        run_job "$_rl_job"
        if [ "$run_ephemeral" = true ]; then
          # actions/runner deletes .runner and .credentials after an ephemeral runner's job.
          rn_delete_local_config
          exit 0
        fi ;;
      204) _rl_backoff=1 ;;
      404) run_registration_gone ;;
      401) run_fail "The runner registration has been deleted from the server, please re-configure." ;;
      *)
        rn_log WARN "message poll: answer $RN_STATUS, retrying in ${_rl_backoff}s"
        sleep "$_rl_backoff"
        [ "$_rl_backoff" -lt 8 ] && _rl_backoff=$((_rl_backoff * 2)) ;;
    esac
  done
}

run_main() {
  # Like CommandSettings: ACTIONS_RUNNER_INPUT_JITCONFIG stands in for --jitconfig and is removed
  # from the environment, so the job's processes do not inherit it.
  _rm_jit=${ACTIONS_RUNNER_INPUT_JITCONFIG:-}
  unset ACTIONS_RUNNER_INPUT_JITCONFIG
  while [ $# -gt 0 ]; do
    case "$1" in
      --jitconfig) [ $# -ge 2 ] || run_fail "Missing value for --jitconfig"; _rm_jit=$2; shift ;;
      --jitconfig=*) _rm_jit=${1#*=} ;;
      --once) echo "Warning: '--once' is going to be deprecated in the future, please consider using '--ephemeral' during runner registration." ;;
      --startuptype) shift ;;
      *) echo "Unrecognized command-line input arguments: '$1'. For usage refer to: ./config.sh --help" ;;
    esac
    shift
  done
  [ -n "$_rm_jit" ] && run_apply_jitconfig "$_rm_jit"
  run_load_settings
  run_open_session
  echo
  echo "√ Connected to GitHub"
  echo
  echo "Current runner version: '$RUNNER_VERSION'"
  rn_say "Listening for Jobs"
  run_listen
}
