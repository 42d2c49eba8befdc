/**
 * The energy API's routes: the three SeedCore endpoints behind the cache, /health, /metrics and
 * the cache admin. Handlers only ask the worker pool and shape answers; caching (hits, stale
 * answers, error answers for 10 s) is the cache middleware's job.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { Context, Middleware, Next } from 'koa'
import { Router } from '@koa/router'
import type { Logger } from 'pino'
import type { ResponseCache } from '../index.js'
import type { EnergyMetrics } from './metrics.js'
import type { CalibrateResponse } from './calibrate.js'
import type { EnergyTerms, GradientResponse, MonitorResponse } from './model.js'
import type { Endpoint, EnergyPool } from './pool.js'

/** Route name (the key segment: `energy:<name>:<bucket>`) and bucket window in seconds, as in the seed. */
export const ENERGY_ROUTES: ReadonlyArray<{ name: Endpoint; window: number }> = [
  { name: 'gradient', window: 30 },
  { name: 'monitor', window: 30 },
  { name: 'calibrate', window: 60 },
]

export interface RouteDeps {
  cache: ResponseCache
  pool: EnergyPool
  metrics: EnergyMetrics
  logger: Logger
  /** ms since the epoch: the `now` of each computation, the same clock as the cache's buckets. */
  clock: () => number
  /** Population size, reported by error answers. */
  agents: number
  /** Enables the admin routes when set. */
  adminToken: string | undefined
  /** performance.now() when the server was created. */
  startedAt: number
  /** True once shutdown began: /health answers 503 so load balancers stop sending traffic. */
  draining: () => boolean
}

export function energyRouter(deps: RouteDeps): Router {
  const router = new Router()
  for (const { name, window } of ENERGY_ROUTES) {
    // query: false: no parameter selects the answer, so `?_=<random>` cannot fill the cache with copies.
    // warm: a requested endpoint's next bucket is computed before rollover, so no user waits for it.
    router.get(name, `/energy/${name}`, deps.cache.route({ window, name, query: false, warm: true }), computeHandler(name, deps))
  }
  router.get('health', '/health', healthHandler(deps))
  router.get('metrics', '/metrics', async function metrics(ctx: Context) {
    ctx.set('Content-Type', deps.metrics.registry.contentType)
    ctx.set('Cache-Control', 'no-store')
    ctx.body = await deps.metrics.registry.metrics()
  })
  if (deps.adminToken !== undefined) addAdminRoutes(router, deps, deps.adminToken)
  return router
}

function computeHandler(endpoint: Endpoint, deps: RouteDeps): Middleware {
  return async function energyEndpoint(ctx: Context): Promise<void> {
    const now = deps.clock()
    try {
      const { result, ms } = await deps.pool.compute(endpoint, now)
      ctx.set('Server-Timing', `compute;dur=${ms.toFixed(1)}`)
      ctx.body = result
    } catch (error) {
      const status = statusOf(error)
      deps.logger.error({ event: 'energy_compute_failed', endpoint, status, err: error }, `energy ${endpoint} computation failed`)
      ctx.status = status
      ctx.body = errorBody(endpoint, now / 1000, publicMessage(endpoint, error), deps.agents)
    }
  }
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code
}

function statusOf(error: unknown): number {
  const code = codeOf(error)
  if (code === 'E_COMPUTE_TIMEOUT') return 504
  if (code === 'E_POOL_CLOSED') return 503
  return 500
}

/** Timeouts say what happened; anything else stays generic (details go to the log only). */
function publicMessage(endpoint: Endpoint, error: unknown): string {
  if (codeOf(error) === 'E_COMPUTE_TIMEOUT' && error instanceof Error) return error.message
  if (codeOf(error) === 'E_POOL_CLOSED') return 'the service is shutting down'
  return `energy ${endpoint} computation failed`
}

const ZERO_TERMS: EnergyTerms = { pair: 0, hyper: 0, entropy: 0, reg: 0, mem: 0, total: 0 }

type WithError<T> = T & { error: string }

