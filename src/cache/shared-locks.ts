/**
 * The lock shared with other processes, as the store wrapper offers it: taken on the primary only
 * (a lock in the fallback would be local and prove nothing), and never while the primary is
 * failing. A lock a peer was found holding is taken as held, without asking again, until it
 * would expire at the latest: while a peer refreshes a stale key, each stale request here must
 * not send its own SET NX (issue 19, item 6).
 */
import { LRUCache } from 'lru-cache'
import type { CacheStore } from '../../adapters/contract.js'
import { lockKeyOf } from './flight.js'

export class SharedLocks {
  readonly #primary: CacheStore
  /** False after a failure or while the circuit (of the lock's node) is not closed: do not spend a second time budget on a lock. */
  readonly #usable: (key: string) => boolean
  /** Runs a lock command on the primary within the wrapper's budget and failure policy; `undefined` when it fails. */
  readonly #run: <T>(name: string, command: () => Promise<T>, key: string) => Promise<T | undefined>
  /** Lock keys a peer was found holding, each until its lock would expire at the latest. */
  readonly #heldByPeers = new LRUCache<string, true>({ max: 10_000 })

  constructor(primary: CacheStore, usable: (key: string) => boolean, run: <T>(name: string, command: () => Promise<T>, key: string) => Promise<T | undefined>) {
    this.#primary = primary
    this.#usable = usable
    this.#run = run
  }

  /**
   * A token, false when a peer holds the lock, undefined when no shared lock can be had (no
   * support, read-only, failing). `again`: ask even if a peer was lately found holding it.
   */
  async acquire(key: string, ttlMs: number, again: boolean): Promise<string | false | undefined> {
    const primary = this.#primary
    if (!this.#usable(key) || !primary.acquireLock) return undefined
    if (!again && this.#heldByPeers.has(key)) return false
    const token = await this.#run('lock', () => primary.acquireLock!(key, ttlMs), key)
    if (token === false) this.#heldByPeers.set(key, true, { ttl: ttlMs })
    else if (token !== undefined) this.#heldByPeers.delete(key)
    return token
  }

  release(key: string, token: string): Promise<unknown> {
    // This process held the lock: whatever it memoised of a peer holding it is out of date.
    this.#heldByPeers.delete(key)
    const primary = this.#primary
    if (!primary.releaseLock) return Promise.resolve()
    return this.#run('unlock', () => primary.releaseLock!(key, token), key)
  }

  /** An invalidation deletes the locks of what it removes: forget that peers held them. */
  forget(key: string): void {
    this.#heldByPeers.delete(lockKeyOf(key))
  }

  forgetPrefix(prefix: string): void {
    for (const key of this.#heldByPeers.keys()) if (key.startsWith(prefix)) this.#heldByPeers.delete(key)
  }
}
