# The self-update of `bin/Runner.Listener run`, as SelfUpdaterV2.SelfUpdate does it (actions/runner
# src/Runner.Listener/SelfUpdaterV2.cs): download the release into <work>/_update, check its sha256,
# unpack it, copy its bin/ to bin.<version> (externals/ to externals.<version>) and its top-level
# files into the root, then start bin.<version>/update.sh.template as <work>/_update.sh. That
# script waits for this listener to exit, points bin and externals at the new folders and touches
# update.finished in the working directory (src/Misc/layoutbin/update.sh.template). su_self_update
# fails when the update did; the listener then goes on listening, as the real one does.

su_failed() {
  echo "Runner update failed: $*" >&2
  rn_log ERROR "self-update failed: $*"
  echo "Runner update process finished."
  return 1
}

# su_copy_to_root DIR VERSION — CopyLatestRunnerToRoot.
su_copy_to_root() {
  mkdir -p "$RUNNER_ROOT/bin.$2" "$RUNNER_ROOT/externals.$2" || return 1
  cp -R "$1/bin/." "$RUNNER_ROOT/bin.$2/" || return 1
  if [ -d "$1/externals" ]; then cp -R "$1/externals/." "$RUNNER_ROOT/externals.$2/" || return 1; fi
  for _cr_file in "$1"/*; do
    [ -f "$_cr_file" ] || continue
    # Removed first: overwriting a script some shell is running can break it (actions/runner#981).
    rm -f "$RUNNER_ROOT/${_cr_file##*/}"
    cp "$_cr_file" "$RUNNER_ROOT/" || return 1
  done
}

# DeletePreviousVersionRunnerBackup: keep only the running and the new version's folders.
su_delete_backups() {
  for _db_dir in "$RUNNER_ROOT"/bin.* "$RUNNER_ROOT"/externals.*; do
    [ -d "$_db_dir" ] || continue
    case "${_db_dir##*/}" in
      "bin.$RUNNER_VERSION" | "bin.$1" | "externals.$RUNNER_VERSION" | "externals.$1") ;;
      *) rm -rf "$_db_dir" ;;
    esac
  done
}

# GenerateUpdateScript, then start it. It outlives this process; its output goes to its log only.
su_start_script() {
  _ss_template="$RUNNER_ROOT/bin.$1/update.sh.template"
  [ -f "$_ss_template" ] || return 1
  _ss_log="$RUNNER_ROOT/_diag/SelfUpdate-$(date -u '+%Y%m%d-%H%M%S').log"
  _ss_script="$run_work/_update.sh"
  rm -f "$_ss_script"
  sed -e "s#_PROCESS_ID_#$$#g" -e "s#_RUNNER_PROCESS_NAME_#Runner.Listener#g" -e "s#_ROOT_FOLDER_#$RUNNER_ROOT#g" \
    -e "s#_EXIST_RUNNER_VERSION_#$RUNNER_VERSION#g" -e "s#_DOWNLOAD_RUNNER_VERSION_#$1#g" \
    -e "s#_UPDATE_LOG_#$_ss_log#g" -e "s#_RESTART_INTERACTIVE_RUNNER_#0#g" "$_ss_template" >"$_ss_script" || return 1
  # IOUtil.DeleteFile("update.finished"): relative, so in the working directory, like the touch.
  rm -f update.finished
  sh "$_ss_script" </dev/null >/dev/null 2>&1 &
}

# su_self_update VERSION DOWNLOAD_URL SHA256
su_self_update() {
  _su_version=$1
  case "$_su_version" in '' | *[!0-9.]*) su_failed "the update message names no version"; return 1 ;; esac
  rn_log INFO "An update is available: $_su_version"
  echo "Runner update in progress, do not shutdown runner."
  echo "Downloading $_su_version runner"
  _su_dir="$run_work/_update"
  rm -rf "$_su_dir"
  mkdir -p "$_su_dir" || { su_failed "cannot create $_su_dir"; return 1; }
  _su_archive="$_su_dir/runner1.tar.gz"
  rn_http_retry 3 GET "$2" "" "$_su_archive"
  [ "$RN_STATUS" = 200 ] || { su_failed "Runner package '$2' failed after 3 download attempts"; return 1; }
  if [ -n "$3" ]; then
    _su_hash=$(sha256sum "$_su_archive" | cut -d ' ' -f 1)
    [ "$_su_hash" = "$3" ] || { su_failed "Computed runner hash $_su_hash did not match expected Runner Hash $3 for $_su_archive"; return 1; }
  fi
  (cd "$_su_dir" && tar -xzf "$_su_archive") || { su_failed "Can't use 'tar -xzf' to extract archive file: $_su_archive."; return 1; }
  rm -f "$_su_archive"
  su_copy_to_root "$_su_dir" "$_su_version" || { su_failed "cannot copy the new version into $RUNNER_ROOT"; return 1; }
  echo "Waiting for current job finish running."
  su_delete_backups "$_su_version"
  echo "Generate and execute update script."
  su_start_script "$_su_version" || { su_failed "cannot start the update script"; return 1; }
  echo "Runner will exit shortly for update, should be back online within 10 seconds."
  echo "Runner update process finished."
  rn_log INFO "update to $_su_version downloaded; exiting for the update script"
}
