/**
 * The engine behind ResponseCache: keys, lookups, single flight, writes and invalidation. It
 * knows entries and policy; Koa stays in middleware.ts and failure in ResilientStore. Nothing
 * here is public: the package exports ResponseCache, whose members are the public API. Its
 * route() hands this engine to the middleware; the dashboard, the service's circuit gauge and
 * the tests reach it through engineOf().
 */
import type { EventEmitter } from 'node:events'
import type { IncomingHttpHeaders } from 'node:http'
import type { Logger } from '../../adapters/contract.js'
import type { CacheTarget } from './cache-target.js'
import type { Lookup, Outcome, Plan } from './engine-types.js'
import { decodeEntry, encodeEntry, type CachedEntry } from './entry.js'
import { OptionError } from './errors.js'
import { Flights, PeerLock, lockKeyOf } from './flight.js'
import { generationsOf } from './generations.js'
import { Invalidations } from './invalidation.js'
import { bucketEndMs } from './keys.js'
import { Planner } from './planner.js'
import { ComputeTiming } from './compute-timing.js'
import { LocalTier } from './local-tier.js'
import { CacheStats, computeEvent, HealthReader, type CacheEvents, type CacheHealth, type CacheResult, type ComputeEvent, type LookupEvent } from './metrics.js'
import { resolveCacheOptions, type CacheOptions, type ResolvedCacheOptions, type ResolvedRoute } from './options.js'
import { isErrorStatus } from './policy.js'
import { ResilientStore, type CircuitState, type GenerationSnapshot } from './resilient-store.js'
import { fromText, toText } from './text-entry.js'

const engines = new WeakMap<object, CacheEngine>()

/** The engine behind a ResponseCache; an OptionError for anything else (createDashboard({}) names its `cache`). */
export function engineOf(cache: EventEmitter<CacheEvents>): CacheEngine {
  const engine = engines.get(cache)
  if (!engine) throw new OptionError('cache', 'a ResponseCache (createResponseCache())', cache)
  return engine
}

export class CacheEngine {
  readonly options: ResolvedCacheOptions
  readonly stats = new CacheStats()
  readonly store: ResilientStore
  readonly logger: Logger
  readonly flights = new Flights<Outcome>()
  readonly invalidations: Invalidations
  /** Where the public events go: the ResponseCache. */
  readonly #events: EventEmitter<CacheEvents>
  #hashTag: boolean
  /** Computation times: the shared lock's TTL and when to warm the next bucket. */
  #timing = new ComputeTiming()
  #planner: Planner
  /** Entries go to the primary as text unless it says it keeps Buffers byte for byte. */
  #asText: boolean
  #closed = false
  #health: HealthReader
  /** The in-process tier and its invalidation channel, when `l1` is given. */
  #local: LocalTier | undefined
  /**
   * Decoded entries by stored value. An in-process store hands back the same
   * Buffer on every hit, so a hit decodes nothing; a value from Redis is a new
   * Buffer each time and is decoded as usual.
   */
  #decoded = new WeakMap<object, CachedEntry | null>()
  /**
   * The primary reads a new value on every hit (RedisStore): remembering each in #decoded only
   * added a WeakMap entry per hit for the collector to trace. The fallback, an in-process store,
   * still goes through #decoded while it serves.
   */
  #freshValues: boolean

  constructor(options: CacheOptions, events: EventEmitter<CacheEvents>) {
    this.#events = events
    this.options = resolveCacheOptions(options)
    this.logger = this.options.logger
    const primary = this.options.store
    this.#hashTag = this.options.hashTag
    this.#planner = new Planner(this.options.namespace, this.#hashTag)
    this.#asText = primary.buffers !== true
    this.#freshValues = (primary.opts as { dialect?: string } | undefined)?.dialect === 'redis'
    this.store = new ResilientStore(primary, this.options.fallback, this.options)
    const { l1 } = this.options
    if (l1) this.#local = new LocalTier(l1, primary, this.options.namespace, this.options.clock, this.logger, (inv) => this.invalidations.dropRemote(inv))
    this.invalidations = new Invalidations({
      namespace: this.options.namespace,
      hashTag: this.#hashTag,
      store: this.store,
      local: this.#local,
      logger: this.logger,
      forget: (match) => this.#forget(match),
      routePrefixes: () => this.#planner.prefixes(),
    })
    this.#health = new HealthReader(this.store, this.stats, `${this.options.namespace}:`, () => this.#closed, () => this.#local?.health() ?? null)
    this.store.on('circuit', (state: CircuitState) => {
      this.#local?.storeDown(state !== 'closed')
      events.emit('circuit', state)
    })
    this.store.on('store-error', (error: unknown) => {
      this.stats.storeErrors++
      if (events.listenerCount('store-error') > 0) events.emit('store-error', error)
    })
    engines.set(events, this)
  }

