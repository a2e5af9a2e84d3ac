#!/bin/sh
# Fake actions/runner run.sh (src/Misc/layoutroot/run.sh), in POSIX sh: runs a fresh copy of
# run-helper.sh.template, which runs `bin/Runner.Listener run "$@"`, and starts it again while it
# exits 2 (a retryable error, or a self-update in place). Every other end is 0, except 7 (a
# deprecated runner version) when ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE=1, and the
# helper's own code with RUNNER_MANUALLY_TRAP_SIG (runWithManualTrap). A supervisor that needs the
# listener's real exit code runs bin/Runner.Listener itself (runnerd's agent does).
DIR=$(cd "$(dirname "$0")" && pwd)

while :; do
  cp -f "$DIR/run-helper.sh.template" "$DIR/run-helper.sh"
  "$DIR/run-helper.sh" "$@"
  returnCode=$?
  if [ "$returnCode" -eq 2 ]; then
    echo "Restarting runner..."
  elif [ "${ACTIONS_RUNNER_RETURN_VERSION_DEPRECATED_EXIT_CODE:-}" = 1 ] && [ "$returnCode" -eq 7 ]; then
    echo "Exiting runner..."
    exit "$returnCode"
  else
    echo "Exiting runner..."
    [ -n "${RUNNER_MANUALLY_TRAP_SIG:-}" ] && exit "$returnCode"
    exit 0
  fi
done
