# The job part of `bin/Runner.Listener run` for the fake runner: fetch the job's script, run it
# with the job hooks, stream its log, report its result (the real listener hands this to
# Runner.Worker). Sourced by bin/Runner.Listener after listener.sh.

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

# Fetching the job acknowledges it. A job gone by then (AcknowledgeJobNotFound) ends an ephemeral
# listener with 0 and its local configuration goes, as after its job (Runner.cs); any other 404
# is the registration gone.
run_job_not_found() {
  case "$RN_REASON" in
    AcknowledgeJobNotFound:*)
      rn_log WARN "Acknowledge returned job-not-found for runner request '$run_job_id'."
      [ "$run_ephemeral" = true ] || return 0
      rn_delete_local_config
      run_end 0 ;;
  esac
  run_registration_gone
}

run_job() {
  run_job_id=$1
  rn_http_retry 10 GET "$run_server/_runner/jobs/$run_job_id" "Bearer $run_credential" "$RN_TMP/job"
  [ "$RN_STATUS" = 404 ] && run_job_not_found
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
