/**
 * The SeedCore energy API: Koa, the response cache (Redis with a memory fallback, or memory
 * alone), the worker pool, and the process around them (`npm start`): configuration from the
 * environment, JSON logs, graceful shutdown on SIGTERM/SIGINT.
 */
import { realpathSync } from 'node:fs'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import { format } from 'node:util'
import Koa, { type Context, type Next } from 'koa'
import type { Router } from '@koa/router'
import { pino, type DestinationStream, type Logger } from 'pino'
import { MemoryStore } from '../../adapters/memory.js'
import { RedisStore, type RedisStoreOptions } from '../../adapters/redis.js'
import { describeTarget } from '../../adapters/redis-config.js'
import { describeStoreError } from '../../adapters/store-errors.js'
import { createResponseCache, type ResponseCache } from '../index.js'
import { createDashboard, type Dashboard } from '../dashboard/index.js'
import { ConfigError } from '../cache/errors.js'
import { createGuard } from './bearer.js'
import { loadConfig, type EnergyConfig, type LogLevel } from './config.js'
import { clientErrorLog, httpServer, isClientError, stopHttp, trackRequests, type ClientErrorLog } from './http.js'
import { createMetrics, type EnergyMetrics } from './metrics.js'
import { createEnergyPool, type EnergyPool } from './pool.js'
import { energyRouter } from './routes.js'

export interface EnergyServerOptions {
  /** Default: a pino logger at the configured level, on stdout. */
  logger?: Logger
  /** ms since the epoch: the cache's buckets and the computations' `now`. Default Date.now. */
  clock?: () => number
  /** A pool to use instead of one built from the config; the server then leaves closing it to the caller. */
  pool?: EnergyPool
}

export interface EnergyServer {
  app: Koa
  server: Server
  cache: ResponseCache
  pool: EnergyPool
  logger: Logger
  /** The live dashboard and its alerts (undefined with DASHBOARD=off). */
  dashboard: Dashboard | undefined
  /** Waits (bounded) for Redis when configured, then listens on the configured port. */
  listen(): Promise<AddressInfo>
  /** Stops accepting, finishes in-flight requests, then closes the cache and the worker pool. */
  close(): Promise<void>
}

/** Secrets never reach a log line, at whatever depth the usual names appear. */
export const REDACT_PATHS = [
  'password', '*.password', '*.*.password',
  'token', '*.token', 'adminToken', '*.adminToken',
  'authorization', '*.authorization', 'headers.authorization', '*.headers.authorization',
  'cookie', 'headers.cookie', '*.headers.cookie',
]

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options = { level, name: 'seedcore-energy', redact: { paths: REDACT_PATHS, censor: '[redacted]' } }
  return destination ? pino(options, destination) : pino(options)
}

export function createEnergyServer(config: EnergyConfig, options: EnergyServerOptions = {}): EnergyServer {
  const logger = options.logger ?? createLogger(config.logLevel)
  const clock = options.clock ?? Date.now
  const startedAt = performance.now()
  const { cache, redis } = cacheFor(config, logger, clock)
  const ownPool = options.pool === undefined
  const pool =
    options.pool ??
    createEnergyPool({
      agents: config.agents,
      seed: config.seed,
      timeoutMs: config.timeoutMs,
      ...(config.threads !== undefined && { threads: config.threads }),
      ...(config.maxQueue !== undefined && { maxQueue: config.maxQueue }),
    })
  const metrics = createMetrics(cache)
  const dashboard = config.dashboard.enabled ? energyDashboard(cache, config, logger) : undefined
  let draining = false
  const router = energyRouter({
    cache, pool, metrics, logger, clock, startedAt,
    agents: config.agents,
    adminToken: config.adminToken,
    draining: () => draining,
    serverTiming: config.serverTiming,
    metricsAccess: config.metrics,
    guard: createGuard({ logger, clock }),
    ...(dashboard && { dashboard }),
  })
  const clientErrors = clientErrorLog(logger)
  const app = koaApp(router, metrics, logger, () => draining, clientErrors)
  const server = httpServer(app, config.http, clientErrors)
  const requests = trackRequests(server)

  let closing: Promise<void> | undefined
  return {
    app, server, cache, pool, logger, dashboard,
    async listen() {
      if (redis) await awaitRedis(redis, logger)
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(config.port, () => {
          server.off('error', reject)
          resolve()
        })
      })
      const address = server.address() as AddressInfo
      logger.info(
        { event: 'listening', port: address.port, agents: config.agents, threads: config.threads ?? 'auto', timeoutMs: config.timeoutMs, admin: config.adminToken !== undefined },
        `SeedCore energy API listening on port ${address.port}`,
      )
      return address
    },
    close() {
      closing ??= (async () => {
        draining = true
        dashboard?.close() // its open event streams would hold the drain forever
        await stopHttp(server, requests)
        metrics.detach()
        await cache.close()
        if (ownPool) await pool.close()
        logger.info({ event: 'stopped' }, 'energy API stopped: requests finished, cache and workers closed')
      })()
      return closing
    },
  }
}

/** Redis with a memory fallback, or memory alone. Logs first, so the first line says which. */
function cacheFor(config: EnergyConfig, logger: Logger, clock: () => number): { cache: ResponseCache; redis: RedisStore | undefined } {
  const redis = config.redis ? redisStore(config.redis, logger) : undefined
  if (!redis) logMemoryCache(config, logger)
  const cache = createResponseCache({
    store: redis ?? new MemoryStore(),
    // A memory primary never fails, so a second memory store behind it would only hold copies.
    fallback: redis ? new MemoryStore() : false,
    namespace: 'energy',
    clock,
    logger: logger.child({ component: 'cache' }),
    // In front of Redis only: a memory primary is an in-process tier already.
    ...(redis && config.l1Mb > 0 ? { l1: { maxBytes: config.l1Mb * 2 ** 20 } } : {}),
  })
  return { cache, redis }
}


