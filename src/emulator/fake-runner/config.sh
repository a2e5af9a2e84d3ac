#!/bin/sh
# Fake actions/runner config.sh: `config.sh [--url U --token T ...]` or `config.sh remove [...]`.
RUNNER_ROOT=$(cd "$(dirname "$0")" && pwd)
. "$RUNNER_ROOT/bin/runner-lib.sh"
. "$RUNNER_ROOT/bin/configure.sh"

case "${1:-}" in
  --version) echo "$RUNNER_VERSION"; exit 0 ;;
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
rn_init Runner
if [ "${1:-}" = remove ]; then
  shift
  cfg_remove_main "$@"
else
  cfg_configure_main "$@"
fi
exit 0