  now(): number {
    return this.options.clock()
  }

  /** True once close() was called: requests then pass through uncached. */
  get closed(): boolean {
    return this.#closed
  }

  /** `codings`: the accepted content codings, for a route whose answers are compressed (encoding.ts). */
  plan(route: ResolvedRoute, target: CacheTarget, search: string, headers: IncomingHttpHeaders, codings?: string): Plan {
    return this.#planner.plan(route, target, search, headers, codings, this.now())
  }

  /**
   * Reads the current bucket, and the previous one when stale answers are on, in one round trip.
   * A plain Lookup when nothing had to be awaited (L1, an in-process store): see getManyNow().
   */
  lookup(plan: Plan): Lookup | Promise<Lookup> {
    const local = this.#local
    const kept = local?.get(plan.current)
    if (kept) return { kind: 'hit', entry: kept } // no store round trip
    const epoch = local?.epoch ?? 0
    const keys = plan.route.staleMs > 0 ? [plan.current, plan.previous] : [plan.current]
    const read = this.store.getManyNow(keys)
    if (read !== undefined) return this.#found(plan, read, epoch)
    return this.store.getMany(keys).then((values) => this.#found(plan, values, epoch))
  }

  /** What the values read for `plan` answer; `epoch` is L1's when the read began. */
  #found(plan: Plan, values: unknown[], epoch: number): Lookup {
    const local = this.#local
    const withStale = plan.route.staleMs > 0
    // The store failed and the circuit opened meanwhile: the copy held in memory serves (LocalTier.storeDown).
    const held = values[0] === undefined ? local?.get(plan.current) : undefined
    if (held) return { kind: 'hit', entry: held }
    const current = this.#decode(values[0])
    if (current && !isErrorStatus(current.status)) {
      local?.set(plan.current, current, this.#servedUntil(current, plan.route), epoch)
      return { kind: 'hit', entry: current }
    }
    const previous = withStale ? this.#decode(values[1]) : undefined
    const stale = previous && !isErrorStatus(previous.status) && this.#withinStale(previous, plan.route) ? previous : undefined
    // A cached error in the current bucket means a refresh just failed: serve the stale
    // answer (stale-if-error) and wait for the error entry to expire before trying again.
    if (current && this.#errorFresh(current, plan.route)) {
      return stale ? { kind: 'stale', entry: stale, refresh: false } : { kind: 'hit', entry: current }
    }
    return stale ? { kind: 'stale', entry: stale, refresh: true } : { kind: 'miss' }
  }

  /**
   * Runs `compute` once per key at a time: in this process through the flight
   * map, and across processes sharing the store through a short store lock.
   * A miss that finds a peer computing waits for the peer's entry; a refresh
   * or warm-up that finds one leaves the work to it. The entry is stored
   * without delaying the caller, and the lock released once it is stored.
   */
  fill(plan: Plan, key: string, reason: ComputeEvent['reason'], compute: () => Promise<Outcome>): Promise<Outcome> {
    const lock = new PeerLock(this.store, lockKeyOf(key), this.#timing.lockTtl(plan.name), async () => {
      const entry = this.#decode(await this.store.get(key))
      return entry && (!isErrorStatus(entry.status) || this.#errorFresh(entry, plan.route)) ? entry : undefined
    })
    const guards = generationsOf(key, this.options.namespace)
    // The generations this computation will be stored under, read before it starts (see generations.ts).
    let read: GenerationSnapshot | undefined
    const work = async (): Promise<Outcome> => {
      let claim: Awaited<ReturnType<typeof lock.claim>>
      ;[claim, read] = await Promise.all([lock.claim(), this.store.readGenerations(guards)])
      if (claim.kind === 'busy') {
        if (reason !== 'miss') return { entry: undefined, shared: false, peer: true }
        claim = await lock.wait()
        // An invalidation may have come while we waited: read again.
        if (claim.kind === 'compute') read = await this.store.readGenerations(guards)
      }
      if (claim.kind === 'done') return { entry: claim.value, shared: true, peer: true }
      try {
        return await this.#compute(plan, reason, compute)
      } catch (error) {
        await lock.release() // storeAndRelease() runs on success only: do not leave peers waiting out the TTL
        throw error
      }
    }
    const storeAndRelease = async (outcome: Outcome): Promise<void> => {
      const { entry } = outcome
      if (entry && outcome.shared && !outcome.peer && read) {
        const epoch = this.#local?.epoch ?? 0
        // Only an entry the store took (no invalidation since `read`) becomes the local copy.
        const stored = await this.write(key, entry, plan.route, read)
        if (stored === true && !isErrorStatus(entry.status)) this.#local?.set(key, entry, this.#servedUntil(entry, plan.route), epoch)
      }
      await lock.release()
    }
    return this.flights.run(key, work, storeAndRelease)
  }

  async #compute(plan: Plan, reason: ComputeEvent['reason'], compute: () => Promise<Outcome>): Promise<Outcome> {
    const started = performance.now()
    const outcome = await compute()
    const ms = performance.now() - started
    // The middleware stamps its answer when the handler returns (it answers before the engine
    // sees the outcome); anything unstamped is stamped now.
    if (outcome.entry && outcome.entry.created === 0) outcome.entry.created = this.now()
    this.stats.computations++
    this.#timing.observe(plan.name, ms)
    if (this.#events.listenerCount('compute') > 0) this.#events.emit('compute', computeEvent(plan.name, ms, reason, outcome))
    return outcome
  }

  /**
   * Never throws, and callers do not wait for it: the store write never delays a response.
   * With `read`, the entry is stored only if no invalidation came since those generations were read.
   */
  write(key: string, entry: CachedEntry, route: ResolvedRoute, read?: GenerationSnapshot): Promise<boolean> {
    let bytes: Buffer
    try {
      bytes = encodeEntry(entry)
    } catch {
      return Promise.resolve(false) // an entry that could not be replayed as it is stays uncached
    }
    const ttl = this.#servedUntil(entry, route) - this.now()
    if (!(ttl > 0)) return Promise.resolve(false)
    const value = this.#asText ? toText(bytes) : bytes
    return read ? this.store.setIfGenerations(key, value, Math.ceil(ttl), read) : this.store.set(key, value, Math.ceil(ttl))
  }

  /** Whether a request for `plan` should compute the next bucket now (see ComputeTiming.shouldWarm). */
  shouldWarm(plan: Plan): boolean {
    return this.#timing.shouldWarm(plan, this.now(), (key) => this.flights.has(key))
  }

  recordLookup(name: string, result: CacheResult, started: number): void {
    this.stats.record(result)
    if (this.#events.listenerCount('lookup') > 0) {
      this.#events.emit('lookup', { route: name, result, ms: performance.now() - started } satisfies LookupEvent)
    }
  }

  /** Removes the entries of one request target (middleware.ts: a successful unsafe request), the whole route without a resource. */
  invalidateTarget(target: CacheTarget): Promise<number> {
    return this.invalidations.invalidateTarget(target)
  }


  /** The end of what an entry may serve, by the cache's clock: its bucket plus the stale window, or its errorTtl. */
  #servedUntil(entry: CachedEntry, route: ResolvedRoute): number {
    return !isErrorStatus(entry.status) ? bucketEndMs(entry.bucket, route.windowMs) + route.staleMs : entry.created + route.errorTtlMs
  }

