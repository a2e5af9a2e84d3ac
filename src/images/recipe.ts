// The build recipe: the shell script the builder instance runs, and the hash that names a recipe.
// Pure: the builder supplies the paths, this file decides what runs, in which order.
import { createHash } from "node:crypto";
import type { ImageConfig } from "../config/index.js";

/** Where the builder puts its inputs inside the instance; all removed before publishing. */
export const BUILD_DIR = "/root/runnerd-build";
export const buildPaths = {
  script: `${BUILD_DIR}/build.sh`,
  log: "/root/runnerd-build.log",
  runnerTarball: `${BUILD_DIR}/actions-runner.tar.gz`,
  agent: `${BUILD_DIR}/runner-agent.sh`,
  agentUnit: `${BUILD_DIR}/runnerd-agent.service`,
  step: (index: number) => `${BUILD_DIR}/step-${index + 1}.sh`,
} as const;

/** The runner user of GitHub's hosted images: uid 1001, passwordless sudo, in the docker group. */
export const RUNNER_USER = { name: "runner", uid: 1001 } as const;

export interface RecipeInput {
  image: ImageConfig;
  runnerVersion: string;
  /** The proxy URL as the builder reaches it (through a proxy device when it is on loopback). */
  proxyUrl: string | undefined;
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A proxy URL as shown in progress output: any user and password replaced. */
export function redactUserinfo(url: string): string {
  return url.replace(/^([a-z]+:\/\/)[^/@]*@/i, "$1***@");
}

export function renderBuildScript(input: RecipeInput): string {
  const { image } = input;
  const lines: string[] = [
    ...bootLines(),
    ...(input.proxyUrl !== undefined ? proxyLines(input.proxyUrl) : []),
    ...packageLines(image),
    ...runnerLines(image, input.runnerVersion),
    ...(image.docker ? dockerLines() : []),
    ...(image.pre_pull.length > 0 ? ["", `step "pre-pulling Docker images: ${image.pre_pull.join(" ")}"`, ...image.pre_pull.map((ref) => `docker pull ${q(ref)}`)] : []),
    ...image.steps.flatMap((text, index) => {
      const title = (text.split("\n").find((l) => l.trim() !== "") ?? "").trim().slice(0, 60);
      return ["", `step ${q(`step ${index + 1}: ${title}`)}`, `sh -eu ${buildPaths.step(index)}`];
    }),
    ...cleanupLines(image),
  ];
  return lines.join("\n");
}

function bootLines(): string[] {
  return [
    "#!/bin/sh",
    "# Written by runnerd image build; runs once as root in the builder instance.",
    "set -eu",
    'step() { printf "\\n==> %s\\n" "$*"; }',
    "export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8",
    "",
    'step "waiting for the builder to finish booting"',
    // systemd reports "starting" until boot is done; "degraded" still lets apt and docker work.
    "i=0",
    'while [ "$i" -lt 240 ]; do',
    '  case "$(systemctl is-system-running 2>/dev/null || true)" in running|degraded) break ;; esac',
    "  sleep 0.5; i=$((i + 1))",
    "done",
    "command -v apt-get >/dev/null || { echo 'runnerd image build supports Debian and Ubuntu sources (apt-get not found)' >&2; exit 1; }",
  ];
}

function proxyLines(proxyUrl: string): string[] {
  return [
    "",
    `step ${q(`using the proxy ${redactUserinfo(proxyUrl)}`)}`,
    `printf 'Acquire::http::Proxy "%s";\\nAcquire::https::Proxy "%s";\\n' ${q(proxyUrl)} ${q(proxyUrl)} > /etc/apt/apt.conf.d/90runnerd-build-proxy`,
    `export http_proxy=${q(proxyUrl)} https_proxy=${q(proxyUrl)} HTTP_PROXY=${q(proxyUrl)} HTTPS_PROXY=${q(proxyUrl)}`,
  ];
}

/** The packages, Docker Compose, and the runner user (who needs sudo, and docker when it is there). */
function packageLines(image: ImageConfig): string[] {
  const packages = ["sudo", "ca-certificates", "tar", "gzip", ...(image.docker ? ["docker.io"] : []), ...image.packages];
  const compose = [
    "",
    'step "installing Docker Compose"',
    // Ubuntu ships Compose v2 (`docker compose`); Debian 12 only has v1 (`docker-compose`).
    "if apt-cache show docker-compose-v2 >/dev/null 2>&1; then apt-get install -y --no-install-recommends docker-compose-v2",
    "else apt-get install -y --no-install-recommends docker-compose; fi",
  ];
  return [
    "",
    `step "installing packages: ${packages.join(" ")}"`,
    "apt-get update",
    `apt-get install -y --no-install-recommends ${[...new Set(packages)].map(q).join(" ")}`,
    ...(image.docker && image.docker_compose ? compose : []),
    "",
    `step "creating the ${RUNNER_USER.name} user (uid ${RUNNER_USER.uid}, passwordless sudo${image.docker ? ", docker group" : ""})"`,
    `id -u ${RUNNER_USER.name} >/dev/null 2>&1 || useradd --create-home --uid ${RUNNER_USER.uid} --shell /bin/bash ${RUNNER_USER.name}`,
    ...(image.docker ? [`usermod -aG docker ${RUNNER_USER.name}`] : []),
    `printf '%s ALL=(ALL) NOPASSWD:ALL\\n' ${RUNNER_USER.name} > /etc/sudoers.d/${RUNNER_USER.name}`,
    `chmod 0440 /etc/sudoers.d/${RUNNER_USER.name}`,
  ];
}

/** actions/runner, its dependencies, and the runnerd agent that starts it. */
function runnerLines(image: ImageConfig, runnerVersion: string): string[] {
  return [
    "",
    `step "installing actions/runner ${runnerVersion}"`,
    "rm -rf /opt/actions-runner && mkdir -p /opt/actions-runner",
    `tar -xzf ${buildPaths.runnerTarball} -C /opt/actions-runner`,
    `chown -R ${RUNNER_USER.name}:${RUNNER_USER.name} /opt/actions-runner`,
    "",
    'step "installing the runner\'s dependencies (bin/installdependencies.sh)"',
    "/opt/actions-runner/bin/installdependencies.sh",
    "",
    'step "installing the runnerd agent"',
    "install -d -m 0755 /opt/runnerd /var/lib/runnerd",
    `install -m 0755 ${buildPaths.agent} /opt/runnerd/runner-agent.sh`,
    `install -m 0644 ${buildPaths.agentUnit} /etc/systemd/system/runnerd-agent.service`,
    "systemctl enable runnerd-agent.service",
  ];
}

function dockerLines(): string[] {
  return [
    "",
    'step "configuring Docker (overlay2)"',
    // Docker would pick its btrfs driver on a btrfs pool; its subvolumes do not survive
    // publishing (LXD tars the root file system), overlay2 layers do, and hosted runners use it.
    "mkdir -p /etc/docker",
    `[ -s /etc/docker/daemon.json ] || printf '{\\n  "storage-driver": "overlay2"\\n}\\n' > /etc/docker/daemon.json`,
    "systemctl restart docker",
    "docker info --format 'Docker {{.ServerVersion}}, storage driver {{.Driver}}'",
  ];
}

function cleanupLines(image: ImageConfig): string[] {
  return [
    "",
    'step "cleaning up"',
    ...(image.docker ? ["systemctl stop docker.service docker.socket containerd.service 2>/dev/null || true"] : []),
    "apt-get clean",
    "rm -rf /var/lib/apt/lists/* /etc/apt/apt.conf.d/90runnerd-build-proxy /tmp/* /var/tmp/*",
    // Each runner must get its own machine id; logs from the build are noise in every job.
    ": > /etc/machine-id",
    "rm -f /var/lib/dbus/machine-id",
    "find /var/log -type f -exec truncate -s 0 {} +",
    // An agent that finds its first-boot marker or a result powers off at once (a second boot):
    // an image must carry neither, whatever its recipe's steps ran.
    "rm -rf /var/lib/runnerd/.booted /var/lib/runnerd/result.json /var/lib/runnerd/status",
    `rm -rf ${BUILD_DIR}`,
    'step "done"',
    "",
  ];
}

/**
 * Names a recipe: everything that decides the image's content. Same hash, same image (given the
 * same source image), so `image build --if-changed` and auto-rebuilds can skip a build.
 */
export function recipeHash(input: { image: ImageConfig; runnerSha256: string; agentScript: string; agentUnit: string; runnerVersion: string }): string {
  const { image } = input;
  // Rendered without the proxy: it changes how packages arrive, not what the image holds.
  const buildScript = renderBuildScript({ image, runnerVersion: input.runnerVersion, proxyUrl: undefined });
  const recipe = {
    source: image.source,
    packages: image.packages,
    docker: image.docker,
    docker_compose: image.docker_compose,
    pre_pull: image.pre_pull,
    files: image.files,
    steps: image.steps,
    runnerSha256: input.runnerSha256,
    agent: sha(input.agentScript),
    unit: sha(input.agentUnit),
    script: sha(buildScript),
  };
  return sha(JSON.stringify(recipe)).slice(0, 16);
}

function sha(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}
