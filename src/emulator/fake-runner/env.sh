# Fake actions/runner env.sh: the real one snapshots PATH and a few variables into .path/.env.
if [ -n "${RUNNER_ROOT:-}" ] && [ ! -f "$RUNNER_ROOT/.path" ]; then
  printf '%s\n' "$PATH" >"$RUNNER_ROOT/.path" 2>/dev/null || true
fi
