// LXD settings that let Docker run inside an unprivileged runner container.

/**
 * What Docker needs inside an unprivileged container: nesting (it mounts proc and sysfs itself),
 * and LXD intercepting mknod and setxattr so that image layers with device nodes, whiteouts and
 * trusted.* attributes unpack. Operator `instance.config` entries override these.
 */
export const DOCKER_READY_CONFIG: Readonly<Record<string, string>> = {
  "security.nesting": "true",
  "security.syscalls.intercept.mknod": "true",
  "security.syscalls.intercept.setxattr": "true",
};
