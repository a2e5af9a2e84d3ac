// Bounds how many tasks of one kind run at once, so a burst of spawns cannot swamp the daemon or
// LXD. Tasks wait in order; `skip` lets a waiting task's owner drop it before it starts (shutdown).

export class Limiter {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** Tasks running now. */
  get active(): number {
    return this.running;
  }

  /** Tasks waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` once a slot is free; resolves to undefined without running it when `skip()` says so by then. */
  async run<T>(task: () => Promise<T>, skip: () => boolean = () => false): Promise<T | undefined> {
    if (this.running >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.running++;
    try {
      if (skip()) return undefined;
      return await task();
    } finally {
      this.running--;
      this.waiting.shift()?.();
    }
  }
}
