# Shared helpers for the fake runner: paths, diagnostics, HTTP through wget, one-line JSON by sed.
# Sourced by bin/Runner.Listener, so everything runs in whichever shell started it (busybox sh,
# dash or bash); only POSIX sh and busybox applets are used, never curl or jq.

RUNNER_VERSION=$(cat "$RUNNER_ROOT/VERSION" 2>/dev/null || echo 0.0.0)
RN_TMP=""
RN_STATUS=000
RN_CHILD=""
RN_JOB_PID=""
RN_DIAG_FILE=""
RN_CR=$(printf '\r')

rn_ts() { date -u '+%Y-%m-%d %H:%M:%SZ'; }

# Console line in the real runner's "<time>: message" style, also copied to the diag log.
rn_say() {
  printf '%s: %s\n' "$(rn_ts)" "$*"
  rn_log INFO "$*"
}

rn_log() {
  _rl_level=$1
  shift
  [ -n "$RN_DIAG_FILE" ] || return 0
  printf '[%s %s %s] %s\n' "$(rn_ts)" "$_rl_level" "$RN_COMPONENT" "$*" >>"$RN_DIAG_FILE" 2>/dev/null || true
}

rn_init() {
  RN_COMPONENT=$1
  mkdir -p "$RUNNER_ROOT/_diag" 2>/dev/null || true
  RN_DIAG_FILE="$RUNNER_ROOT/_diag/${RN_COMPONENT}_$(date -u '+%Y%m%d-%H%M%S')-utc.log"
  : >>"$RN_DIAG_FILE" 2>/dev/null || RN_DIAG_FILE=""
  RN_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fake-runner.XXXXXX") || { echo "cannot create a temporary directory" >&2; exit 1; }
  trap 'rn_cleanup_tmp' EXIT
  trap 'rn_on_signal' INT TERM
  RN_WGET_EXTRA=""
  RN_WGET_QUIET=-q
  # GNU wget retries read timeouts 20 times by default; busybox wget has no retries (and
  # crashes on -t/-T in Debian's static build), so the option is only added for GNU.
  # Wget2 (the `wget` of Fedora 40 and later) drops the -S headers under -q.
  case "$(wget --version 2>/dev/null)" in
    *"GNU Wget2"*) RN_WGET_EXTRA="--tries=1" RN_WGET_QUIET="" ;;
    *"GNU Wget"*) RN_WGET_EXTRA="--tries=1" ;;
  esac
  rn_log INFO "fake runner $RUNNER_VERSION started ($RN_COMPONENT) in $RUNNER_ROOT as uid $(id -u)"
}

rn_cleanup_tmp() {
  [ -n "$RN_TMP" ] && rm -rf "$RN_TMP"
}

rn_on_signal() {
  rn_log INFO "signal received, exiting"
  [ -n "$RN_CHILD" ] && kill "$RN_CHILD" 2>/dev/null
  [ -n "$RN_JOB_PID" ] && kill "$RN_JOB_PID" 2>/dev/null
  echo "Exiting..."
  rn_cleanup_tmp
  exit 0
}

