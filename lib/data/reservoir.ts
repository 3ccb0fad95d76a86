import type { Random } from './seeded-random';

/**
 * A uniform sample of fixed size k from a stream of unknown length, in one pass and O(k) memory
 * (Li's Algorithm L: after the reservoir fills, it draws how many items to skip instead of one random
 * number per item, so a long stream costs O(k·log(n/k)) draws). Feed it with `offer`, in any number of
 * chunks; `sample()` is the current sample, in reservoir-slot order.
 */
export class Reservoir<T> {
  private readonly slots: T[] = [];
  private seen = 0;
  /** Index (0-based, in stream order) of the next item that enters the reservoir. */
  private nextAccepted = 0;
  private w = 1;

  constructor(
    readonly capacity: number,
    private readonly random: Random,
  ) {
    if (!Number.isInteger(capacity) || capacity < 0)
      throw new RangeError(`Reservoir capacity must be a non-negative integer, got ${capacity}`);
    if (capacity > 0) this.advance();
  }

  get itemsSeen(): number {
    return this.seen;
  }

  offer(item: T): void {
    const index = this.seen;
    this.seen += 1;
    if (this.capacity === 0) return;
    if (index < this.capacity) {
      this.slots.push(item);
      if (index === this.capacity - 1) this.nextAccepted = index + 1 + this.skip();
      return;
    }
    if (index === this.nextAccepted) {
      this.slots[Math.floor(this.random() * this.capacity)] = item;
      this.nextAccepted = index + 1 + this.skip(true);
    }
  }

  offerAll(items: Iterable<T>): void {
    for (const item of items) this.offer(item);
  }

  sample(): T[] {
    return [...this.slots];
  }

  private advance(): void {
    this.w = Math.exp(Math.log(this.random()) / this.capacity);
  }

  /** Items to pass over before the next replacement; `thenAdvance` draws W for the following step. */
  private skip(thenAdvance = false): number {
    if (thenAdvance) this.w *= Math.exp(Math.log(this.random()) / this.capacity);
    const skipped = Math.floor(Math.log(this.random()) / Math.log(1 - this.w));
    return Number.isFinite(skipped) ? skipped : Number.MAX_SAFE_INTEGER;
  }
}

/** A uniform sample of k items from any iterable, in one pass. */
export function reservoirSample<T>(items: Iterable<T>, k: number, random: Random): T[] {
  const reservoir = new Reservoir<T>(k, random);
  reservoir.offerAll(items);
  return reservoir.sample();
}
