// The labels a JIT runner registers with. generate-jitconfig adds no default labels, so runnerd
// gives what config.sh would (self-hosted, OS, architecture), then the pool's, then its own.

/** Marks runnerd's registrations, so the sweep never touches runners someone else registered. */
export function controllerLabel(controllerId: string): string {
  return `runnerd-${controllerId}`;
}

export function runnerArchLabel(arch: string = process.arch): string {
  return arch === "arm64" ? "ARM64" : arch === "arm" ? "ARM" : "X64";
}

export function jitLabels(poolLabels: readonly string[], controllerId: string, arch: string = process.arch, defaultLabels = true): string[] {
  const defaults = defaultLabels ? ["self-hosted", "Linux", runnerArchLabel(arch)] : [];
  const labels = [...defaults, ...poolLabels, controllerLabel(controllerId)];
  const seen = new Set<string>();
  return labels.filter((label) => {
    const key = label.toLowerCase();
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