  /**
   * What this process holds for invalidated keys: later requests must not join
   * a running computation, nor skip a warm-up, for them. The in-process tier
   * (L1), once it exists, drops its matching entries here too, and takes its
   * writes through write() with the computation's snapshot, so the same
   * generations guard it.
   */
  #forget(match: (key: string) => boolean): void {
    this.flights.forget(match)
    this.#timing.forget(match)
  }

  /** Status, backend, circuit, role, keys and memory of the serving store (read at most once a second), and the counters. */
  health(): Promise<CacheHealth> {
    return this.#health.read()
  }

  /** Waits for running computations, then closes both stores; later requests pass through uncached. */
  async close(): Promise<void> {
    this.#closed = true
    await this.flights.drain()
    await this.invalidations.sent()
    await this.#local?.close()
    this.store.close()
    await Promise.allSettled([this.store.primary.disconnect?.(), this.store.fallback?.disconnect?.()])
  }

  #decode(value: unknown): CachedEntry | undefined {
    if (typeof value === 'string') return decodeEntry(fromText(value))
    if (typeof value !== 'object' || value === null) return decodeEntry(value)
    if (this.#freshValues && !this.store.degraded) return decodeEntry(value)
    let entry = this.#decoded.get(value)
    if (entry === undefined) {
      entry = decodeEntry(value) ?? null
      this.#decoded.set(value, entry)
    }
    return entry ?? undefined
  }

  /** An error entry lasts errorTtl by the cache's clock: a store's TTL is coarse, or ignored by some Keyv stores. */
  #errorFresh(entry: CachedEntry, route: ResolvedRoute): boolean {
    return this.now() < entry.created + route.errorTtlMs
  }

  #withinStale(entry: CachedEntry, route: ResolvedRoute): boolean {
    return this.now() < bucketEndMs(entry.bucket, route.windowMs) + route.staleMs
  }
}
