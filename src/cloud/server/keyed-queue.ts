/**
 * Runs async work one at a time per key, different keys in parallel: a device's messages are
 * handled in the order they came (a report must not overtake the open before it), and one call's
 * requests in the order they were made, while other devices and calls go on.
 */
export class KeyedQueue {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(work, work);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    // Forget the key once its queue is empty, so that memory follows the active keys only.
    const forget = () => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    tail.then(forget, forget);
    return next;
  }

  get size(): number {
    return this.tails.size;
  }
}
