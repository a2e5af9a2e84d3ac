# `bin/Runner.Listener run` for the fake runner: open a session, long-poll for messages, run the one
# job or act on the message, clean up. Exit codes keep actions/runner's meanings
# (Constants.Runner.ReturnCode; github-runner-facts.md §3):
#   0  an ephemeral runner's job is done, or gone when it acknowledged it; the registration was
#      deleted while listening; the OAuth token was revoked (Runner.cs)
#   1  terminated: not configured, a bad jitconfig, the registration deleted before a session, a
#      poll refused for good; a deprecated version unless 7 applies (Program.cs)
#   2  an unhandled exception, here a message it cannot read (Program.cs)
#   3  a self-update is in place (Runner.cs, SelfUpdaterV2.cs; see self-update.sh); 4 when ephemeral
#   5  another listener held the session for the whole retry limit (BrokerMessageListener.cs)
#   6  never leaves the real listener: ExecuteRunnerAsync restarts the session itself (Runner.cs).
#      The fake does the same, and exits 6 only with FAKE_RUNNER_CONFIG_REFRESH_EXIT=1, so
#      supervisors can be tested against it.
#   7  a deprecated version with ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1, from runner
#      2.333.0 on (Program.cs, actions/runner#4285)

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
  run_disable_update=$(rn_json_raw "$RUNNER_ROOT/.runner" disableUpdate)
  [ "$run_disable_update" = true ] || run_disable_update=false
  run_arch=$(rn_arch_label)
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

# RunAsync's finally: the session goes when the listener stops (errors ignored, as for an
# ephemeral runner whose registration may be gone already). POST: busybox wget cannot DELETE.
run_end() {
  if [ -n "${run_session:-}" ]; then
    rn_http POST "$run_server/_runner/sessions/delete" "Bearer $run_credential" "$RN_TMP/closed" ""
    run_session=""
  fi
  exit "$1"
}

# CreateSessionAsync: a session conflict is retried every 30 s for 4 minutes, then the listener
# exits 5 (the emulator may shorten both, see runner-control.ts).
run_open_session() {
  _os_waited=0
  while :; do
    rn_http POST "$run_server/_runner/sessions" "Bearer $run_credential" "$RN_TMP/session" "{\"version\":\"$RUNNER_VERSION\"}"
    case "$RN_STATUS" in
      200)
        run_session=$(rn_json_str "$RN_TMP/session" session_id)
        return 0 ;;
      401 | 404)
        run_fail "Failed to create a session. The runner registration has been deleted from the server, please re-configure. Runner registrations are automatically deleted for runners that have not connected to the service recently." ;;
      409)
        echo "A session for this runner already exists." >&2
        # The reason phrase says "... Retry every <interval> s for <limit> s." (runner-control.ts).
        _os_every=${RN_REASON##*Retry every }
        _os_every=${_os_every%% *}
        _os_limit=${RN_REASON##* for }
        _os_limit=${_os_limit%% *}
        case "$_os_every" in '' | *[!0-9]*) _os_every=30 ;; esac
        case "$_os_limit" in '' | *[!0-9]*) _os_limit=240 ;; esac
        if [ "$_os_waited" -ge "$_os_limit" ]; then
          echo "Stop retry on SessionConflictException after retried for $_os_limit seconds." >&2
          rn_log ERROR "session conflict for $_os_waited s"
          exit 5
        fi
        sleep "$_os_every"
        _os_waited=$((_os_waited + _os_every))
        continue ;;
    esac
    rn_transient "$RN_STATUS" || run_fail "Failed to create a session: $(rn_http_reason "$RN_STATUS")"
    rn_log WARN "session: transient answer $RN_STATUS, retrying"
    sleep 2
  done
}

run_start_session() {
  run_open_session
  echo
  echo "√ Connected to GitHub"
  echo
  echo "Current runner version: '$RUNNER_VERSION'"
  rn_say "Listening for Jobs"
}

# A version GitHub refuses (RunnerVersionTooOld, an AccessDeniedException with ErrorCode 1).
# Before actions/runner 2.333.0 Program.cs printed "An error occured" and always exited 1.
run_deprecated() {
  if rn_version_lt "$RUNNER_VERSION" 2.333.0; then
    echo "An error occured: $1" >&2
    run_end 1
  fi
  echo "An error occurred: $1" >&2
  rn_truthy "${ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE:-}" && run_end 7
  run_end 1
}

