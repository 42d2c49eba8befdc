/**
 * Single flight in one process: while a computation for a key runs, later
 * callers for the same key share its promise instead of starting another.
 */
export class Flights<T> {
  #running = new Map<string, Promise<T>>()

  /** Runs `work` unless one is already running for `key`; every caller gets the same result. */
  run(key: string, work: () => Promise<T>): Promise<T> {
    const running = this.#running.get(key)
    if (running) return running
    const started = work().finally(() => this.#running.delete(key))
    this.#running.set(key, started)
    return started
  }

  has(key: string): boolean {
    return this.#running.has(key)
  }

  get size(): number {
    return this.#running.size
  }

  /** Resolves when every running flight has settled (for close()). */
  async settle(): Promise<void> {
    await Promise.allSettled([...this.#running.values()])
  }
}
