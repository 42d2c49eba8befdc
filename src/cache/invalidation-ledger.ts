/**
 * What the store wrapper remembers of invalidations, so that none is lost to the primary:
 * those it could not take (circuit open, a failure), those it took only in part (a Cluster
 * master down: issue 19, item 3), and, for a short while, those it took. The last are for a
 * failover: writes that reached the old primary after its replica was promoted are gone once the
 * store follows the switch (issue 19, item 4), so they are applied again on the new primary.
 */
import type { CacheStore, Logger } from '../../adapters/contract.js'
import { isPartial } from './store-calls.js'

/** An invalidation as run on one store (a delete, or a prefix walk that moves a generation first). */
export type Invalidator = (store: CacheStore) => Promise<unknown>

/** Invalidations remembered while the primary cannot take them; past this, the oldest are dropped. */
const MAX_REMEMBERED = 1000
/**
 * How long an invalidation the primary took is kept, to apply it again after a switch of primary.
 * Covers the time from a replica's promotion to the store following it: about a second through
 * Sentinel's +switch-master, up to Sentinel's 10 s INFO period when that message is missed and
 * the old primary's demotion closes the connection instead. Applying one again costs at most one
 * recomputation of what it removes.
 */
export const SWITCH_REPLAY_MS = 15_000

export interface LedgerHost {
  /** Runs an invalidation on the primary within its budget; rejects as the primary does. */
  apply(operation: Invalidator): Promise<unknown>
  /** False while the circuit is not closed: the probe replays then, before the primary serves again. */
  serving(): boolean
  /** The primary took one. */
  succeeded(): void
  /**
   * The primary failed one ('failed': a failure of the store, counted by the circuit), took one
   * only in part ('partial', reported), or failed one being replayed ('replay', kept as the last error).
   */
  failed(error: unknown, how: 'failed' | 'partial' | 'replay', key?: string): void
  retryMs: number
  logger: Logger
}

export class InvalidationLedger {
  readonly #host: LedgerHost
  readonly #pending = new Map<string, Invalidator>()
  readonly #recent = new Map<string, { operation: Invalidator; at: number }>()
  #retry: NodeJS.Timeout | undefined

  constructor(host: LedgerHost) {
    this.#host = host
  }

  /** Invalidations not yet applied to the whole primary: being retried. */
  get size(): number {
    return this.#pending.size
  }

  /**
   * Runs an invalidation on the primary. One it cannot take now (circuit open, or it fails) is
   * remembered and replayed before the primary serves again, so entries invalidated during an
   * outage do not come back with Redis. One that reached only part of the primary (a Cluster
   * master down) leaves the circuit closed: it is logged, reported, and retried every retryMs
   * until it reaches every master (issue 19, item 3). Answers what the primary did, else `none`.
   */
  async run<T>(id: string, operation: (store: CacheStore) => Promise<T>, none: T, key?: string): Promise<T> {
    let result = none
    if (this.#host.serving()) {
      try {
        result = (await this.#host.apply(operation)) as T
        this.#host.succeeded()
        this.taken(id, operation)
        return result
      } catch (error) {
        if (isPartial(error)) {
          this.#host.failed(error, 'partial')
          this.#host.logger.warn(
            { event: 'cache_invalidation_partial', target: id, removed: error.removed, code: error.code, error: error.cause ?? error },
            'Cache invalidation reached only part of the store: retrying until it reaches all of it',
          )
          result = error.removed as T
        } else {
          this.#host.failed(error, 'failed', key)
        }
        this.scheduleRetry()
      }
    }
    this.remember(id, operation)
    return result
  }

  /** One the primary could not take, or took in part: kept (newest last) until a replay takes it. */
  remember(id: string, operation: Invalidator): void {
    remember(this.#pending, id, operation)
  }

  /** One the primary took: kept for SWITCH_REPLAY_MS in case the primary was already being replaced. */
  taken(id: string, operation: Invalidator): void {
    this.#prune()
    remember(this.#recent, id, { operation, at: Date.now() })
  }

  /**
   * The primary is now another server (a failover): the invalidations it took lately may have
   * gone to the old one after its replica was promoted. They are applied again at once (or by the
   * probe, while the circuit is open). Returns how many.
   */
  switched(): number {
    this.#prune()
    const again = this.#recent.size
    for (const [id, { operation }] of this.#recent) if (!this.#pending.has(id)) this.remember(id, operation)
    this.#recent.clear()
    if (again > 0) {
      this.#host.logger.info?.({ event: 'cache_invalidation_replay', count: again }, 'Cache store switched primary: applying recent invalidations again on the new one')
      if (this.#host.serving()) this.#attempt()
    }
    return again
  }

  /**
   * Replays remembered invalidations on the primary; false when one fails (they stay remembered).
   * One that still reaches only part of the primary stays remembered for the retry, without
   * keeping the circuit open.
   */
  async replay(): Promise<boolean> {
    for (const [id, operation] of this.#pending) {
      try {
        await this.#host.apply(operation)
      } catch (error) {
        this.#host.failed(error, 'replay')
        if (isPartial(error)) {
          this.scheduleRetry()
          continue
        }
        return false
      }
      this.#pending.delete(id)
      this.taken(id, operation)
    }
    return true
  }

  /** A failure that leaves the circuit closed gets no probe: retried here, every retryMs. */
  scheduleRetry(): void {
    if (this.#retry) return
    this.#retry = setTimeout(() => {
      this.#retry = undefined
      // While the circuit is open the probe replays them; retry once it has closed.
      if (!this.#host.serving()) return this.scheduleRetry()
      this.#attempt()
    }, this.#host.retryMs)
    this.#retry.unref()
  }

  close(): void {
    if (this.#retry) clearTimeout(this.#retry)
    this.#retry = undefined
  }

  #attempt(): void {
    void this.replay().then((ok) => {
      if (!ok || this.#pending.size > 0) return this.scheduleRetry()
      this.#host.logger.info?.({ event: 'cache_invalidation_complete' }, 'Cache invalidations now reached the whole store')
    })
  }

  #prune(): void {
    const since = Date.now() - SWITCH_REPLAY_MS
    for (const [id, { at }] of this.#recent) {
      if (at >= since) break // oldest first
      this.#recent.delete(id)
    }
  }
}

/** Re-inserts: a Map keeps the newest last, so past the cap the oldest goes first. */
function remember<T>(map: Map<string, T>, id: string, value: T): void {
  map.delete(id)
  map.set(id, value)
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value!)
}
