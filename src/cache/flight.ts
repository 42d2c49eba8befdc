/**
 * Single flight in one process: while a computation for a key runs, later
 * callers for the same key share its promise instead of starting another.
 */
export class Flights<T> {
  #running = new Map<string, Promise<T>>()

  /**
   * Runs `work` unless one is already running for `key`; every caller gets the
   * same result as soon as it is ready. The key stays claimed until `linger`
   * (for example the store write of the result) settles, so a request arriving
   * between the result and the write joins this flight instead of starting one.
   */
  run(key: string, work: () => Promise<T>, linger?: (result: T) => Promise<unknown>): Promise<T> {
    const running = this.#running.get(key)
    if (running) return running
    const started = work()
    this.#running.set(key, started)
    const release = (): void => {
      if (this.#running.get(key) === started) this.#running.delete(key)
    }
    started.then((result) => (linger ? linger(result) : undefined)).then(release, release)
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
