// Fault injection: answers that fail, throttle, stall or drift, consumed in the order they were armed.
import type { FaultSpec } from "./types.js";

interface ArmedFault {
  spec: FaultSpec;
  remaining: number;
}

export interface FaultList {
  arm(spec: FaultSpec): void;
  /** Takes one matching fault (decrementing its count), or returns undefined. */
  take(method: string, path: string): FaultSpec | undefined;
  clear(): void;
  pending(): number;
}

export function createFaultList(): FaultList {
  let armed: ArmedFault[] = [];
  return {
    arm(spec) {
      armed.push({ spec, remaining: spec.times ?? 1 });
    },
    take(method, path) {
      const hit = armed.find((f) => matches(f.spec, method, path));
      if (hit === undefined) return undefined;
      hit.remaining -= 1;
      if (hit.remaining <= 0) armed = armed.filter((f) => f !== hit);
      return hit.spec;
    },
    clear() {
      armed = [];
    },
    pending() {
      return armed.length;
    },
  };
}

function matches(spec: FaultSpec, method: string, path: string): boolean {
  if (spec.method !== undefined && spec.method.toUpperCase() !== method.toUpperCase()) return false;
  if (spec.path === undefined) return true;
  return typeof spec.path === "string" ? path.includes(spec.path) : spec.path.test(path);
}

export function faultMessage(status: number): string {
  if (status === 429) return "API rate limit exceeded for user ID 1.";
  if (status === 403) return "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.";
  if (status === 502) return "Server Error";
  if (status === 503) return "Service Unavailable";
  return "Injected fault";
}
