/**
 * Single flight in one process: while a computation for a key runs, later
 * callers for the same key share its promise instead of starting another.
 */
export class Flights<T> {
  #running = new Map<string, Promise<T>>()
  /** Flights whose result is out but whose linger (store write, lock release) still runs. */
  #lingering = new Set<Promise<unknown>>()
  /** Flights no longer joinable (forget()) but not yet settled: counted in size. */
  #forgotten = new Set<Promise<T>>()

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
      this.#forgotten.delete(started)
    }
    const done = started.then((result) => (linger ? linger(result) : undefined)).then(release, release)
    this.#lingering.add(done)
    void done.then(() => this.#lingering.delete(done))
    return started
  }

  /**
   * Lets later callers for matching keys start afresh instead of joining the
   * flight running now (after an invalidation). Those already waiting keep
   * their result; the flight's own release leaves a newer flight in place.
   */
  forget(match: (key: string) => boolean): void {
    for (const [key, running] of this.#running) {
      if (!match(key)) continue
      this.#running.delete(key)
      this.#forgotten.add(running)
    }
  }

  has(key: string): boolean {
    return this.#running.has(key)
  }

  /** Flights not yet settled, forgotten ones included. */
  get size(): number {
    return this.#running.size + this.#forgotten.size
  }

  /** Resolves when every running flight and its linger have settled (for close(): no write after it). */
  async drain(): Promise<void> {
    // #lingering holds every flight's linger, forgotten flights' included.
    await Promise.allSettled([...this.#running.values(), ...this.#lingering])
  }
}

/** The store lock of a cache key. `!` never follows a bucket number, so no cache key looks like a lock key. */
export function lockKeyOf(key: string): string {
  return `${key}!lock`
}

/** What a cross-process lock needs from the store (ResilientStore offers it). */
export interface LockStore {
  /** `again`: ask the store even if a peer was lately found holding this lock (a waiter looking for its turn). */
  acquireLock(key: string, ttlMs: number, again?: boolean): Promise<string | false | undefined>
  releaseLock(key: string, token: string): Promise<unknown>
}

/** compute: this process computes (it holds the lock, or no shared lock can be had); done: a peer's result is there; busy: a peer holds the lock. */
export type Claim<T> = { kind: 'compute' } | { kind: 'done'; value: T } | { kind: 'busy' }

/** How often a process waiting on another's computation looks for its result. */
const PEER_POLL_MS = 50

/**
 * Single flight across processes sharing a store: a short lock next to the
 * key. The holder stores its result and only then releases the lock, so
 * whoever takes the lock afterwards looks once more before computing: a
 * result that landed between its lookup and its lock is used, not recomputed.
 */
export class PeerLock<T> {
  readonly #store: LockStore
  readonly #key: string
  readonly #ttlMs: number
  readonly #read: () => Promise<T | undefined>
  #token: string | undefined

  constructor(store: LockStore, key: string, ttlMs: number, read: () => Promise<T | undefined>) {
    this.#store = store
    this.#key = key
    this.#ttlMs = ttlMs
    this.#read = read
  }

  async claim(again = false): Promise<Claim<T>> {
    const token = await this.#store.acquireLock(this.#key, this.#ttlMs, again)
    if (token === false) return { kind: 'busy' }
    if (token === undefined) return { kind: 'compute' }
    this.#token = token
    const value = await this.#read()
    if (value === undefined) return { kind: 'compute' }
    await this.release()
    return { kind: 'done', value }
  }

  /**
   * Waits for the holder's result. Taking the lock along the way means the
   * holder finished without storing (an answer it could not share) or died:
   * our turn. Gives up waiting after the lock's TTL.
   */
  async wait(): Promise<Claim<T>> {
    const deadline = Date.now() + this.#ttlMs
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, PEER_POLL_MS))
      const value = await this.#read()
      if (value !== undefined) return { kind: 'done', value }
      const claim = await this.claim(true)
      if (claim.kind !== 'busy') return claim
    }
    return { kind: 'compute' }
  }

  release(): Promise<unknown> {
    const token = this.#token
    this.#token = undefined
    return token === undefined ? Promise.resolve() : this.#store.releaseLock(this.#key, token)
  }
}