# rn_http METHOD URL AUTH OUT [data|@file] — sets RN_STATUS (000 when no HTTP answer came) and
# RN_REASON (the status line's reason phrase: busybox wget keeps nothing else of an error answer,
# so the emulator puts what the listener needs there); an empty AUTH sends no Authorization header.
# wget prints no body on errors, so the status comes from the -S header dump (on stderr, but
# on stdout for Wget2; the body goes to OUT, so both streams are read).
# Forks are slow on small machines, so apart from wget itself this uses only builtins.
rn_http() {
  _rh_method=$1 _rh_url=$2 _rh_auth=$3 _rh_out=$4 _rh_data=${5:-}
  : >"$_rh_out"
  set -- -S -O "$_rh_out"
  [ -n "$_rh_auth" ] && set -- "$@" --header "Authorization: $_rh_auth"
  [ -n "$RN_WGET_QUIET" ] && set -- "$RN_WGET_QUIET" "$@"
  [ -n "$RN_WGET_EXTRA" ] && set -- "$@" "$RN_WGET_EXTRA"
  if [ "$_rh_method" = POST ]; then
    case "$_rh_data" in
      @*) set -- "$@" --post-file "${_rh_data#@}" ;;
      *) set -- "$@" --header "Content-Type: application/json" --post-data "$_rh_data" ;;
    esac
  fi
  # In the background so a TERM signal is handled at once, not after a 20 s long poll.
  wget "$@" "$_rh_url" >"$RN_TMP/hdr" 2>&1 </dev/null &
  RN_CHILD=$!
  wait "$RN_CHILD"
  RN_CHILD=""
  RN_STATUS=000
  RN_REASON=""
  while read -r _rh_proto _rh_code _rh_rest; do
    case "$_rh_proto" in HTTP/*) RN_STATUS=$_rh_code RN_REASON=${_rh_rest%"$RN_CR"} ;; esac
  done <"$RN_TMP/hdr"
  case "$RN_STATUS" in 200 | 204) ;; *) rn_log DEBUG "$_rh_method $_rh_url -> $RN_STATUS" ;; esac
}

rn_transient() {
  case "$1" in 000 | 429 | 5??) return 0 ;; *) return 1 ;; esac
}

# rn_http_retry TRIES METHOD URL AUTH OUT [data] — retries network errors, 429 and 5xx.
rn_http_retry() {
  _rr_tries=$1
  shift
  _rr_n=1
  while :; do
    rn_http "$@"
    rn_transient "$RN_STATUS" || return 0
    [ "$_rr_n" -ge "$_rr_tries" ] && return 0
    rn_log WARN "transient answer $RN_STATUS from $1 $2, retry $_rr_n of $_rr_tries"
    _rr_n=$((_rr_n + 1))
    sleep 1
  done
}

# JSON string field of a one-line JSON file: rn_json_str FILE KEY
rn_json_str() { sed -n "s/.*\"$2\":\"\([^\"]*\)\".*/\1/p" "$1"; }
# Number or boolean field: rn_json_raw FILE KEY
rn_json_raw() { sed -n "s/.*\"$2\":\([^,}\"]*\).*/\1/p" "$1"; }
# Minimal escaping: the values we emit are names, labels and URLs.
rn_json_escape() { printf '%s' "$1" | sed 's/\\/\\\\/g; s/"/\\"/g'; }

# StringUtil.ConvertToBoolean: 1, true and $true, in any case.
rn_truthy() {
  case "$(printf '%s' "$1" | tr 'A-Z' 'a-z')" in 1 | true | '$true') return 0 ;; *) return 1 ;; esac
}

# rn_version_lt A B: whether version A (x.y.z) is older than B.
rn_version_lt() {
  _vl_ifs=$IFS
  IFS=.
  # shellcheck disable=SC2086 # splitting on dots is the point
  set -- $1 $2
  IFS=$_vl_ifs
  [ "${1:-0}" -ne "${4:-0}" ] && { [ "${1:-0}" -lt "${4:-0}" ]; return; }
  [ "${2:-0}" -ne "${5:-0}" ] && { [ "${2:-0}" -lt "${5:-0}" ]; return; }
  [ "${3:-0}" -lt "${6:-0}" ]
}

# The architecture as the runner names it in its default labels and message polls.
rn_arch_label() {
  case "$(uname -m)" in
    x86_64 | amd64) echo X64 ;;
    aarch64 | arm64) echo ARM64 ;;
    arm*) echo ARM ;;
    *) echo X64 ;;
  esac
}

rn_http_reason() {
  case "$1" in
    000) echo "no answer (network error)" ;;
    400) echo "BadRequest" ;;
    401) echo "Unauthorized" ;;
    403) echo "Forbidden" ;;
    404) echo "NotFound" ;;
    409) echo "Conflict" ;;
    422) echo "UnprocessableEntity" ;;
    429) echo "TooManyRequests" ;;
    *) echo "status $1" ;;
  esac
}

# The config files a configured runner has; removed after its one job or when deregistered.
rn_delete_local_config() {
  rm -f "$RUNNER_ROOT/.runner" "$RUNNER_ROOT/.credentials" "$RUNNER_ROOT/.credentials_rsaparams"
  rn_log INFO "local runner configuration deleted"
}

# `https://github.com/...` → https://api.github.com; any other host is treated as GHES.
rn_api_base() {
  _ab_scheme=$(printf '%s' "$1" | sed -n 's#^\([A-Za-z][A-Za-z0-9+.-]*\)://.*#\1#p')
  _ab_host=$(printf '%s' "$1" | sed -n 's#^[A-Za-z][A-Za-z0-9+.-]*://\([^/]*\).*#\1#p')
  [ -n "$_ab_scheme" ] && [ -n "$_ab_host" ] || return 1
  case "$_ab_host" in
    github.com | www.github.com) echo "https://api.github.com" ;;
    *) echo "$_ab_scheme://$_ab_host/api/v3" ;;
  esac
}
