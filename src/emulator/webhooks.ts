// Webhooks as GitHub sends them: a JSON POST per event and hook, signed with the hook's secret
// (`X-Hub-Signature-256`), sent after the state change, one at a time in event order, and
// recorded like GitHub's "Recent Deliveries". Tests can hold deliveries, release them reversed,
// redeliver one (same GUID and body) or post a hand-made body.
import { createHmac, randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { EmulatorState, JobAction } from "./state.js";
import { notifyChange } from "./state.js";
import type { JobRecord, RawWebhookInput, Violation, WebhookDelivery, WebhookInput } from "./types.js";
import { installationFor, pingPayload, workflowJobPayload, type PayloadContext } from "./webhook-payload.js";

/** GitHub gives up on a delivery after 10 s. */
const DELIVERY_TIMEOUT_MS = 10_000;
const USER_AGENT = "GitHub-Hookshot/5f1c2a9";

interface Hook extends Required<Pick<WebhookInput, "url" | "secret">> {
  id: number;
  events: string[];
  scope: WebhookInput["scope"];
  appId: number | undefined;
  createdAt: number;
}

interface Pending {
  record: WebhookDelivery;
  hook: Hook;
  body: string;
  target: { type: string; id: number };
}

export interface WebhookSenderDeps {
  state: EmulatorState;
  /** The emulator's URL, known once it listens. */
  origin(): string;
  /** Checks a payload against the `x-webhooks` schema `name`; null when the emulator does not validate. */
  check: ((name: string, payload: unknown) => string | null) | null;
  violations: Violation[];
}

export interface WebhookSender {
  add(input: WebhookInput & { ping?: boolean }): number;
  remove(hookId: number): void;
  deliveries(): WebhookDelivery[];
  redeliver(deliveryId: string): void;
  pause(): void;
  resume(opts?: { order?: "fifo" | "reverse" }): void;
  /** Resolves once nothing is queued or in flight (held deliveries while paused do not count). */
  idle(): Promise<void>;
  sendRaw(input: RawWebhookInput): Promise<{ status: number; body: string; deliveryId: string }>;
  close(): void;
}

export function signature(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

function coversJob(hook: Hook, state: EmulatorState, job: JobRecord): boolean {
  const owner = (job.repository.split("/")[0] ?? "").toLowerCase();
  if (hook.scope !== undefined) {
    const ok = "repo" in hook.scope ? hook.scope.repo.toLowerCase() === job.repository.toLowerCase() : hook.scope.org.toLowerCase() === owner;
    if (!ok) return false;
  }
  return hook.appId === undefined || installationFor(state, hook.appId, job.repository) !== undefined;
}

export function createWebhookSender(deps: WebhookSenderDeps): WebhookSender {
  const { state } = deps;
  const hooks = new Map<number, Hook>();
  const records: WebhookDelivery[] = [];
  const sent = new Map<string, Pending>();
  let queue: Pending[] = [];
  let paused = false;
  let inFlight = false;
  let nextHookId = 480_000_001;
  const aborter = new AbortController();
  const idleWaiters: Array<() => void> = [];
  const ctx = (): PayloadContext => ({ state, origin: deps.origin() });

  const enqueue: Enqueue = (hook, event, action, jobId, payload, target, id = randomUUID(), redelivery = false) => {
    const record: WebhookDelivery = { id, hookId: hook.id, event, action, jobId, redelivery, status: null, durationMs: null, createdAt: state.now(), deliveredAt: null };
    records.push(record);
    const pending: Pending = { record, hook, body: typeof payload === "string" ? payload : JSON.stringify(payload), target };
    sent.set(id, pending);
    queue.push(pending);
    pump();
  };

  // One delivery at a time, so the receiver sees events in order unless a test reorders them.
  function pump(): void {
    if (inFlight || paused || aborter.signal.aborted) return;
    const next = queue.shift();
    if (next === undefined) {
      for (const wake of idleWaiters.splice(0)) wake();
      return;
    }
    inFlight = true;
    void deliver(next, aborter.signal, state).finally(() => {
      inFlight = false;
      notifyChange(state);
      pump();
    });
  }

  state.jobObservers.add((job: JobRecord, action: JobAction) => queueJobEvent(deps, hooks, job, action, enqueue));

  return {
    add(input) {
      const hook = newHook(nextHookId++, input, state.now());
      hooks.set(hook.id, hook);
      if (input.ping !== false) {
        const payload = pingPayload(ctx(), hook);
        checkPayload(deps, "ping", payload, hook.url);
        enqueue(hook, "ping", null, null, payload, { type: "repository", id: 0 });
      }
      return hook.id;
    },
    remove: (hookId) => void hooks.delete(hookId),
    deliveries: () => records.map((r) => ({ ...r })),
    redeliver(deliveryId) {
      const original = sent.get(deliveryId);
      if (original === undefined) throw new Error(`no delivery ${deliveryId}`);
      const { record, hook, body, target } = original;
      enqueue(hook, record.event, record.action, record.jobId, body, target, deliveryId, true);
    },
    pause: () => void (paused = true),
    resume(opts) {
      paused = false;
      if (opts?.order === "reverse") queue = queue.reverse();
      pump();
    },
    idle: () => new Promise<void>((resolve) => {
      if (!inFlight && (queue.length === 0 || paused)) resolve();
      else idleWaiters.push(resolve);
    }),
    sendRaw: (input) => sendRaw(hooks, input),
    close() {
      aborter.abort();
      queue = [];
      for (const wake of idleWaiters.splice(0)) wake();
    },
  };
}

type Enqueue = (hook: Hook, event: string, action: string | null, jobId: number | null, payload: unknown, target: Pending["target"], id?: string, redelivery?: boolean) => void;

/** Queues a workflow_job delivery to every hook that covers the job, built from the job as it is at this transition. */
function queueJobEvent(deps: WebhookSenderDeps, hooks: Map<number, Hook>, job: JobRecord, action: JobAction, enqueue: Enqueue): void {
  const { state } = deps;
  for (const hook of hooks.values()) {
    if (!hook.events.includes("workflow_job") || !coversJob(hook, state, job)) continue;
    const installation = hook.appId === undefined ? undefined : installationFor(state, hook.appId, job.repository);
    const { payload, target } = workflowJobPayload({ state, origin: deps.origin() }, job, action, installation);
    checkPayload(deps, `workflow-job-${action.replace("_", "-")}`, payload, hook.url);
    enqueue(hook, "workflow_job", action, job.id, payload, target);
  }
}

function newHook(id: number, input: WebhookInput, now: number): Hook {
  return { id, url: input.url, secret: input.secret, events: [...(input.events ?? ["workflow_job"])], scope: input.scope, appId: input.appId, createdAt: now };
}

function checkPayload(deps: WebhookSenderDeps, name: string, payload: unknown, url: string): void {
  const errors = deps.check?.(name, payload) ?? null;
  if (errors !== null) deps.violations.push({ at: Date.now(), method: "POST", path: url, operationId: name, direction: "webhook", errors });
}

function headersFor(p: Pending): Record<string, string> {
  return {
    "content-type": "application/json",
    "user-agent": USER_AGENT,
    "x-github-event": p.record.event,
    "x-github-delivery": p.record.id,
    "x-github-hook-id": String(p.hook.id),
    "x-github-hook-installation-target-type": p.hook.appId === undefined ? p.target.type : "integration",
    "x-github-hook-installation-target-id": String(p.hook.appId ?? p.target.id),
    "x-hub-signature-256": signature(p.hook.secret, p.body),
    "x-hub-signature": `sha1=${createHmac("sha1", p.hook.secret).update(p.body).digest("hex")}`,
  };
}

/** Posts one delivery and records its answer (status 0: no answer, e.g. a timeout). */
async function deliver(p: Pending, closed: AbortSignal, state: EmulatorState): Promise<void> {
  const started = performance.now();
  try {
    const res = await fetch(p.hook.url, {
      method: "POST", headers: headersFor(p), body: p.body,
      signal: AbortSignal.any([closed, AbortSignal.timeout(DELIVERY_TIMEOUT_MS)]),
    });
    await res.arrayBuffer();
    p.record.status = res.status;
  } catch {
    p.record.status = 0;
  }
  p.record.durationMs = Math.round((performance.now() - started) * 10) / 10;
  p.record.deliveredAt = state.now();
}

async function sendRaw(hooks: Map<number, Hook>, input: RawWebhookInput): Promise<{ status: number; body: string; deliveryId: string }> {
  const hook = input.hookId !== undefined ? hooks.get(input.hookId) : hooks.size === 1 ? [...hooks.values()][0] : undefined;
  const url = input.url ?? hook?.url;
  if (url === undefined) throw new Error("sendRawWebhook: give url, or hookId of a known hook (or add exactly one hook)");
  const deliveryId = input.headers?.["x-github-delivery"] ?? randomUUID();
  const headers: Record<string, string | undefined> = {
    "content-type": "application/json", "user-agent": USER_AGENT, "x-github-event": "workflow_job", "x-github-delivery": deliveryId,
  };
  if (hook !== undefined) headers["x-github-hook-id"] = String(hook.id);
  if (input.signWith !== undefined) headers["x-hub-signature-256"] = signature(input.signWith, input.body);
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = value;
  const defined = Object.fromEntries(Object.entries(headers).filter((e): e is [string, string] => e[1] !== undefined));
  const res = await fetch(url, { method: "POST", headers: defined, body: input.body, signal: AbortSignal.timeout(DELIVERY_TIMEOUT_MS) });
  return { status: res.status, body: await res.text(), deliveryId };
}
