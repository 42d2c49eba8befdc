/**
 * The energy API's routes: the three SeedCore endpoints behind the cache, /health, /metrics and
 * the cache admin. Handlers only ask the worker pool and shape answers; caching (hits, stale
 * answers, error answers for 10 s) is the cache middleware's job.
 */
import type { Context, Middleware } from 'koa'
import { Router } from '@koa/router'
import type { Logger } from 'pino'
import type { ResponseCache } from '../index.js'
import type { Dashboard } from '../dashboard/index.js'
import type { EnergyMetrics } from './metrics.js'
import { errorBody } from './error-body.js'
import { trackRouterMetrics, type RouterMetrics } from './router-metrics.js'
import type { Endpoint, EnergyPool } from './pool.js'
import { LogLimit } from './log-limit.js'
import { Waiting } from './waiting.js'

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
  /** Report computation time in Server-Timing (it tells an attacker how busy the pool is). */
  serverTiming: boolean
  /** /metrics: served to anyone, behind a bearer token, or not at all. */
  metricsAccess: { kind: 'public' } | { kind: 'token'; token: string } | { kind: 'off' }
  /** Mounted at /dashboard; invalidations are noted in its feed. Undefined when DASHBOARD=off. */
  dashboard?: Dashboard
  /** Guards the token-protected routes (admin, metrics): failures logged and slowed down. */
  guard: (token: string, realm: string) => Middleware
}

export function energyRouter(deps: RouteDeps): Router {
  const router = new Router()
  const waiting = new Waiting()
  const routerMetrics = trackRouterMetrics(deps.cache, new Set(ENERGY_ROUTES.map((r) => r.name)))
  for (const { name, window } of ENERGY_ROUTES) {
    // query: false: no parameter selects the answer, so `?_=<random>` cannot fill the cache with copies.
    // warm: a requested endpoint's next bucket is computed before rollover, so no user waits for it.
    // ignoreCredentials: the energy API has no users, so a Cookie or Authorization header selects
    // nothing and must not buy a computation of its own (issue 23, finding 1).
    // maxBodyBytes: monitor lists every agent (about 0.9 MB at 2,000 agents), above the 1 MiB default past ~2,300.
    const route = deps.cache.route({ window, name, query: false, warm: true, ignoreCredentials: true, maxBodyBytes: MAX_ANSWER_BYTES })
    router.get(name, `/energy/${name}`, waiting.middleware(name), route, computeHandler(name, deps, waiting, routerMetrics.snapshot))
  }
  router.get('health', '/health', healthHandler(deps))
  if (deps.dashboard) {
    // Mounted on the router rather than app.use: requests to the API pay no path check for it.
    const { middleware } = deps.dashboard
    router.get('dashboard', '/dashboard', middleware)
    router.get('dashboard-part', '/dashboard/:part', middleware)
    router.get('dashboard-asset', '/dashboard/assets/:file', middleware)
  }
  if (deps.metricsAccess.kind !== 'off') {
    const metrics = async function metrics(ctx: Context): Promise<void> {
      ctx.set('Content-Type', deps.metrics.registry.contentType)
      ctx.set('Cache-Control', 'no-store')
      ctx.body = await deps.metrics.registry.metrics()
    }
    if (deps.metricsAccess.kind === 'token') router.get('metrics', '/metrics', deps.guard(deps.metricsAccess.token, 'metrics'), metrics)
    else router.get('metrics', '/metrics', metrics)
  }
  if (deps.adminToken !== undefined) addAdminRoutes(router, deps, deps.adminToken)
  return router
}

