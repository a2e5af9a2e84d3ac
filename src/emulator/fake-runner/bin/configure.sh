# `bin/Runner.Listener configure|remove` for the fake runner (config.sh calls it): register with the
# emulator and write .runner/.credentials.
# Flags and messages follow actions/runner (Runner.Listener configure / remove).

cfg_fail() {
  echo "$*" >&2
  rn_log ERROR "$*"
  exit 1
}

cfg_need_value() {
  [ "$2" -ge 2 ] || cfg_fail "Missing value for $1"
}

# ACTIONS_RUNNER_INPUT_<NAME> fills any option not given on the command line, then is removed.
# Sets _ce_val (no command substitution: the unset must happen in this shell).
cfg_env_input() {
  eval "_ce_val=\${ACTIONS_RUNNER_INPUT_$1:-}"
  unset "ACTIONS_RUNNER_INPUT_$1"
}

cfg_truthy() {
  case "$1" in true | True | TRUE | 1 | yes) return 0 ;; *) return 1 ;; esac
}

cfg_parse_args() {
  cfg_url="" cfg_token="" cfg_name="" cfg_labels="" cfg_group="" cfg_work=""
  cfg_ephemeral=false cfg_unattended=false cfg_disableupdate=false cfg_replace=false cfg_nodefault=false
  while [ $# -gt 0 ]; do
    case "$1" in
      --url) cfg_need_value "$1" $#; cfg_url=$2; shift ;;
      --token) cfg_need_value "$1" $#; cfg_token=$2; shift ;;
      --name) cfg_need_value "$1" $#; cfg_name=$2; shift ;;
      --labels) cfg_need_value "$1" $#; cfg_labels=$2; shift ;;
      --runnergroup) cfg_need_value "$1" $#; cfg_group=$2; shift ;;
      --work) cfg_need_value "$1" $#; cfg_work=$2; shift ;;
      --url=* | --token=* | --name=* | --labels=* | --runnergroup=* | --work=*)
        _cp_key=${1%%=*}
        _cp_key=${_cp_key#--}
        [ "$_cp_key" = runnergroup ] && _cp_key=group
        _cp_val=${1#*=}
        eval "cfg_$_cp_key=\$_cp_val" ;;
      --ephemeral) cfg_ephemeral=true ;;
      --unattended) cfg_unattended=true ;;
      --disableupdate) cfg_disableupdate=true ;;
      --replace) cfg_replace=true ;;
      --no-default-labels) cfg_nodefault=true ;;
      --local) ;;
      --auth | --pat | --username | --monitorsocketaddress | --windowslogonaccount | --windowslogonpassword)
        shift ;;
      *) echo "Unrecognized command-line input arguments: '$1'. For usage refer to: ./config.sh --help" ;;
    esac
    shift
  done
  for _cp_opt in url token name labels runnergroup work; do
    cfg_env_input "$(echo "$_cp_opt" | tr 'a-z' 'A-Z')"
    [ "$_cp_opt" = runnergroup ] && _cp_opt=group
    eval "[ -n \"\$cfg_$_cp_opt\" ] || cfg_$_cp_opt=\$_ce_val"
  done
  for _cp_flag in EPHEMERAL UNATTENDED DISABLEUPDATE REPLACE NO_DEFAULT_LABELS; do
    cfg_env_input "$_cp_flag"
    cfg_truthy "$_ce_val" || continue
    case "$_cp_flag" in
      EPHEMERAL) cfg_ephemeral=true ;;
      UNATTENDED) cfg_unattended=true ;;
      DISABLEUPDATE) cfg_disableupdate=true ;;
      REPLACE) cfg_replace=true ;;
      NO_DEFAULT_LABELS) cfg_nodefault=true ;;
    esac
  done
}

# Sets cfg_labels_json to the JSON array of labels; defaults first, like the real runner.
cfg_build_labels() {
  _cl_all=$cfg_labels
  if [ "$cfg_nodefault" != true ]; then
    _cl_all="self-hosted,Linux,$(rn_arch_label)${cfg_labels:+,$cfg_labels}"
  fi
  _cl_json=""
  _cl_ifs=$IFS
  IFS=,
  for _cl in $_cl_all; do
    [ -n "$_cl" ] || continue
    case "$_cl" in *[!A-Za-z0-9._-]*) IFS=$_cl_ifs; cfg_fail "Label '$_cl' is not valid (allowed: letters, digits, . _ -)" ;; esac
    _cl_json="$_cl_json${_cl_json:+,}\"$_cl\""
  done
  IFS=$_cl_ifs
  cfg_labels_json="[$_cl_json]"
}

