/**
 * Prometheus metrics of one energy server, on its own Registry so that several servers in one
 * process (the tests) never clash. Cache figures come from the ResponseCache's events; request
 * counts from a Koa middleware that stands outside everything else.
 */
import type { Context, Middleware, Next } from 'koa'
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'
import { engineOf } from '../cache/engine.js'
import type { CacheHealth, CircuitState, ComputeEvent, LookupEvent, ResponseCache } from '../index.js'

const CIRCUIT_STATES: readonly CircuitState[] = ['closed', 'open', 'half-open']

export interface EnergyMetrics {
  registry: Registry
  /** Counts every request by route, method, status and X-Cache; put it first. */
  middleware: Middleware
  /** Stops listening to the cache. */
  detach(): void
}

export function createMetrics(cache: ResponseCache): EnergyMetrics {
  const registry = new Registry()
  const registers = [registry]
  collectDefaultMetrics({ register: registry })

  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by route, method, status and cache result (the X-Cache header; NONE when uncached)',
    labelNames: ['route', 'method', 'status', 'cache'] as const,
    registers,
  })
  const lookups = new Histogram({
    name: 'cache_lookup_duration_seconds',
    help: 'Time to a cached route\'s answer: store lookup for HIT/STALE, lookup plus computation for MISS',
    labelNames: ['route', 'result'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  })
  const computations = new Histogram({
    name: 'cache_compute_duration_seconds',
    help: 'Handler runs behind the cache (energy computations) by route, reason and outcome',
    labelNames: ['route', 'reason', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60],
    registers,
  })
  const storeErrors = new Counter({
    name: 'cache_store_errors_total',
    help: 'Failed operations on the primary cache store (Redis), by error code',
    labelNames: ['code'] as const,
    registers,
  })
  const circuit = new Gauge({
    name: 'cache_circuit_state',
    help: 'State of the cache store circuit breaker: 1 for the current state, 0 for the others',
    labelNames: ['state'] as const,
    registers,
  })

  // Read on scrape from health(), which reads the store at most once a second whatever the
  // scrapers; one reading serves every gauge of a scrape (prom-client collects them together).
  let reading: Promise<CacheHealth | undefined> | undefined
  const healthOnce = (): Promise<CacheHealth | undefined> =>
    (reading ??= cache.health().catch(() => undefined).finally(() => setImmediate(() => (reading = undefined))))
  const storeGauge = (name: string, help: string, pick: (h: CacheHealth) => number | undefined): Gauge =>
    new Gauge({
      name, help, registers,
      async collect() {
        const health = await healthOnce()
        const value = health === undefined ? undefined : pick(health)
        if (value === undefined) this.reset()
        else this.set(value)
      },
    })
  storeGauge('cache_store_read_only', 'Whether the cache store (Redis) is read-only, a replica: computed answers are not shared', (h) => (h.readOnly ? 1 : 0))
  storeGauge('cache_store_memory_used_bytes', 'Memory the cache store (Redis) uses', (h) => h.memory_usage?.used)
  storeGauge('cache_store_memory_max_bytes', 'The cache store\'s memory limit (Redis maxmemory; 0 for none)', (h) => h.memory_usage?.max)
  // The in-process tier and its invalidation channel (absent while the tier is off).
  storeGauge('cache_l1_entries', 'Entries in the cache\'s in-process tier', (h) => h.l1?.entries)
  storeGauge('cache_l1_bytes', 'Bytes held by the cache\'s in-process tier', (h) => h.l1?.bytes)
  storeGauge('cache_l1_hits', 'Answers the in-process tier gave without asking the store, since start', (h) => h.l1?.hits)
  storeGauge('cache_invalidation_messages_sent', 'Invalidation messages this instance published, since start', (h) => h.l1?.messages_sent)
  storeGauge('cache_invalidation_messages_received', 'Invalidation messages from other instances applied here, since start', (h) => h.l1?.messages_received)

  const setCircuit = (state: CircuitState): void => {
    for (const s of CIRCUIT_STATES) circuit.set({ state: s }, s === state ? 1 : 0)
  }
  setCircuit(engineOf(cache).store.state)
  storeErrors.inc({ code: 'E_STORE' }, 0) // the series exists before the first failure

  const onLookup = (event: LookupEvent): void => lookups.observe({ route: event.route, result: event.result }, event.ms / 1000)
  const onCompute = (event: ComputeEvent): void => {
    const outcome = event.status !== undefined && event.status >= 200 && event.status < 500 ? 'ok' : 'error'
    computations.observe({ route: event.route, reason: event.reason, outcome }, event.ms / 1000)
  }
  const onStoreError = (error: unknown): void => {
    const code = (error as { code?: unknown } | null)?.code
    storeErrors.inc({ code: typeof code === 'string' ? code : 'E_STORE' })
  }
  cache.on('lookup', onLookup)
  cache.on('compute', onCompute)
  cache.on('store-error', onStoreError)
  cache.on('circuit', setCircuit)

  const middleware = async function countRequests(ctx: Context, next: Next): Promise<void> {
    let status: number | undefined
    try {
      await next()
    } catch (error) {
      const raw = (error as { status?: unknown } | null)?.status
      status = typeof raw === 'number' ? raw : 500
      throw error
    } finally {
      const matched = (ctx as Context & { _matchedRoute?: string | RegExp })._matchedRoute
      requests.inc({
        route: matched === undefined ? 'unmatched' : String(matched),
        method: ctx.method,
        status: String(status ?? ctx.status),
        cache: ctx.response.get('X-Cache') || 'NONE',
      })
    }
  }

  return {
    registry,
    middleware,
    detach() {
      cache.off('lookup', onLookup)
      cache.off('compute', onCompute)
      cache.off('store-error', onStoreError)
      cache.off('circuit', setCircuit)
    },
  }
}
