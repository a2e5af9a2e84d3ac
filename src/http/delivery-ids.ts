// Delivery ids already handled, to answer a redelivery (GitHub retries, or an operator's
// "Redeliver") without acting twice. Bounded: the oldest-used id goes first.
export class DeliveryIdCache {
  private readonly ids = new Map<string, true>();

  constructor(private readonly capacity = 10_000) {}

  /** True if `id` was added before (and marks it recently used). */
  seen(id: string): boolean {
    if (!this.ids.has(id)) return false;
    this.ids.delete(id);
    this.ids.set(id, true);
    return true;
  }

  add(id: string): void {
    this.ids.delete(id);
    this.ids.set(id, true);
    if (this.ids.size > this.capacity) {
      const oldest = this.ids.keys().next();
      if (oldest.done !== true) this.ids.delete(oldest.value);
    }
  }

  get size(): number {
    return this.ids.size;
  }
}
