import type { CacheStore } from '../../adapters/contract.js'
import type { Invalidation } from './bus.js'
import { InvalidationLedger, type LedgerHost } from './invalidation-ledger.js'
import type { SharedLocks } from './shared-locks.js'
import { orElse } from './store-calls.js'

/**
 * Invalidations as the store wrapper runs them: on the fallback and the primary both, so
 * nothing invalidated survives in either; on the primary through the ledger, which retries
 * what it missed (see InvalidationLedger). Each one also forgets that peers held the locks of
 * what it removes, whether it was made here or, through the bus, on another instance.
 */
export class StoreInvalidations {
  readonly ledger: InvalidationLedger
  readonly #fallback: CacheStore | undefined
  readonly #locks: SharedLocks

  constructor(fallback: CacheStore | undefined, locks: SharedLocks, host: LedgerHost) {
    this.#fallback = fallback
    this.#locks = locks
    this.ledger = new InvalidationLedger(host)
  }

  /** `operation` replaces the plain delete, for an invalidation that does more (moves a generation). */
  async delete(key: string, operation: (store: CacheStore) => Promise<boolean> = (store) => store.delete(key)): Promise<boolean> {
    this.#locks.forget(key)
    const fromFallback = this.#fallback ? await orElse(operation(this.#fallback), false) : false
    const fromPrimary = await this.ledger.run(`key:${key}`, operation, false, key)
    return fromPrimary || fromFallback
  }

  /** `enumerate` deletes the prefix on one store (see invalidation.ts), and says how many keys went. */
  async deletePrefix(prefix: string, enumerate: (store: CacheStore) => Promise<number>): Promise<number> {
    this.#locks.forgetPrefix(prefix)
    const fromFallback = this.#fallback ? await orElse(enumerate(this.#fallback), 0) : 0
    const fromPrimary = await this.ledger.run(`prefix:${prefix}`, enumerate, 0)
    return fromPrimary + fromFallback
  }

  /** Invalidations not yet applied to the whole primary (missed during an outage, or partial): being retried. */
  get pending(): number {
    return this.ledger.size
  }

  /**
   * An invalidation made on another instance: a lock this instance saw a peer holding may have
   * been deleted with it, and the memo would hold back this instance's refresh of the key for up
   * to the lock's TTL.
   */
  forgetLocks(invalidation: Invalidation): void {
    if (invalidation.kind === 'key') this.#locks.forget(invalidation.value)
    else this.#locks.forgetPrefix(invalidation.value)
  }
}