/** Alert defaults for answers computed in seconds: a p99 at two thirds of the deadline is close to timing out. */
function energyDashboard(cache: ResponseCache, config: EnergyConfig, logger: Logger): Dashboard {
  const { webhookUrl, degradedAfterS, evaluateMs } = config.dashboard
  return createDashboard(cache, {
    logger: logger.child({ component: 'alerts' }),
    evaluateMs,
    alerts: { degraded: { forMs: degradedAfterS * 1000 }, computeP99: { aboveMs: Math.round((config.timeoutMs * 2) / 3) } },
    ...(webhookUrl !== undefined && { webhook: { url: webhookUrl } }),
  })
}

function koaApp(router: Router, metrics: EnergyMetrics, logger: Logger, draining: () => boolean, clientErrors: ClientErrorLog): Koa {
  const app = new Koa()
  app.use(metrics.middleware)
  app.use(async function drainAndLog(ctx: Context, next: Next) {
    const started = performance.now()
    await next()
    // Keep-alive connections would hold shutdown open: answers given while draining close theirs.
    if (draining()) ctx.set('Connection', 'close')
    if (logger.isLevelEnabled('debug')) {
      const ms = Math.round((performance.now() - started) * 10) / 10
      logger.debug({ event: 'request', method: ctx.method, path: ctx.path, status: ctx.status, ms, cache: ctx.response.get('X-Cache') || undefined })
    }
  })
  app.use(router.routes())
  app.use(router.allowedMethods())
  app.on('error', (error: unknown, ctx?: Context) => {
    if (isClientError(error)) return clientErrors(error)
    logger.error({ event: 'request_error', err: error, method: ctx?.method, path: ctx?.path }, 'request failed')
  })
  return app
}

function redisStore(options: RedisStoreOptions, logger: Logger): RedisStore {
  logger.info(
    { event: 'cache_backend', backend: 'redis', target: describeTarget(options) },
    `cache: Redis at ${describeTarget(options)}, with an in-memory fallback while it is unreachable`,
  )
  return new RedisStore({ ...options, logger: logger.child({ component: 'redis' }) })
}

function logMemoryCache(config: EnergyConfig, logger: Logger): void {
  const ignored = config.ignored.length > 0 ? ` (${config.ignored.join(', ')} ignored without REDIS_URL or REDIS_HOST)` : ''
  logger.info(
    { event: 'cache_backend', backend: 'memory', ignored: config.ignored },
    `cache: in memory (embedded default: per process, lost on restart); set REDIS_URL or REDIS_HOST to cache in Redis${ignored}`,
  )
}

/** Bounded by the store's connectTimeout: an unreachable Redis delays start-up, never blocks it. */
async function awaitRedis(store: RedisStore, logger: Logger): Promise<void> {
  const target = store.opts.url
  if (await store.ready()) {
    const role = await store.checkRole()
    logger.info({ event: 'redis_ready', target, role, readOnly: store.readOnly }, `Redis ready (${role}${store.readOnly ? ', read-only' : ''})`)
  } else {
    // The client's own last error says why (a refused password, an unknown CA), with its code.
    const cause = store.lastError ? describeStoreError(store.lastError) : { code: 'E_STORE_TIMEOUT', message: 'no answer within connectTimeout' }
    logger.warn(
      { event: 'redis_unreachable', target, ...cause },
      `Redis did not answer at start-up (${cause.code}: ${cause.message}): serving from the in-memory fallback until it does`,
    )
  }
}


/** `npm start`: configuration errors end the process with one line naming the variable. */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  let config: EnergyConfig
  try {
    config = loadConfig(env)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    process.stderr.write(`energy API not started: ${error.message}\n`)
    process.exitCode = 1
    return
  }
  const logger = createLogger(config.logLevel)
  routeConsoleWarnings(logger)
  const energy = createEnergyServer(config, { logger })
  let stopping = false
  const stop = (signal: NodeJS.Signals): void => {
    // Wrappers (tsx, npm, a terminal's process group) may deliver one signal twice: not a reason to hurry.
    if (stopping) return
    stopping = true
    logger.info({ event: 'shutdown', signal }, `${signal}: no new connections, finishing in-flight requests`)
    // Every computation ends within its deadline, so this only fires if something hangs.
    setTimeout(() => {
      logger.error({ event: 'shutdown_timeout' }, 'shutdown did not finish in time: exiting')
      process.exit(1)
    }, config.timeoutMs + 10_000).unref()
    energy.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.fatal({ event: 'shutdown_failed', err: error }, 'shutdown failed')
        process.exit(1)
      },
    )
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  try {
    await energy.listen()
  } catch (error) {
    logger.fatal({ event: 'listen_failed', port: config.port, err: error }, `cannot listen on port ${config.port}: ${(error as Error).message}`)
    await energy.close().catch(() => {})
    process.exit(1)
  }
}

/**
 * Libraries that print on their own (ioredis: "[WARN] ... does not require a password") would put
 * non-JSON lines beside the JSON log: in the service, console.warn goes through the logger.
 */
function routeConsoleWarnings(logger: Logger): void {
  console.warn = (...args: unknown[]) => logger.warn({ event: 'library_warning' }, format(...args))
}

function isEntryPoint(): boolean {
  const script = process.argv[1]
  if (script === undefined) return false
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href
  } catch {
    return false
  }
}

if (isEntryPoint()) await main()