cfg_validate() {
  [ -f "$RUNNER_ROOT/.runner" ] && cfg_fail "Cannot configure the runner because it is already configured. To reconfigure the runner, run 'config.cmd remove' or './config.sh remove' first."
  if [ -z "$cfg_url" ] || [ -z "$cfg_token" ]; then
    [ "$cfg_unattended" = true ] && cfg_fail "Invalid configuration provided for url and token. Terminating unattended configuration."
    cfg_fail "The fake runner cannot prompt: give --url and --token."
  fi
  [ "$cfg_nodefault" = true ] && [ -z "$cfg_labels" ] && cfg_fail "Disabling default labels via --no-default-labels without specifying --labels is not supported"
  [ -n "$cfg_name" ] || cfg_name=$(uname -n)
  case "$cfg_name" in '' | *[!A-Za-z0-9._-]*) cfg_fail "Runner name '$cfg_name' is not valid (allowed: letters, digits, . _ -)" ;; esac
  [ -n "$cfg_work" ] || cfg_work=_work
  cfg_build_labels
  cfg_api=$(rn_api_base "$cfg_url") || cfg_fail "Invalid url: '$cfg_url'"
}

# Registration token → admin token (actions/runner-registration), as GetTenantCredential does.
cfg_tenant_credential() {
  _tc_event=$1
  rn_http_retry 5 POST "$cfg_api/actions/runner-registration" "RemoteAuth $cfg_token" "$RN_TMP/tenant" \
    "{\"url\":\"$(rn_json_escape "$cfg_url")\",\"runner_event\":\"$_tc_event\"}"
  [ "$RN_STATUS" = 200 ] || cfg_fail "Http response code: $(rn_http_reason "$RN_STATUS") from 'POST $cfg_api/actions/runner-registration'"
  cfg_admin_token=$(rn_json_str "$RN_TMP/tenant" token)
  cfg_server_url=$(rn_json_str "$RN_TMP/tenant" url)
  [ -n "$cfg_admin_token" ] && [ -n "$cfg_server_url" ] || cfg_fail "Unexpected answer from 'POST $cfg_api/actions/runner-registration'"
}

cfg_register() {
  _rg_group=""
  [ -n "$cfg_group" ] && _rg_group=",\"runner_group\":\"$(rn_json_escape "$cfg_group")\""
  _rg_body="{\"url\":\"$(rn_json_escape "$cfg_url")\",\"name\":\"$cfg_name\",\"labels\":$cfg_labels_json,\"ephemeral\":$cfg_ephemeral,\"updates_disabled\":$cfg_disableupdate,\"replace\":$cfg_replace,\"version\":\"$RUNNER_VERSION\"$_rg_group}"
  rn_http_retry 5 POST "$cfg_api/actions/runners/register" "Bearer $cfg_admin_token" "$RN_TMP/register" "$_rg_body"
  case "$RN_STATUS" in
    200) ;;
    409) cfg_fail "A runner exists with the same name" ;;
    404) [ -n "$cfg_group" ] && cfg_fail "Could not find any self-hosted runner group named \"$cfg_group\"."
      cfg_fail "Http response code: NotFound from 'POST $cfg_api/actions/runners/register'" ;;
    *) cfg_fail "Http response code: $(rn_http_reason "$RN_STATUS") from 'POST $cfg_api/actions/runners/register'" ;;
  esac
  cfg_agent_id=$(rn_json_raw "$RN_TMP/register" id)
  cfg_credential=$(rn_json_str "$RN_TMP/register" credential)
  cfg_pool_id=$(rn_json_raw "$RN_TMP/register" pool_id)
  _rg_server=$(rn_json_str "$RN_TMP/register" server_url)
  [ -n "$_rg_server" ] && cfg_server_url=$_rg_server
  [ -n "$cfg_agent_id" ] && [ -n "$cfg_credential" ] || cfg_fail "Unexpected answer from 'POST $cfg_api/actions/runners/register'"
  # The real runner refuses a server that does not echo these settings back.
  if [ "$cfg_ephemeral" = true ] && [ "$(rn_json_raw "$RN_TMP/register" ephemeral)" != true ]; then
    cfg_fail "Ephemeral runners are not supported by the server."
  fi
  if [ "$cfg_disableupdate" = true ] && [ "$(rn_json_raw "$RN_TMP/register" updates_disabled)" != true ]; then
    cfg_fail "Disabling updates is not supported by the server."
  fi
}

