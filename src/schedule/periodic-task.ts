// A background job that runs after a first delay and then every interval (read each time, so a
// reload applies), whose concurrent callers share one run, and which never reschedules itself
// once stopped: a run still going at shutdown must not start another against a closed store.
// An interval longer than a timer can hold (a configured `30d`) is waited in steps.
import { maxTimerMs } from "./timers.js";

export class PeriodicTask<T> {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<T> | undefined;
  private stopped = false;

  constructor(
    private readonly task: () => Promise<T>,
    private readonly intervalMs: () => number,
  ) {}

  start(firstDelayMs: number): void {
    this.schedule(firstDelayMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running?.catch(() => undefined);
  }

  /** Runs now (or joins the run under way); `task` overrides the default one for this run. */
  run(task: () => Promise<T> = this.task): Promise<T> {
    this.running ??= task().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (this.stopped) return;
    // NaN (a bad interval) would fire at once, and keep doing so: wait the longest step instead.
    const left = Number.isFinite(delayMs) ? Math.max(0, delayMs) : maxTimerMs;
    if (left > maxTimerMs) {
      this.timer = setTimeout(() => this.schedule(left - maxTimerMs), maxTimerMs);
    } else {
      this.timer = setTimeout(() => {
        void this.run().catch(() => undefined).finally(() => this.schedule(this.intervalMs()));
      }, left);
    }
    this.timer.unref();
  }
}
