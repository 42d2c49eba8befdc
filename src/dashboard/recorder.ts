import type { CacheResult, ComputeEvent, LookupEvent, ResponseCache } from '../index.js'

/** How many recent lookups and computations per route the percentiles are taken over. */
export const LOOKUP_SAMPLES = 1024
export const COMPUTE_SAMPLES = 256
/** Route names come from the app's routes; the cap guards names made from raw paths. */
export const MAX_ROUTES = 200

/** The most recent `size` numbers: one slot written per sample, nothing allocated. */
export class Ring {
  readonly #values: Float64Array
  #next = 0
  #count = 0

  constructor(size: number) {
    this.#values = new Float64Array(size)
  }

  push(value: number): void {
    this.#values[this.#next] = value
    this.#next = (this.#next + 1) % this.#values.length
    if (this.#count < this.#values.length) this.#count++
  }

  get count(): number {
    return this.#count
  }

  /** Percentiles (0..1) of the samples held, or null when there are none. Sorts a copy: for readers, once a second. */
  percentiles(...ps: number[]): Array<number | null> {
    if (this.#count === 0) return ps.map(() => null)
    const sorted = this.#values.slice(0, this.#count).sort()
    return ps.map((p) => sorted[Math.max(0, Math.ceil(p * this.#count) - 1)]!)
  }
}

/** Counters of one route since the recorder started. */
export interface RouteCounts {
  hits: number
  stale: number
  misses: number
  bypass: number
  computations: number
}

export class RouteRecord implements RouteCounts {
  hits = 0
  stale = 0
  misses = 0
  bypass = 0
  computations = 0
  /** ms of the last computation, and when it ended (recorder clock). */
  lastComputeMs: number | null = null
  lastComputeAt: number | null = null
  readonly lookups = new Ring(LOOKUP_SAMPLES)
  readonly computes = new Ring(COMPUTE_SAMPLES)

  count(result: CacheResult): void {
    if (result === 'HIT') this.hits++
    else if (result === 'STALE') this.stale++
    else if (result === 'MISS') this.misses++
    else this.bypass++
  }
}

/**
 * Listens to the cache's public events and keeps, per route, counters and the
 * last lookup and computation times. Each event costs a counter update and a
 * ring write; the cache emits nothing while no one listens, so an app without
 * a dashboard pays nothing.
 */
export class Recorder {
  readonly routes = new Map<string, RouteRecord>()
  storeErrors = 0
  readonly #cache: ResponseCache
  readonly #clock: () => number

  constructor(cache: ResponseCache, clock: () => number) {
    this.#cache = cache
    this.#clock = clock
    cache.on('lookup', this.#onLookup)
    cache.on('compute', this.#onCompute)
    cache.on('store-error', this.#onStoreError)
  }

  detach(): void {
    this.#cache.off('lookup', this.#onLookup)
    this.#cache.off('compute', this.#onCompute)
    this.#cache.off('store-error', this.#onStoreError)
  }

  /** Sums over every route. */
  totals(): RouteCounts {
    const sum: RouteCounts = { hits: 0, stale: 0, misses: 0, bypass: 0, computations: 0 }
    for (const r of this.routes.values()) {
      sum.hits += r.hits
      sum.stale += r.stale
      sum.misses += r.misses
      sum.bypass += r.bypass
      sum.computations += r.computations
    }
    return sum
  }

  #route(name: string): RouteRecord {
    let record = this.routes.get(name)
    if (record === undefined) {
      if (this.routes.size >= MAX_ROUTES) this.routes.clear()
      record = new RouteRecord()
      this.routes.set(name, record)
    }
    return record
  }

  readonly #onLookup = (event: LookupEvent): void => {
    const record = this.#route(event.route)
    record.count(event.result)
    // A MISS's time includes the computation: the lookup figures are the cache's own cost.
    if (event.result === 'HIT' || event.result === 'STALE') record.lookups.push(event.ms)
  }

  readonly #onCompute = (event: ComputeEvent): void => {
    const record = this.#route(event.route)
    record.computations++
    record.computes.push(event.ms)
    record.lastComputeMs = event.ms
    record.lastComputeAt = this.#clock()
  }

  readonly #onStoreError = (): void => {
    this.storeErrors++
  }
}