cfg_write_files() {
  _wf_old_umask=$(umask)
  umask 077
  printf '{"agentId":%s,"agentName":"%s","poolId":%s,"poolName":"%s","serverUrl":"%s","gitHubUrl":"%s","workFolder":"%s","ephemeral":%s,"disableUpdate":%s}\n' \
    "$cfg_agent_id" "$cfg_name" "${cfg_pool_id:-1}" "${cfg_group:-Default}" "$(rn_json_escape "$cfg_server_url")" \
    "$(rn_json_escape "$cfg_url")" "$(rn_json_escape "$cfg_work")" "$cfg_ephemeral" "$cfg_disableupdate" >"$RUNNER_ROOT/.runner"
  printf '{"scheme":"OAuth","data":{"clientId":"fake-%s","authorizationUrl":"%s/_apis/oauth2/token","requireFipsCryptography":"False"}}\n' \
    "$cfg_agent_id" "$(rn_json_escape "$cfg_server_url")" >"$RUNNER_ROOT/.credentials"
  printf '{"credential":"%s"}\n' "$cfg_credential" >"$RUNNER_ROOT/.credentials_rsaparams"
  chmod 600 "$RUNNER_ROOT/.credentials_rsaparams"
  umask "$_wf_old_umask"
}

cfg_configure_main() {
  cfg_parse_args "$@"
  cfg_validate
  echo
  echo "# Authentication"
  echo
  cfg_tenant_credential register
  echo "√ Connected to GitHub"
  echo
  echo "# Runner Registration"
  echo
  echo "Enter the name of the runner group to add this runner to: [press Enter for ${cfg_group:-Default}]"
  echo "Enter the name of runner: [press Enter for $cfg_name]"
  cfg_register
  [ "$cfg_replace" = true ] && echo "√ Successfully replaced the runner"
  echo "√ Runner successfully added"
  rn_log INFO "registered runner $cfg_name (id $cfg_agent_id) at $cfg_url"
  cfg_write_files
  echo "√ Runner connection is good"
  echo
  echo "# Runner settings"
  echo
  echo "√ Settings Saved."
  echo
}

cfg_remove_main() {
  cfg_parse_args "$@"
  _rm_local=false
  for _rm_arg in "$@"; do [ "$_rm_arg" = --local ] && _rm_local=true; done
  if [ "$_rm_local" != true ]; then
    [ -f "$RUNNER_ROOT/.runner" ] || cfg_fail "The runner is not configured."
    [ -n "$cfg_url" ] || cfg_url=$(rn_json_str "$RUNNER_ROOT/.runner" gitHubUrl)
    [ -n "$cfg_url" ] || cfg_fail "The runner was configured with a JIT config; give --url to remove it."
    [ -n "$cfg_token" ] || cfg_fail "Invalid configuration provided for token. Terminating unattended configuration."
    cfg_api=$(rn_api_base "$cfg_url") || cfg_fail "Invalid url: '$cfg_url'"
    echo
    echo "# Runner removal"
    echo
    cfg_tenant_credential remove
    _rm_id=$(rn_json_raw "$RUNNER_ROOT/.runner" agentId)
    rn_http_retry 5 POST "$cfg_api/actions/runners/remove" "Bearer $cfg_admin_token" "$RN_TMP/remove" "{\"id\":$_rm_id}"
    case "$RN_STATUS" in
      200 | 404) echo "√ Runner removed successfully" ;;
      *) cfg_fail "Http response code: $(rn_http_reason "$RN_STATUS") from 'POST $cfg_api/actions/runners/remove'" ;;
    esac
  fi
  rn_delete_local_config
  echo "√ Removed .credentials"
  echo "√ Removed .runner"
}
