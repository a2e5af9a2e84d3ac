// A commented example config file, printed by `runnerd config example` and kept valid by a test.
// Its first line points editors (yaml-language-server) at the JSON Schema the Debian package
// installs, relative to /etc/runnerd/config.yaml (json-schema.ts: INSTALLED_SCHEMA_PATH).

const EXAMPLE = `# yaml-language-server: $schema=../../usr/share/runnerd/runnerd-config.schema.json
# runnerd configuration. Durations: "500ms", "15s", "5m", "6h", or a number of seconds.

# Marks the LXD instances this runnerd owns (recorded in user.runnerd.* keys); [a-z0-9-], at most 32.
controller_id: runnerd
# SQLite history and pushed registration tokens (kept mode 0600).
state_dir: /var/lib/runnerd
# Host-wide cap on runners across all pools.
max_runners: 10
# Safety-net reconcile pass; LXD events drive the normal case.
resync_interval: 15s
# A runner not listening for jobs after this long is deleted.
boot_timeout: 5m
job_timeout: 6h
# Never start a runner with a registration token expiring sooner than this.
token_min_validity: 5m
# At most this many runners being created at once.
spawn_concurrency: 4
# At most this many runners being collected or deleted at once; a bound of its own, so finished
# runners are collected at once even while a burst of spawns fills the spawn slots.
collect_concurrency: 8
# How often to look for a new actions/runner release (GitHub rejects runners 30 days out of date).
runner_check_interval: 24h
# On SIGTERM the daemon exits within this, even with LXD calls hanging (they are aborted halfway
# through); running runners are left for the next start. Keep it under systemd's TimeoutStopSec.
shutdown_timeout: 20s
log_level: info   # trace | debug | info | warn | error

lxd:
  # Leave out socket and url to use the local LXD or Incus socket.
  # socket: /var/snap/lxd/common/lxd/unix.socket
  # Or a remote (cluster) endpoint, with a trusted client certificate:
  # url: https://lxd.example.com:8443
  # client_cert: /etc/runnerd/client.crt
  # client_key: /etc/runnerd/client.key
  # server_cert: /etc/runnerd/server.crt
  project: default
  storage_pool: runners   # btrfs or zfs, so Docker works inside runners

github:
  main:
    url: https://github.com          # or your GitHub Enterprise Server
    # api_url: https://api.github.com  # derived from url when left out
    auth:
      # push: no GitHub credential on this server; a scheduled workflow pushes registration
      # tokens (\`runnerd workflow print --scope SCOPE --via oidc|ssh\` writes it).
      type: push
      # Over SSH: authorized_keys runs \`runnerd token set --ssh-key NAME\`; NAME may push for:
      ssh_keys:
        renewer: [repo:my-org/my-repo]
      # Over HTTPS, proven by the workflow's OIDC token (served on http.listen, behind your TLS proxy):
      # oidc:
      #   audience: https://runnerd.example.com
      #   allow:
      #     - repository: my-org/infra          # required: a repository or owner (GitHub signs for all)
      #       ref: refs/heads/main
      #       # Pin the workflow too (or job_workflow_ref, environment, or event_name: [schedule,
      #       # workflow_dispatch]): else any workflow of my-org/infra, pull_request_target ones
      #       # running code from forks included, could push tokens (config check warns).
      #       workflow_ref: my-org/infra/.github/workflows/renew-runner-token.yml@refs/heads/main
      #       scopes: [repo:my-org/my-repo]
    # The workflow_job webhook's secret (0600, owned by runnerd). To rotate it: the new one in
    # webhook_secret_file, the old one in webhook_secret_previous_file; reload, change the hook in
    # GitHub, and drop the old file once runnerd_webhook_signatures_total{secret="previous"} stays put.
    # webhook_secret_file: /etc/runnerd/webhook-secret
    # webhook_secret_previous_file: /etc/runnerd/webhook-secret.old
  # With a credential on the server, runnerd mints a just-in-time config per runner instead:
  # app:
  #   auth: { type: app, app_id: 123456, private_key_file: /etc/runnerd/app.pem }   # 0600, owned by runnerd
  # pat:
  #   auth: { type: pat, token_file: /etc/runnerd/pat }                            # 0600, owned by runnerd

# runnerd's HTTP server: token push, webhooks, /metrics, the status page and /healthz.
http:
  listen: 127.0.0.1:8780
  # Behind a TLS reverse proxy: the proxies' addresses (or CIDRs), so the client address for rate
  # limits and logs is the rightmost X-Forwarded-For entry they did not write. A number of hops
  # also works, if runnerd cannot be reached except through them. false: the socket's peer.
  trust_proxy: false                 # e.g. [127.0.0.1, "::1"]

pools:
  - name: web                        # [a-z0-9-], at most 20
    # connection: main               # needed only with more than one connection
    scope:
      repo: my-org/my-repo           # or: org: my-org (with optional runner_group: Default)
    labels: [linux, docker]          # runs-on: [self-hosted, linux, docker]
    runners:
      floor: 2                       # runners kept ready for a job (formerly "idle")
      ceiling: 4                     # runners at most, busy ones included; queued jobs scale up to it (formerly "max")
      idle_timeout: 5m               # runners above the floor idle this long are removed
    image: runnerd/default           # built by \`runnerd image build default\`; or any alias/fingerprint
    name_prefix: rd                  # runner names: rd-web-<random>
    instance:
      profiles: [default]
      # Each runner's limits; left out, they come from the host: every CPU, 80% of its memory
      # split over the runners that can run at once (at least 2GiB), 10000 processes, a 20GiB disk.
      cpu: 2                         # limits.cpu
      memory: 4GiB                   # limits.memory (swap off: over it, the job is OOM-killed)
      processes: 10000               # limits.processes
      disk: 20GiB                    # the root disk's size (enforced on btrfs, zfs, lvm, ceph)
      docker: true                   # nesting + mknod/setxattr interception, so Docker runs inside
      # idmap_isolated: true         # a uid/gid range of its own per runner
      config: {}                     # raw LXD config, overriding runnerd's
      devices: {}

images:
  default:                           # runnerd image build default -> LXD alias runnerd/default
    # source: ubuntu:24.04           # default: ubuntu:24.04 on LXD, images:ubuntu/24.04 on Incus;
                                     # or another remote:alias, a local alias, a fingerprint
    packages: [git, curl, jq, unzip, zip, xz-utils, openssh-client]
    docker: true                     # docker.io, Compose, the runner user in the docker group
    runner:
      version: latest                # or pinned, e.g. "2.330.0"
    pre_pull: []                     # Docker images baked in, e.g. [postgres:16]
    steps: []                        # shell run as root in the builder, e.g. ["apt-get install -y make"]
    # proxy: http://127.0.0.1:3142   # apt/curl proxy for the builder (loopback works via a proxy device)
    auto_rebuild: false              # rebuild and roll when actions/runner releases a new version
`;

export function exampleConfig(): string {
  return EXAMPLE;
}