# A refused poll: RunnerVersionTooOld (the reason phrase names the broker's errorKind and message)
# ends the listener as deprecated; any other 403 is an AccessDeniedException, not retried
# (BrokerMessageListener), so NonRetryableException: 1.
run_refused() {
  case "$RN_REASON" in RunnerVersionTooOld:*) run_deprecated "${RN_REASON#RunnerVersionTooOld: }" ;; esac
  echo "An error occurred: Get next message failed with non-retryable error." >&2
  run_end 1
}

# A poll answered 401: a revoked OAuth token (TaskAgentAccessTokenExpiredException) shuts the
# listener down with 0 and leaves the session alone (Runner.cs RunAsync, BrokerMessageListener);
# other credentials the server no longer takes end it with 1.
run_unauthorized() {
  case "$RN_REASON" in
    TaskAgentAccessTokenExpired:*)
      rn_log INFO "Runner OAuth token has been revoked. Shutting down."
      exit 0 ;;
  esac
  run_fail "The runner registration has been deleted from the server, please re-configure."
}

# RunnerRefreshConfig for the runner's own settings: the session restarts (RunAsync returns 6 and
# ExecuteRunnerAsync runs it again with the settings reloaded).
run_refresh_config() {
  [ "$(rn_json_str "$RN_TMP/message" configType)" = runner ] || return 0
  rn_log INFO "Runner configuration was updated. Session restart has been scheduled"
  rn_truthy "${FAKE_RUNNER_CONFIG_REFRESH_EXIT:-}" && run_end 6
  rn_http POST "$run_server/_runner/sessions/delete" "Bearer $run_credential" "$RN_TMP/closed" ""
  run_session=""
  run_load_settings
  run_start_session
}

run_job_done() {
  run_job "$1"
  if [ "$run_ephemeral" = true ]; then
    # actions/runner deletes .runner and .credentials after an ephemeral runner's job.
    rn_delete_local_config
    run_end 0
  fi
}

# A job request is its id alone; other messages are one-line JSON with `messageType` and the
# fields of the message's body (TaskAgentMessage and RunnerRefreshMessage flattened).
run_message() {
  if ! grep -q '^{' "$RN_TMP/message"; then
    _rm_job=$(tr -dc '0-9' <"$RN_TMP/message")
    [ -n "$_rm_job" ] && run_job_done "$_rm_job"
    return 0
  fi
  _rm_type=$(rn_json_str "$RN_TMP/message" messageType)
  case "$_rm_type" in
    RunnerJobRequest)
      _rm_job=$(rn_json_str "$RN_TMP/message" runner_request_id)
      case "$_rm_job" in '' | *[!0-9]*)
        echo "An error occurred: Unexpected content in the job request message: $(cat "$RN_TMP/message")" >&2
        run_end 2 ;;
      esac
      run_job_done "$_rm_job" ;;
    RunnerRefresh)
      su_self_update "$(rn_json_str "$RN_TMP/message" target_version)" "$(rn_json_str "$RN_TMP/message" download_url)" \
        "$(rn_json_str "$RN_TMP/message" sha256_checksum)" || return 0
      # The listener exits for the update script to swap the layout: 4 when running once.
      if [ "$run_ephemeral" = true ]; then run_end 4; fi
      run_end 3 ;;
    RunnerRefreshConfig) run_refresh_config ;;
    *) rn_log ERROR "Received message with unsupported message type $_rm_type." ;;
  esac
}

run_listen() {
  _rl_backoff=1
  while :; do
    _rl_query="sessionId=$run_session&status=Online&runnerVersion=$RUNNER_VERSION&os=Linux&architecture=$run_arch&disableUpdate=$run_disable_update"
    rn_http POST "$run_server/_runner/message?$_rl_query" "Bearer $run_credential" "$RN_TMP/message" ""
    case "$RN_STATUS" in
      200)
        _rl_backoff=1
        run_message ;;
      204) _rl_backoff=1 ;;
      403) run_refused ;;
      404) run_registration_gone ;;
      401) run_unauthorized ;;
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
  run_session=""
  run_load_settings
  run_start_session
  run_listen
}
