// The bash of the renewal workflow's one step. Every value comes in through the step's `env:`,
// so nothing from the config is ever parsed by the shell; the registration token lives only in
// a shell variable and pipes, never printed and never written to disk.

/** Mints the registration token into `$grant` with the PAT in `$GH_TOKEN`. */
const mint = String.raw`# The registration token stays in this shell's memory: never printed, never written to disk.
if ! grant=$(curl -sS --fail-with-body --retry 3 -X POST \
    -H "Authorization: Bearer $GH_TOKEN" \
    -H "Accept: application/vnd.github+json" -H "X-GitHub-Api-Version: 2022-11-28" \
    "$MINT_URL"); then
  # GitHub's message only: an answer cut short could hold part of a token.
  echo "GitHub did not mint a registration token: $(printf '%s' "$grant" | jq -r '.message? // empty' 2>/dev/null || true)" >&2
  exit 1
fi`;

/**
 * RUNNERD_URL must be https: the OIDC token is a bearer credential for runnerd until it expires,
 * and the registration token travels with it. Checked at run time because a repository variable
 * can say anything; http:// is let through only to the runner's own loopback (a local test).
 */
const requireHttps = String.raw`if ! [[ "$RUNNERD_URL" =~ ^https:// || "$RUNNERD_URL" =~ ^http://(127\.0\.0\.1|\[::1\]|localhost)(:[0-9]+)?(/.*)?$ ]]; then
  echo "RUNNERD_URL must be an https:// URL: the OIDC token and the registration token must not travel in clear" >&2
  exit 1
fi`;

const oidcFetch = String.raw`: "${"$"}{ACTIONS_ID_TOKEN_REQUEST_URL:?no OIDC token service: the workflow needs permissions: id-token: write}"
encoded_audience=$(jq -rn --arg audience "$AUDIENCE" '$audience | @uri')
oidc=$(curl -sS --fail --retry 3 -H "Authorization: bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN" \
  "$ACTIONS_ID_TOKEN_REQUEST_URL&audience=$encoded_audience" | jq -er .value)`;

const oidcPush = String.raw`# runnerd answers 201 {"scope","expires_at"} or 4xx {"message"}. curl retries 429, 5xx and a
# refused connection (runnerd restarting) within two minutes, well inside the OIDC token's life.
printf '%s' "$grant" | jq -c --arg scope "$SCOPE" '{token, expires_at, scope: $scope}' \
  | curl -sS --fail-with-body --retry 4 --retry-connrefused --retry-max-time 120 \
      -H "Authorization: Bearer $oidc" -H "Content-Type: application/json" \
      --data-binary @- "${"$"}{RUNNERD_URL%/}/api/v1/registration-token"
echo`;

const sshFiles = String.raw`umask 077
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '%s\n' "$SSH_KEY" > "$dir/key"
printf '%s\n' "$KNOWN_HOSTS" > "$dir/known_hosts"`;

const sshPush = String.raw`# runnerd's forced command (token set --ssh-key) reads the scope from the command asked for
# here and the token from stdin. ssh exits 255 when it could not get through: try again then.
for delay in 0 10 30; do
  sleep "$delay"
  status=0
  printf '%s' "$grant" | ssh -i "$dir/key" -o IdentitiesOnly=yes -o UserKnownHostsFile="$dir/known_hosts" \
    -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=20 "$RUNNERD_HOST" "$SCOPE" || status=$?
  [ "$status" -eq 255 ] || exit "$status"
  echo "could not reach $RUNNERD_HOST over ssh; trying again" >&2
done
exit 255`;

/** Fails early, with the fix, when a repository variable the workflow reads is not set (no quotes in `what`: bash would take them as quoting). */
function requireVariable(name: string, what: string): string {
  return `: "\${${name}:?set the repository variable ${name} to ${what}}"`;
}

export function oidcScript(urlFromVariable: boolean): string {
  const check = urlFromVariable ? [requireVariable("RUNNERD_URL", "the public https:// URL of runnerd")] : [];
  return ["set -euo pipefail", ...check, requireHttps, oidcFetch, mint, oidcPush].join("\n");
}

export function sshScript(hostFromVariable: boolean): string {
  const check = hostFromVariable ? [requireVariable("RUNNERD_HOST", "user@host of the runnerd server")] : [];
  return ["set -euo pipefail", ...check, sshFiles, mint, sshPush].join("\n");
}
