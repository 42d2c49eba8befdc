import { EventEmitter } from 'node:events'
import { LRUCache } from 'lru-cache'
import type { KeyvStoreAdapter } from 'keyv'
import type { CacheStore, Logger, StoreInfo } from '../../adapters/contract.js'
import { asStoreError, describeStoreError, storeErrorCode } from '../../adapters/store-errors.js'
import { CacheError } from './errors.js'
import { RefusedWrites } from './refused-writes.js'
import { readGenerations, setIfGenerations, type Generations } from './generations.js'
import { lockKeyOf } from './flight.js'
import { InvalidationLedger, type Invalidator } from './invalidation-ledger.js'
import { isPartial, orElse, readMany, withTimeout, type PartialError } from './store-calls.js'

/** An invalidation may walk a whole keyspace (SCAN, or an adapter's iterator): a budget of its own. */
const INVALIDATE_BUDGET_MS = 30_000

export type CircuitState = 'closed' | 'open' | 'half-open'

/** Generations as read from one store, while the circuit was in one state. */
export interface GenerationSnapshot extends Generations {
  store: CacheStore
  epoch: number
}

export interface ResilientStoreOptions {
  operationTimeout: number
  failureThreshold: number
  probeInterval: number
  logger: Logger
  /** The cache's namespace: a store without ping() is probed with a key inside it (ACLs may allow no other). */
  namespace?: string
  /** Time for "last seen" in health. Default Date.now. */
  clock?: () => number
}

/** The primary's role as last seen while it answered, for health while the circuit is open. */
export interface LastSeen {
  role: string | undefined
  /** ms since the epoch of the last operation the primary answered. */
  at: number
}

/**
 * The one place that decides what a store failure means. Every operation on
 * the primary gets a time budget; consecutive failures open the circuit, and
 * while it is open reads and writes go to the fallback without touching the
 * primary. A background probe (half-open) closes it again once the primary
 * answers. Nothing here throws to a caller: a read that fails is a miss, a
 * write that fails is dropped. Each state change is logged once and emitted
 * as a 'circuit' event; each failure is emitted as a 'store-error' event.
 */
export class ResilientStore extends EventEmitter {
  readonly primary: CacheStore
  readonly fallback: CacheStore | undefined
  #options: ResilientStoreOptions
  #state: CircuitState = 'closed'
  #failures = 0
  #probe: NodeJS.Timeout | undefined
  #lastError: CacheError | undefined
  #ledger: InvalidationLedger
  /** Lock keys a peer was found holding, each until its lock would expire at the latest. */
  #heldByPeers = new LRUCache<string, true>({ max: 10_000 })
  /** Moves on with every change of circuit state: a snapshot from another epoch may come from another store. */
  #epoch = 0
  /** The primary bounds its own operations within our budget: no timer per operation. */
  #selfTimed: boolean
  /** Whether the primary answers reads but refuses writes (out of memory): answers are then kept locally. */
  #writes: RefusedWrites
  #lastOkAt = 0
  #lastRole: string | undefined
  /** Code of the last probe failure logged, so a probe refused every second logs once per reason. */
  #probeLogged: string | undefined

  constructor(primary: KeyvStoreAdapter, fallback: KeyvStoreAdapter | undefined, options: ResilientStoreOptions) {
    super()
    this.primary = primary
    this.fallback = fallback
    this.#options = options
    const within = (primary as CacheStore).settlesWithinMs
    this.#selfTimed = typeof within === 'number' && within <= options.operationTimeout
    this.#writes = new RefusedWrites(() => this.#writeProbe(), options.probeInterval, options.logger, (state) => this.emit('writes', state))
    this.#ledger = new InvalidationLedger({
      apply: (operation) => this.#bounded(operation(this.primary), 'invalidate', INVALIDATE_BUDGET_MS),
      serving: () => this.#state === 'closed',
      failed: (error) => (this.#lastError = asStoreError(error, 'invalidate')),
      retryMs: options.probeInterval,
      logger: options.logger,
    })
    // An adapter with no 'error' listener would crash the process on emit.
    primary.on?.('error', () => {})
    // The adapter now talks to another server (a Sentinel failover): see InvalidationLedger.
    primary.on?.('switch', () => this.#switched())
  }

  get state(): CircuitState {
    return this.#state
  }

  get degraded(): boolean {
    return this.#state !== 'closed'
  }

  get lastError(): CacheError | undefined {
    return this.#lastError
  }

  /** Why the primary refuses writes while it still serves reads (out of memory), or undefined. */
  get writesRefused(): CacheError | undefined {
    return this.#writes.error
  }

