#!/bin/sh
# Fake actions/runner run.sh: `run.sh` or `run.sh --jitconfig <base64>`.
# Unlike the real run.sh, the listener's exit code is passed through unchanged, so a supervisor
# sees 1 for "not configured" instead of the wrapper's 0.
RUNNER_ROOT=$(cd "$(dirname "$0")" && pwd)
. "$RUNNER_ROOT/bin/runner-lib.sh"
. "$RUNNER_ROOT/bin/listener.sh"

case "${1:-}" in
  --version) echo "$RUNNER_VERSION"; exit 0 ;;
esac
[ -f "$RUNNER_ROOT/env.sh" ] && . "$RUNNER_ROOT/env.sh"
rn_init Runner
run_main "$@"
