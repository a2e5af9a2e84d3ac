#!/usr/bin/env bash
# Builds the Debian package dist-deb/runnerd_<version>_<arch>.deb (issue 15, item 1): the compiled
# CLI and daemon with their production node_modules in /usr/lib/runnerd, /usr/bin/runnerd, the
# systemd unit, the config's JSON Schema, the manual page and bash/zsh completions (generated from
# the program), and the example config in /usr/share/doc/runnerd. No /etc/runnerd/config.yaml:
# `runnerd init` writes it, and the unit waits for it (ConditionPathExists). better-sqlite3 is a native addon, so the package is for this machine's architecture and
# this Node.js major (its ABI); Depends says so. Maintainer scripts: deploy/debian/.
#
# Needs node/npm, dpkg-deb, g++ and make (better-sqlite3 is compiled here: npm_config_build_from_source,
# so nothing but the npm registry configured on this machine is reached). Idempotent: each run
# starts from an empty tree and replaces the .deb. Environment: DEB_MAINTAINER ("Name <address>"),
# DEB_OUT (output directory, default dist-deb).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
out=${DEB_OUT:-$src/dist-deb}
version=$(node -p 'require("./package.json").version')
arch=$(dpkg --print-architecture)
node_major=$(node -p 'process.versions.node.split(".")[0]')
maintainer=${DEB_MAINTAINER:-runnerd maintainers <runnerd@example.org>}
deb=runnerd_${version}_${arch}.deb
started=$(date +%s)
log() { echo "[build-deb] $*" >&2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/runnerd-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkg=$work/pkg
app=$pkg/usr/lib/runnerd
umask 022
mkdir -p "$app/bin" "$pkg/usr/bin" "$pkg/usr/lib/systemd/system" "$pkg/usr/share/runnerd" \
  "$pkg/usr/share/doc/runnerd" "$pkg/etc/runnerd" "$pkg/DEBIAN" "$pkg/usr/share/man/man1" \
  "$pkg/usr/share/bash-completion/completions" "$pkg/usr/share/zsh/vendor-completions"

# 1. The compiled code: `npm run build`'s tsconfig, into the package tree (so no stale files from
#    ./dist come along), without source maps (the .ts sources are not shipped).
log "tsc -> usr/lib/runnerd/dist"
npm run --silent build -- --outDir "$app/dist" --sourceMap false
install -m 0755 bin/runnerd "$app/bin/runnerd"
# What runnerd pushes into instances and images, found beside dist/src/agent/index.js (agent/index.ts).
# The agent script starts with #!, so lintian wants it executable (script-not-executable).
install -m 0755 src/agent/runner-agent.sh "$app/dist/src/agent/"
install -m 0644 src/agent/runnerd-agent.service "$app/dist/src/agent/"
install -m 0644 package.json package-lock.json "$app/"

# 2. Production dependencies, from the lockfile, better-sqlite3 compiled against this Node's headers.
log "npm ci --omit=dev (compiles better-sqlite3 for Node $(node --version))"
export npm_config_build_from_source=true
if [ -z "${npm_config_nodedir:-}" ] && [ -f /usr/include/node/node_version.h ]; then export npm_config_nodedir=/usr; fi
(cd "$app" && npm ci --omit=dev --no-audit --no-fund --loglevel=error)
rm -f "$app/package-lock.json"
rm -rf "$app/node_modules/.bin"
# Only the addon itself is needed at run time: not its C sources, the SQLite amalgamation or objects.
sqlite=$app/node_modules/better-sqlite3
find "$sqlite/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
find "$sqlite/build/Release" -mindepth 1 -maxdepth 1 ! -name better_sqlite3.node -exec rm -rf {} +
rm -rf "$sqlite/deps" "$sqlite/src"
if command -v strip >/dev/null; then strip --strip-unneeded --remove-section=.comment --remove-section=.note "$sqlite/build/Release/better_sqlite3.node"; fi
chmod 0644 "$sqlite/build/Release/better_sqlite3.node"
# What npm packages carry for their own development (tests, docs, examples, benchmarks, dotfiles,
# an HTML page loading scripts from CDNs) is not run and only makes lintian talk; at each
# package's top level only.
modules='(@[^/]+/)?[^/@.][^/]*(/node_modules/(@[^/]+/)?[^/]+)*'
find "$app/node_modules" -regextype posix-extended -type d \
  -regex ".*/node_modules/$modules/(test|tests|__tests__|docs|example|examples|benchmark|benchmarks|integration|scripts)" \
  -prune -exec rm -rf {} +
find "$app/node_modules" -mindepth 1 -name '.*' ! -name .package-lock.json -prune -exec rm -rf {} +
find "$app/node_modules" -type f -name '*.html' -delete
# Every module of the build loads with these node_modules alone (none needs a devDependency) and
# the addon opens a database; the command itself runs below. Left out: the emulator and
# `runnerd demo`, which need @octokit/openapi (a devDependency) and a source checkout.
# shellcheck disable=SC2016 # JavaScript, not shell: nothing to expand
(cd "$app" && node --input-type=module -e '
  import { readdirSync } from "node:fs";
  import { join } from "node:path";
  const files = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith(".js") ? [join(dir, e.name)] : []);
  const skip = /^dist\/src\/(emulator|cli\/demo)\//;
  for (const file of files("dist/src").filter((f) => !skip.test(f))) await import(`./${file}`);
  const { default: Database } = await import("better-sqlite3");
  new Database(":memory:").prepare("select 1").get();
')

# 3. The files around it: command, unit, config, schema, docs. The packaged unit runs
#    /usr/bin/runnerd; it drops SupplementaryGroups=lxd, as postinst puts the user in the lxd or
#    incus-admin group that exists (a unit naming a missing group does not start).
ln -s ../lib/runnerd/bin/runnerd "$pkg/usr/bin/runnerd"
sed -e 's|^ExecStart=/usr/local/bin/runnerd |ExecStart=/usr/bin/runnerd |' \
  -e 's|^Documentation=.*|Documentation=file:///usr/share/doc/runnerd/README.md|' \
  -e '/^SupplementaryGroups=/d' -e '/^# Access to the LXD (or Incus) socket/d' \
  deploy/systemd/runnerd.service >"$pkg/usr/lib/systemd/system/runnerd.service"
grep -q '^ExecStart=/usr/bin/runnerd ' "$pkg/usr/lib/systemd/system/runnerd.service"
chmod 0644 "$pkg/usr/lib/systemd/system/runnerd.service"
runnerd() { node "$app/bin/runnerd" "$@"; }
# The example, not a live config: `runnerd init` writes /etc/runnerd/config.yaml (and refuses to
# replace one without --force), so the package ships none, as a conffile or otherwise.
runnerd config example >"$pkg/usr/share/doc/runnerd/config.example.yaml"
chmod 0750 "$pkg/etc/runnerd"
commit_epoch=$(git log -1 --format=%ct 2>/dev/null || date +%s)
# Generated from the program itself, so they list exactly the commands and options it has.
SOURCE_DATE_EPOCH=$commit_epoch runnerd man | gzip -9n >"$pkg/usr/share/man/man1/runnerd.1.gz"
runnerd completion bash >"$pkg/usr/share/bash-completion/completions/runnerd"
runnerd completion zsh >"$pkg/usr/share/zsh/vendor-completions/_runnerd"
runnerd config schema >"$pkg/usr/share/runnerd/runnerd-config.schema.json"
if ! cmp -s "$pkg/usr/share/runnerd/runnerd-config.schema.json" schema/runnerd-config.schema.json; then
  log "schema/runnerd-config.schema.json is not what the code generates: run npm run schema"
  exit 1
fi
install -m 0644 README.md "$pkg/usr/share/doc/runnerd/README.md"
# Deliberate: the config and secrets directory is not world-readable (postinst sets the group).
mkdir -p "$pkg/usr/share/lintian/overrides"
printf '%s\n' 'runnerd: non-standard-dir-perm 0750 != 0755 [etc/runnerd/]' >"$pkg/usr/share/lintian/overrides/runnerd"
commit_date=$(date -R -d "@$commit_epoch")
printf 'runnerd (%s) unstable; urgency=medium\n\n  * Built from the runnerd source tree; see README.md.\n\n -- %s  %s\n' \
  "$version" "$maintainer" "$commit_date" | gzip -9n >"$pkg/usr/share/doc/runnerd/changelog.gz"
cat >"$pkg/usr/share/doc/runnerd/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: runnerd
Comment: The npm packages in /usr/lib/runnerd/node_modules keep their own licenses, in their
 directories and package.json files.

Files: *
Copyright: $(date -u -d "$commit_date" +%Y) runnerd contributors
License: MIT
 Permission is hereby granted, free of charge, to any person obtaining a copy of this software
 and associated documentation files (the "Software"), to deal in the Software without
 restriction, including without limitation the rights to use, copy, modify, merge, publish,
 distribute, sublicense, and/or sell copies of the Software, and to permit persons to whom the
 Software is furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in all copies or
 substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED, INCLUDING
 BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A PARTICULAR PURPOSE AND
 NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM,
 DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.
EOF

# npm leaves some files group-writable or executable without need; the package's modes are set here.
find "$pkg" -type d -exec chmod 0755 {} +
chmod 0750 "$pkg/etc/runnerd"
find "$pkg" -type f -perm /022 -exec chmod go-w {} +
find "$app/node_modules" -type f -perm /111 ! -name '*.node' -exec sh -c \
  'for f; do head -c2 "$f" | grep -q "^#!" || chmod a-x "$f"; done' sh {} +

# 4. DEBIAN/: control, md5sums, maintainer scripts (no conffiles: the config is init's, see above).
install -m 0755 deploy/debian/postinst deploy/debian/prerm deploy/debian/postrm "$pkg/DEBIAN/"
shlibs=
if command -v dpkg-shlibdeps >/dev/null; then
  mkdir -p "$work/shlibs/debian"
  printf 'Source: runnerd\n\nPackage: runnerd\nArchitecture: any\n' >"$work/shlibs/debian/control"
  shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O -e"$sqlite/build/Release/better_sqlite3.node" 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
fi
installed_size=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: runnerd
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $installed_size
Depends: nodejs (>= 20.19), nodejs (<< $((node_major + 1))), adduser${shlibs:+, $shlibs}
Recommends: lxd | incus, btrfs-progs
Section: admin
Priority: optional
Description: ephemeral self-hosted GitHub Actions runners in LXD/Incus containers
 runnerd keeps pools of self-hosted GitHub Actions runners in LXD or Incus
 system containers, each runner used for one job and then deleted: a floor of
 ready runners, scaled up to a ceiling by queued jobs. Registration tokens come
 from a GitHub App, a token, or are pushed by a scheduled workflow, so the
 server can hold no GitHub credential. It builds Docker-ready runner images,
 keeps each runner's logs and a job history, and serves metrics and a status
 page.
 .
 This package holds the daemon (runnerd.service), the runnerd command and the
 configuration's JSON Schema. Its Node.js addon (better-sqlite3) is built for
 Node.js $node_major.
EOF
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$pkg/DEBIAN/md5sums"
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/md5sums"

mkdir -p "$out"
rm -f "$out/$deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$out/$deb" >/dev/null
log "$out/$deb: $(du -h "$out/$deb" | cut -f1), $(dpkg-deb -c "$out/$deb" | wc -l) entries, $(($(date +%s) - started)) s"
echo "$out/$deb"