function computeHandler(endpoint: Endpoint, deps: RouteDeps, waiting: Waiting, routerMetrics: () => RouterMetrics): Middleware {
  // Anyone can make the pool refuse or drop work: one line per 10 s for those, not one per request.
  const busyLog = new LogLimit(10_000)
  const logFailure = (endpoint: Endpoint, failure: Failure, error: unknown): void => {
    const fields = { event: 'energy_compute_failed', endpoint, status: failure.status, code: codeOf(error) }
    if (!failure.transient) {
      deps.logger.error({ ...fields, err: error }, `energy ${endpoint} computation failed`)
      return
    }
    const suppressed = busyLog.take()
    if (suppressed !== undefined) deps.logger.warn({ ...fields, suppressed }, `energy ${endpoint}: ${failure.message}`)
  }
  return async function energyEndpoint(ctx: Context): Promise<void> {
    const now = deps.clock()
    try {
      const signal = waiting.signal(endpoint, ctx)
      const { result, ms } = await deps.pool.compute(endpoint, now, signal ? { signal } : {})
      if (deps.serverTiming) ctx.set('Server-Timing', `compute;dur=${ms.toFixed(1)}`)
      // monitor carries router_metrics at its top level, as SeedCore's does (router-metrics.ts)
      ctx.body = endpoint === 'monitor' ? { ...result, router_metrics: routerMetrics() } : result
    } catch (error) {
      const failure = failureOf(endpoint, error)
      logFailure(endpoint, failure, error)
      ctx.status = failure.status
      // The pool was busy, or nobody waited: that says nothing about the answer, so the cache
      // must not keep it as the answer (policy.ts refuses no-store), and the client may retry.
      if (failure.transient) {
        ctx.set('Cache-Control', 'no-store')
        ctx.set('Retry-After', String(Math.max(1, Math.ceil(deps.pool.load().drainMs / 1000))))
      }
      ctx.body = errorBody(endpoint, now / 1000, failure.message, deps.agents)
    }
  }
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code
}

/**
 * The answer to a failed computation. Messages stay generic (issue 23, finding 8: no configured
 * timeout in a body); details go to the log only. Transient failures come from the pool's load, not
 * from the computation.
 */
interface Failure {
  status: number
  message: string
  transient: boolean
}

function failureOf(endpoint: Endpoint, error: unknown): Failure {
  switch (codeOf(error)) {
    case 'E_COMPUTE_TIMEOUT': {
      const queued = (error as { queued?: unknown }).queued === true
      return { status: 504, message: `energy ${endpoint} computation timed out`, transient: queued }
    }
    case 'E_POOL_BUSY':
      return { status: 503, message: 'the service is busy: retry later', transient: true }
    case 'E_COMPUTE_CANCELLED':
      return { status: 503, message: 'the computation was cancelled', transient: true }
    case 'E_POOL_CLOSED':
      return { status: 503, message: 'the service is shutting down', transient: true }
    default:
      return { status: 500, message: `energy ${endpoint} computation failed`, transient: false }
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
        reason: h.reason,
        backend: h.backend,
        degraded: h.degraded,
        circuit: h.circuit,
        readOnly: h.readOnly,
        writesRefused: h.writesRefused,
        role: h.role ?? null,
        role_seen_at: h.role_seen_at,
        keys_count: h.keys_count,
        keys_count_partial: h.keys_count_partial,
        nodes_down: h.nodes_down,
        memory_usage: h.memory_usage,
        hit_rate: h.hit_rate,
        hits: h.hits,
        misses: h.misses,
        stale: h.stale,
        computations: h.computations,
        store_errors: h.store_errors,
        l1: h.l1,
        uptime,
      }
    } catch (error) {
      deps.logger.error({ event: 'health_failed', err: error }, 'health check failed')
      ctx.status = 503
      ctx.body = { status: 'down', uptime }
    }
  }
}

function addAdminRoutes(router: Router, deps: RouteDeps, token: string): void {
  const auth = deps.guard(token, 'cache admin')
  const known = new Set<string>(ENERGY_ROUTES.map((r) => r.name))
  router.delete('cache-clear', '/cache', auth, async function clearCache(ctx: Context) {
    const removed = await deps.cache.clear()
    // Part of the store missed it (down, or a Cluster master down): it is retried until it lands.
    const partial = deps.cache.pendingInvalidations > 0
    deps.logger.info({ event: 'cache_cleared', removed, partial }, 'cache cleared')
    deps.dashboard?.note(`cache cleared by an admin: ${removed} keys removed${partial ? ' (partial, retried)' : ''}`)
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
    deps.dashboard?.note(`${route} invalidated by an admin: ${removed} keys removed${partial ? ' (partial, retried)' : ''}`)
    ctx.body = { invalidated: route, removed, partial }
  })
}
