// A background job that runs after a first delay and then every interval (read each time, so a
// reload applies), whose concurrent callers share one run, and which never reschedules itself
// once stopped: a run still going at shutdown must not start another against a closed store.
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
    this.timer = setTimeout(() => {
      void this.run().catch(() => undefined).finally(() => this.schedule(this.intervalMs()));
    }, delayMs);
    this.timer.unref();
  }
}
