#!/usr/bin/env bash
# Installs runnerd's npm dependencies and builds it, when that has not happened yet (or the
# lockfile changed since). Idempotent; used by scripts/demo and scripts/test.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=node_modules/.runnerd-lock-hash
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  # better-sqlite3 builds a native addon when no prebuilt binary can be fetched: make sure the
  # compiler is there (Node's headers come with the machine's Node set-up).
  if ! command -v g++ >/dev/null 2>&1 || ! command -v make >/dev/null 2>&1; then
    echo "[install-deps] installing g++ and make (to build better-sqlite3)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ make python3 >/dev/null
  fi
  echo "[install-deps] npm ci" >&2
  npm ci --no-audit --no-fund
  echo "$want" >"$stamp"
fi
npm run --silent build
