#!/bin/sh
# Fake actions/runner config.sh: `config.sh [--url U --token T ...]` runs
# `bin/Runner.Listener configure ...`; `config.sh remove [...]` runs `bin/Runner.Listener remove ...`.
RUNNER_ROOT=$(cd "$(dirname "$0")" && pwd)

case "${1:-}" in
  --version) exec "$RUNNER_ROOT/bin/Runner.Listener" --version ;;
  --help) echo "Usage: ./config.sh --url <url> --token <token> [--name N] [--labels a,b] [--runnergroup G] [--work DIR] [--ephemeral] [--unattended] [--disableupdate] [--replace] [--no-default-labels]"
    echo "       ./config.sh remove --token <token> | --local"
    exit 0 ;;
esac

# Same rule as the real config.sh: root only when explicitly allowed.
if [ "$(id -u)" -eq 0 ] && [ -z "${RUNNER_ALLOW_RUNASROOT:-}" ]; then
  echo "Must not run with sudo"
  exit 1
fi

[ -f "$RUNNER_ROOT/env.sh" ] && . "$RUNNER_ROOT/env.sh"
if [ "${1:-}" = remove ]; then
  exec "$RUNNER_ROOT/bin/Runner.Listener" "$@"
fi
exec "$RUNNER_ROOT/bin/Runner.Listener" configure "$@"
