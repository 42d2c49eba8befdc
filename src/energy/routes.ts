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
import { errorBody } from './error-body.js'
import { trackRouterMetrics, type RouterMetrics } from './router-metrics.js'
import type { Endpoint, EnergyPool } from './pool.js'

/** Route name (the key segment: `energy:<name>:<bucket>`) and bucket window in seconds, as in the seed. */
export const ENERGY_ROUTES: ReadonlyArray<{ name: Endpoint; window: number }> = [
  { name: 'gradient', window: 30 },
  { name: 'monitor', window: 30 },
  { name: 'calibrate', window: 60 },
]

/** Largest answer stored in the cache: monitor's agent_details grow with ENERGY_AGENTS. */
const MAX_ANSWER_BYTES = 32 * 2 ** 20

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
  const routerMetrics = trackRouterMetrics(deps.cache, new Set(ENERGY_ROUTES.map((r) => r.name)))
  for (const { name, window } of ENERGY_ROUTES) {
    // query: false: no parameter selects the answer, so `?_=<random>` cannot fill the cache with copies.
    // warm: a requested endpoint's next bucket is computed before rollover, so no user waits for it.
    // maxBodyBytes: monitor lists every agent (about 0.9 MB at 2,000 agents), above the 1 MiB default past ~2,300.
    router.get(name, `/energy/${name}`, deps.cache.route({ window, name, query: false, warm: true, maxBodyBytes: MAX_ANSWER_BYTES }), computeHandler(name, deps, routerMetrics.snapshot))
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

function computeHandler(endpoint: Endpoint, deps: RouteDeps, routerMetrics: () => RouterMetrics): Middleware {
  return async function energyEndpoint(ctx: Context): Promise<void> {
    const now = deps.clock()
    try {
      const { result, ms } = await deps.pool.compute(endpoint, now)
      ctx.set('Server-Timing', `compute;dur=${ms.toFixed(1)}`)
      // monitor carries router_metrics at its top level, as SeedCore's does (router-metrics.ts)
      ctx.body = endpoint === 'monitor' ? { ...result, router_metrics: routerMetrics() } : result
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
    deps.logger.info({ event: 'cache_cleared', removed }, 'cache cleared')
    ctx.body = { cleared: true, removed }
  })
  router.delete('cache-invalidate', '/cache/:route', auth, async function invalidateRoute(ctx: Context) {
    const route = String((ctx as Context & { params: Record<string, string> }).params.route)
    if (!known.has(route)) {
      ctx.status = 404
      ctx.body = { error: `unknown route ${JSON.stringify(route)}`, routes: [...known] }
      return
    }
    const removed = await deps.cache.invalidate(route)
    deps.logger.info({ event: 'cache_invalidated', route, removed }, `cache invalidated for ${route}`)
    ctx.body = { invalidated: route, removed }
  })
}