/** SeedCore's error answers: the endpoint's usual shape, zeroed (every number finite), plus `error`. */
export function errorBody(endpoint: Endpoint, ts: number, error: string, agents: number):
  WithError<GradientResponse> | WithError<MonitorResponse> | WithError<CalibrateResponse> {
  switch (endpoint) {
    case 'gradient':
      return {
        ts,
        E_terms: { ...ZERO_TERMS },
        deltaE_last: 0,
        pair_stats_count: 0,
        hyper_stats_count: 0,
        role_entropy_count: 0,
        mem_stats_count: 0,
        real_time_metrics: { active_agents: 0, total_agents: agents, memory_utilization: 0, compression_knob: 0, last_energy_update: ts },
        agent_summaries: [],
        breakdown: { ...ZERO_TERMS },
        grad: { 'dE/dH': 0, 'dE/dP_entropy': 0, 'dE/dE_sel': [], 'dE/ds_norm': 0, 'dE/dmem': 0 },
        error,
      }
    case 'monitor':
      return {
        timestamp: ts,
        energy_terms: { ...ZERO_TERMS },
        memory_metrics: { cost_vq: 0, bytes_used_kb: 0, hit_count: 0, compression_ratio: 0 },
        agent_metrics: { total_agents: agents, active_agents: 0, avg_capability: 0, avg_mem_util: 0, agent_details: [] },
        system_metrics: { compression_knob: 0, energy_slope: 0, gradient_norm: 0, pair_spectral_norm: 0, avg_role_entropy: 0 },
        error,
      }
    case 'calibrate':
      return {
        timestamp: ts,
        calibration_metrics: {
          total_tasks: 10,
          successful_tasks: 0,
          final_energy: 0,
          energy_trend: 0,
          energy_range: { min: 0, max: 0 },
          trend_direction: 'unknown',
          calibration_quality: 'insufficient_data',
        },
        energy_history: [],
        task_results: [],
        agent_summary: { total_agents: agents, active_agents: 0, agent_ids: [] },
        error,
      }
  }
}

function healthHandler(deps: RouteDeps): Middleware {
  return async function health(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store')
    const uptime = Math.round((performance.now() - deps.startedAt) / 100) / 10
    if (deps.draining()) {
      ctx.status = 503
      ctx.body = { status: 'shutting_down', uptime }
      return
    }
    try {
      const h = await deps.cache.health()
      // A Redis outage is 'degraded' (answers come from memory), still 200: only "cannot answer" is 503.
      ctx.body = {
        status: h.status,
        backend: h.backend,
        degraded: h.degraded,
        circuit: h.circuit,
        readOnly: h.readOnly,
        role: h.role ?? null,
        keys_count: h.keys_count,
        memory_usage: h.memory_usage,
        hit_rate: h.hit_rate,
        hits: h.hits,
        misses: h.misses,
        stale: h.stale,
        computations: h.computations,
        store_errors: h.store_errors,
        uptime,
      }
    } catch (error) {
      deps.logger.error({ event: 'health_failed', err: error }, 'health check failed')
      ctx.status = 503
      ctx.body = { status: 'down', uptime }
    }
  }
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest()
}

/** Bearer token check in constant time: both sides are hashed first, so lengths always match. */
function requireToken(token: string): Middleware {
  const expected = digest(token)
  return async function adminAuth(ctx: Context, next: Next): Promise<void> {
    const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(ctx.get('Authorization'))
    const given = digest(match?.[1] ?? '')
    // Evaluated whether or not the header parsed, so a missing header takes the same path.
    const ok = timingSafeEqual(given, expected) && match !== null
    if (!ok) {
      ctx.status = 401
      ctx.set('WWW-Authenticate', 'Bearer realm="cache admin"')
      ctx.body = { error: 'a valid bearer token is required' }
      return
    }
    await next()
  }
}

function addAdminRoutes(router: Router, deps: RouteDeps, token: string): void {
  const auth = requireToken(token)
  const known = new Set<string>(ENERGY_ROUTES.map((r) => r.name))
  router.delete('cache-clear', '/cache', auth, async function clearCache(ctx: Context) {
    const removed = await deps.cache.clear()
    // Part of the store missed it (down, or a Cluster master down): it is retried until it lands.
    const partial = deps.cache.pendingInvalidations > 0
    deps.logger.info({ event: 'cache_cleared', removed, partial }, 'cache cleared')
    ctx.body = { cleared: true, removed, partial }
  })
  router.delete('cache-invalidate', '/cache/:route', auth, async function invalidateRoute(ctx: Context) {
    const route = String((ctx as Context & { params: Record<string, string> }).params.route)
    if (!known.has(route)) {
      ctx.status = 404
      ctx.body = { error: `unknown route ${JSON.stringify(route)}`, routes: [...known] }
      return
    }
    const removed = await deps.cache.invalidate(route)
    const partial = deps.cache.pendingInvalidations > 0
    deps.logger.info({ event: 'cache_invalidated', route, removed, partial }, `cache invalidated for ${route}`)
    ctx.body = { invalidated: route, removed, partial }
  })
}
