# Shared by scripts/start-apt-cache.sh and test/support/images/build-debian-source-image.sh:
# the machine's apt sources, read at run time so no mirror is written into the project.
# shellcheck shell=bash

# Enabled `deb` entries of the apt sources, one "SUITE URI" a line (deb822 and one-line style).
apt_sources() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -r "$f" ] || continue
    awk '
      function flush(  n, m, i, j, u, s) {
        if (types ~ /(^|[ \t])deb([ \t]|$)/ && enabled != "no") {
          n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
          for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (u[i] != "" && s[j] != "") print s[j], u[i]
        }
        types = uris = suites = enabled = key = ""
      }
      /^#/ { next }
      /^[ \t]*$/ { flush(); next }
      /^[ \t]/ { v = $0; sub(/^[ \t]+/, "", v)
                 if (key == "types") types = types " " v; else if (key == "uris") uris = uris " " v
                 else if (key == "suites") suites = suites " " v
                 next }
      { key = tolower($0); sub(/:.*/, "", key); v = $0; sub(/^[^:]*:[ \t]*/, "", v)
        if (key == "types") types = v; else if (key == "uris") uris = v
        else if (key == "suites") suites = v; else if (key == "enabled") enabled = tolower(v) }
      END { flush() }' "$f"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    awk '{ sub(/#.*/, "") }
      $1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i < NF && $i !~ /\]$/) i++; i++ }
                    if (i + 1 <= NF) print $(i + 1), $i }' "$f"
  done
}

# The http mirror serving bookworm (else any Debian release suite), without a trailing slash.
debian_mirror() {
  if [ -n "${RUNNERD_DEBIAN_MIRROR:-}" ]; then echo "${RUNNERD_DEBIAN_MIRROR%/}"; return; fi
  apt_sources | awk '
    $2 !~ /^http:\/\// { next }
    $1 == "bookworm" { print $2; found = 1; exit }
    !other && $1 ~ /^(bullseye|trixie|forky|sid|oldstable|stable|testing|unstable)$/ { other = $2 }
    END { if (!found && other) print other }' | sed 's:/*$::'
}