  /** The primary's role and when it last answered; undefined before it ever did. */
  get lastSeen(): LastSeen | undefined {
    return this.#lastOkAt === 0 ? undefined : { role: this.#lastRole ?? (this.primary as { role?: string }).role, at: this.#lastOkAt }
  }

  /** The store serving now: the primary, or the fallback while the circuit is not closed. */
  get active(): CacheStore | undefined {
    return this.#state === 'closed' ? this.primary : this.fallback
  }

  getMany(keys: string[]): Promise<unknown[]> {
    const values = this.#withFallback('getMany', (store) => readMany(store, keys), () => keys.map(() => undefined))
    return this.#keepsLocal() ? values.then((found) => this.#fillFromFallback(keys, found)) : values
  }

  async get(key: string): Promise<unknown> {
    return (await this.getMany([key]))[0]
  }

  /**
   * A read-only primary (a replica) skips the write, and one out of memory
   * refuses it (#withFallback then writes to the fallback); either way the answer is
   * kept in the fallback so this instance does not compute it again each request.
   */
  async set(key: string, value: unknown, ttl: number): Promise<boolean> {
    let accepted = false
    const stored = await this.#withFallback(
      'set',
      async (store) => {
        const ok = (await store.set(key, value, ttl)) !== false
        if (store === this.primary) accepted = ok
        return ok
      },
      () => false,
    )
    if (accepted) this.#writes.accepted()
    return stored || this.#keepLocal(key, value, ttl)
  }

  /** Reads generation counters from the store serving now; undefined when no store could answer. */
  async readGenerations(keys: string[]): Promise<GenerationSnapshot | undefined> {
    const epoch = this.#epoch
    let from: CacheStore | undefined
    const read = (store: CacheStore): Promise<string[] | undefined> => {
      from = store
      return readGenerations(store, keys)
    }
    const values = await this.#withFallback('generations', read, () => undefined)
    return values === undefined || from === undefined ? undefined : { keys, values, store: from, epoch }
  }

  /**
   * Writes an entry only to the store its snapshot was read from: counters of
   * the fallback say nothing about the primary's. To the primary only while the
   * circuit has not opened or closed since, so a computation that began during
   * an outage is not stored once Redis is back, where the invalidations made
   * during the outage have been replayed; nor one that began before it. To the
   * fallback also when the circuit opened after the read (the primary failed
   * the read, then the threshold was reached), as long as the fallback serves:
   * otherwise each instance computed every key twice at each outage (issue 19, item 5).
   */
  async setIfGenerations(key: string, value: unknown, ttl: number, read: GenerationSnapshot): Promise<boolean> {
    if (read.store !== this.primary) {
      if (read.epoch !== this.#epoch && this.#state === 'closed') return false
      return orElse(setIfGenerations(read.store, key, value, ttl, read), false)
    }
    if (read.epoch !== this.#epoch) return false
    const stored = await this.#withFallback('set', (store) => setIfGenerations(store, key, value, ttl, read), () => false, true)
    if (stored) this.#writes.accepted()
    return stored || this.#keepLocal(key, value, ttl)
  }

  /** On a read-only primary, or one out of memory, the answer is kept in the fallback. */
  #keepLocal(key: string, value: unknown, ttl: number): Promise<boolean> | false {
    if (!this.#keepsLocal()) return false
    return orElse(this.fallback!.set(key, value, ttl).then((ok: unknown) => ok !== false), false)
  }

  /** True while the primary serves reads but skips or refuses writes, and a fallback can keep local copies. */
  #keepsLocal(): boolean {
    return this.#state === 'closed' && this.fallback !== undefined && (this.primary.readOnly === true || this.#writes.error !== undefined)
  }

  async #fillFromFallback(keys: string[], values: unknown[]): Promise<unknown[]> {
    if (values.every((value) => value !== undefined)) return values
    const local = await orElse(readMany(this.fallback!, keys), [] as unknown[])
    return values.map((value, i) => value ?? local[i])
  }

  /**
   * A lock shared with other processes, from the primary only (a lock in the
   * fallback would be local and prove nothing): a token, false when a peer
   * holds it, undefined when no shared lock can be had (no support, read-only, down).
   * A lock a peer was found holding is taken as held, without asking, until it
   * would expire at the latest or `again` asks anyway: while a peer refreshes a
   * stale key, each stale request here must not send its own SET NX (issue 19, item 6).
   */
  async acquireLock(key: string, ttlMs: number, again = false): Promise<string | false | undefined> {
    const { primary } = this
    // After a failure, do not spend a second time budget on a lock: compute unlocked instead.
    if (this.#state !== 'closed' || this.#failures > 0 || !primary.acquireLock) return undefined
    if (!again && this.#heldByPeers.has(key)) return false
    const token = await this.#withFallback('lock', () => primary.acquireLock!(key, ttlMs), () => undefined, true)
    if (token === false) this.#heldByPeers.set(key, true, { ttl: ttlMs })
    else if (token !== undefined) this.#heldByPeers.delete(key)
    return token
  }

  releaseLock(key: string, token: string): Promise<unknown> {
    const { primary } = this
    if (!primary.releaseLock) return Promise.resolve()
    return this.#withFallback('unlock', () => primary.releaseLock!(key, token), () => undefined, true)
  }

  /** `operation` replaces the plain delete, for an invalidation that does more (moves a generation). */
  async delete(key: string, operation: (store: CacheStore) => Promise<boolean> = (store) => store.delete(key)): Promise<boolean> {
    this.#heldByPeers.delete(lockKeyOf(key)) // an invalidation deletes the lock too
    const fromFallback = this.fallback ? await orElse(operation(this.fallback), false) : false
    const fromPrimary = await this.#invalidate(`key:${key}`, operation, false)
    return fromPrimary || fromFallback
  }

  /** Runs on the primary and the fallback both, so nothing invalidated survives in either. */
  async deletePrefix(prefix: string, enumerate: (store: CacheStore) => Promise<number>): Promise<number> {
    for (const key of this.#heldByPeers.keys()) if (key.startsWith(prefix)) this.#heldByPeers.delete(key)
    const fromFallback = this.fallback ? await orElse(enumerate(this.fallback), 0) : 0
    const fromPrimary = await this.#invalidate(`prefix:${prefix}`, enumerate, 0)
    return fromPrimary + fromFallback
  }

  /**
   * An invalidation the primary cannot take now (circuit open, or it fails)
   * is remembered and replayed before the primary serves again, so entries
   * invalidated during an outage do not come back with Redis.
   */
  async #invalidate<T>(id: string, operation: (store: CacheStore) => Promise<T>, none: T): Promise<T> {
    let result = none
    if (this.#state === 'closed') {
      try {
        result = await this.#bounded(operation(this.primary), 'invalidate', INVALIDATE_BUDGET_MS)
        this.#failures = 0
        this.#ledger.taken(id, operation)
        return result
      } catch (error) {
        if (isPartial(error)) result = this.#partial(id, error) as T
        else this.#recordFailure(error, 'invalidate')
        this.#ledger.scheduleRetry()
      }
    }
    this.#ledger.remember(id, operation)
    return result
  }

  /** Invalidations not yet applied to the whole primary (missed during an outage, or partial): being retried. */
  get pendingInvalidations(): number {
    return this.#ledger.size
  }

  /**
   * Part of the primary (a Cluster master) missed the invalidation while the
   * rest is up, so the circuit stays closed: it is logged, reported, and
   * retried every probeInterval until it reaches every master (issue 19).
   */
  #partial(id: string, error: PartialError): number {
    this.#lastError = asStoreError(error, 'invalidate')
    this.emit('store-error', this.#lastError)
    this.#options.logger.warn(
      { event: 'cache_invalidation_partial', target: id, removed: error.removed, code: this.#lastError.code, error: error.cause ?? error },
      'Cache invalidation reached only part of the store: retrying until it reaches all of it',
    )
    return error.removed
  }

  /** Our time budget around an operation, unless the primary bounds its own commands. */
  #bounded<T>(pending: Promise<T>, name: string, ms = this.#options.operationTimeout): Promise<T> {
    return this.#selfTimed ? pending : withTimeout(pending, ms, name)
  }

  /** Asks the serving store, within the time budget; undefined when it cannot say. */
  async info(): Promise<StoreInfo | undefined> {
    const store = this.active
    if (!store?.info) return undefined
    const info = await orElse(withTimeout(store.info(), this.#options.operationTimeout * 5, 'info'), undefined)
    if (info && store === this.primary) this.#lastRole = info.role
    return info
  }

  close(): void {
    if (this.#probe) clearTimeout(this.#probe)
    this.#probe = undefined
    this.#ledger.close()
    this.#writes.close()
  }

  /**
   * Runs `operation` on the primary within the time budget while the circuit
   * is closed; otherwise, or when it fails, on the fallback; `otherwise`
   * answers when neither can. `primaryOnly` skips the fallback run (used where
   * the caller already ran it).
   */
  async #withFallback<T>(
    name: string,
    operation: (store: CacheStore) => Promise<T>,
    otherwise: () => T,
    primaryOnly = false,
  ): Promise<T> {
    if (this.#state === 'closed') {
      try {
        const result = await this.#bounded(operation(this.primary), name)
        this.#failures = 0
        this.#lastOkAt = this.#now()
        return result
      } catch (error) {
        this.#recordFailure(error, name)
      }
    }
    if (primaryOnly || !this.fallback) return otherwise()
    return orElse(operation(this.fallback), otherwise())
  }

  #recordFailure(error: unknown, operation: string): void {
    this.#lastError = this.#explain(asStoreError(error, operation))
    this.emit('store-error', this.#lastError)
    // A store out of memory still answers: refused writes go to the fallback, the circuit stays closed.
    if (this.#lastError.code === 'E_STORE_OOM') return this.#writes.refused(this.#lastError)
    this.#failures++
    if (this.#state === 'closed' && this.#failures >= this.#options.failureThreshold) this.#open()
  }

  /**
   * A command that failed only because the connection is down says nothing of
   * why; the client's own last error (a refused password, a certificate) does.
   */
  #explain(error: CacheError): CacheError {
    if (error.code !== 'E_STORE_CONNECTION' && error.code !== 'E_STORE') return error
    const reason = this.primary.lastError
    const code = storeErrorCode(reason)
    if (code === undefined || code === 'E_STORE_CONNECTION' || !(reason instanceof Error)) return error
    return new CacheError(code, `${error.message} (${reason.message})`, { cause: reason })
  }

  /** A short-lived write inside the namespace: true once the primary takes writes again. */
  async #writeProbe(): Promise<boolean> {
    if (this.#state !== 'closed') return false
    return (await this.#bounded(this.primary.set(this.#probeKey(), '1', 1000), 'probe')) !== false
  }

  /** The primary now talks to a new server: replay recent invalidations, and probe it now rather than at the next interval. */
  #switched(): void {
    this.#ledger.switched()
    if (this.#state !== 'open') return
    if (this.#probe) clearTimeout(this.#probe)
    void this.#runProbe()
  }

  #open(): void {
    this.#setState('open')
    this.#options.logger.warn(
      { event: 'cache_store_down', ...describeStoreError(this.#lastError) },
      'Cache store failing: serving from the fallback until it answers again',
    )
    this.#scheduleProbe()
  }

  #scheduleProbe(): void {
    this.#probe = setTimeout(() => void this.#runProbe(), this.#options.probeInterval)
    this.#probe.unref()
  }

  async #runProbe(): Promise<void> {
    this.#setState('half-open')
    try {
      await withTimeout(this.#probeOnce(), this.#options.operationTimeout, 'probe')
      if (!(await this.#ledger.replay())) throw this.#lastError
      this.#failures = 0
      this.#probeLogged = undefined
      this.#lastOkAt = this.#now()
      this.#setState('closed')
      this.#options.logger.info?.({ event: 'cache_store_up' }, 'Cache store answers again: back from the fallback')
    } catch (error) {
      this.#lastError = this.#explain(asStoreError(error, 'probe'))
      this.emit('store-error', this.#lastError)
      this.#logProbeFailure(this.#lastError)
      this.#setState('open')
      this.#scheduleProbe()
    }
  }

  /**
   * A command that needs no key when the store has one (PING on Redis), else a
   * read of a key inside the namespace: an ACL that allows only the cache's
   * keys must not keep the circuit open for ever.
   */
  #probeOnce(): Promise<unknown> {
    const { primary } = this
    if (typeof primary.ping === 'function') return primary.ping()
    return primary.get(this.#probeKey())
  }

  /** Every cache key has `:<bucket>` after its route segment, so no entry is named like this. */
  #probeKey(): string {
    return `${this.#options.namespace ?? 'cache'}:!probe`
  }

  /** Once per distinct reason: a probe refused every second must not flood the log. */
  #logProbeFailure(error: CacheError): void {
    const reason = `${error.code}:${(error.cause as { message?: string } | undefined)?.message ?? error.message}`
    if (reason === this.#probeLogged) return
    this.#probeLogged = reason
    this.#options.logger.warn(
      { event: 'cache_probe_failed', ...describeStoreError(error) },
      'Cache store probe failed: still serving from the fallback',
    )
  }

  #now(): number {
    return (this.#options.clock ?? Date.now)()
  }

  #setState(state: CircuitState): void {
    if (state === this.#state) return
    // Only a change of serving store moves the epoch: a probe that fails (open, half-open, open)
    // must not make what was computed from the fallback meanwhile unstorable there (issue 19, item 5).
    if ((state === 'closed') !== (this.#state === 'closed')) this.#epoch++
    this.#state = state
    this.emit('circuit', state)
  }
}
