/**
 * The energy service's configuration, read once from the environment at start-up. A malformed
 * variable throws ConfigError naming it; nothing here is checked again per request.
 */
import type { RedisStoreOptions } from '../../adapters/redis.js'
import { redisConfigured, redisOptionsFromEnv } from '../../adapters/redis.js'
import { envBool, envInt, envString, type Env } from '../cache/env.js'
import { ConfigError } from '../cache/errors.js'
import { DEFAULT_AGENTS } from './pool.js'

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

export interface EnergyConfig {
  /** PORT; 0 asks the system for a free port. Default 8002. */
  port: number
  /** ENERGY_AGENTS: population size; the cost of every endpoint grows with its square. Default DEFAULT_AGENTS. */
  agents: number
  /** ENERGY_SEED: the same seed gives the same answers. Default 42. */
  seed: number
  /** ENERGY_TIMEOUT_MS: hard deadline of one computation, queueing included. Default 30000. */
  timeoutMs: number
  /** ENERGY_THREADS: worker threads. Default: the pool's (available parallelism). */
  threads: number | undefined
  /** ENERGY_MAX_QUEUE: computations waiting for a worker before new ones get 503. Default: 4 per thread. */
  maxQueue: number | undefined
  /** CACHE_L1_MB: the cache's in-process tier in MiB, 0 turns it off. Default 32. */
  l1Mb: number
  /** ADMIN_TOKEN (at least MIN_TOKEN_LENGTH characters): enables DELETE /cache and DELETE /cache/:route. Default: admin disabled. */
  adminToken: string | undefined
  /** METRICS=off hides /metrics; METRICS_TOKEN puts it behind a bearer token. Default: public. */
  metrics: { kind: 'public' } | { kind: 'token'; token: string } | { kind: 'off' }
  /** SERVER_TIMING: report computation time on computed answers. Default true. */
  serverTiming: boolean
  /** HTTP server limits (HTTP_* variables). */
  http: HttpLimits
  /** The live dashboard at /dashboard and its alerts (DASHBOARD, ALERT_* variables). */
  dashboard: DashboardConfig
  /** LOG_LEVEL. Default 'info'. */
  logLevel: LogLevel
  /** REDIS_URL or REDIS_HOST (or Sentinel/Cluster nodes) set: cache in Redis. Otherwise undefined: in memory. */
  redis: RedisStoreOptions | undefined
  /** REDIS_* variables that are set but unused because no Redis server is named. */
  ignored: string[]
}

/** Timeouts and a connection limit for a JSON API answered in seconds (Node's defaults allow minutes). */
export interface HttpLimits {
  /** HTTP_HEADERS_TIMEOUT_MS: time to receive a request's headers. Default 10000. */
  headersTimeoutMs: number
  /** HTTP_REQUEST_TIMEOUT_MS: time to receive a whole request (not to answer it); at least the headers'. Default 30000. */
  requestTimeoutMs: number
  /** HTTP_KEEP_ALIVE_TIMEOUT_MS: an idle keep-alive connection is closed after this. Default 5000. */
  keepAliveTimeoutMs: number
  /** HTTP_MAX_CONNECTIONS: connections beyond it are dropped at once. Default 1024. */
  maxConnections: number
}

export interface DashboardConfig {
  /** DASHBOARD=off removes /dashboard and the alerts. Default on. */
  enabled: boolean
  /** ALERT_WEBHOOK_URL: where alerts are POSTed as JSON. Default none. */
  webhookUrl: string | undefined
  /** ALERT_DEGRADED_S: seconds the cache store may be degraded before the alert fires. Default 30. */
  degradedAfterS: number
  /** ALERT_EVALUATE_MS: how often the alert rules run. Default 5000. */
  evaluateMs: number
}

/** Tokens shorter than this are guessable; ADMIN_TOKEN=a used to be accepted. */
export const MIN_TOKEN_LENGTH = 16

export const DEFAULT_PORT = 8002
export const DEFAULT_SEED = 42
export const DEFAULT_TIMEOUT_MS = 30_000
/** An N x N pair-weight matrix is 8 N^2 bytes per worker: 10,000 agents is 800 MB already. */
export const MAX_AGENTS = 10_000

export function loadConfig(env: Env = process.env): EnergyConfig {
  const port = envInt(env, 'PORT', 0, 65535) ?? DEFAULT_PORT
  const agents = envInt(env, 'ENERGY_AGENTS', 1, MAX_AGENTS) ?? DEFAULT_AGENTS
  const seed = envInt(env, 'ENERGY_SEED', 0, 2 ** 32 - 1) ?? DEFAULT_SEED
  const timeoutMs = envInt(env, 'ENERGY_TIMEOUT_MS', 1, 3_600_000) ?? DEFAULT_TIMEOUT_MS
  const threads = envInt(env, 'ENERGY_THREADS', 1, 256)
  const maxQueue = envInt(env, 'ENERGY_MAX_QUEUE', 0, 100_000)
  const l1Mb = envInt(env, 'CACHE_L1_MB', 0, 65_536) ?? 32
  const adminToken = envToken(env, 'ADMIN_TOKEN')
  const logLevel = parseLogLevel(envString(env, 'LOG_LEVEL'))
  const metricsToken = envToken(env, 'METRICS_TOKEN')
  const metrics = envBool(env, 'METRICS') === false ? { kind: 'off' as const } : metricsToken ? { kind: 'token' as const, token: metricsToken } : { kind: 'public' as const }
  const serverTiming = envBool(env, 'SERVER_TIMING') ?? true
  // Parsed even when unused, so a malformed REDIS_PORT is refused rather than silently ignored.
  const redisOptions = redisOptionsFromEnv(env)
  const redis = redisConfigured(env) ? redisOptions : undefined
  const ignored = redis ? [] : Object.keys(env).filter((name) => name.startsWith('REDIS_') && envString(env, name) !== undefined)
  return {
    port, agents, seed, timeoutMs, threads, maxQueue, l1Mb, adminToken, metrics, serverTiming, logLevel, http: httpLimits(env), dashboard: dashboardConfig(env), redis, ignored: ignored.sort(),
  }
}

function dashboardConfig(env: Env): DashboardConfig {
  const webhookUrl = envString(env, 'ALERT_WEBHOOK_URL')
  if (webhookUrl !== undefined && !/^https?:\/\/[^/\s]+/i.test(webhookUrl)) throw new ConfigError('ALERT_WEBHOOK_URL', 'an http:// or https:// URL', webhookUrl)
  return {
    enabled: envBool(env, 'DASHBOARD') ?? true,
    webhookUrl,
    degradedAfterS: envInt(env, 'ALERT_DEGRADED_S', 0, 86_400) ?? 30,
    evaluateMs: envInt(env, 'ALERT_EVALUATE_MS', 100, 3_600_000) ?? 5000,
  }
}

function httpLimits(env: Env): HttpLimits {
  const headersTimeoutMs = envInt(env, 'HTTP_HEADERS_TIMEOUT_MS', 100, 600_000) ?? 10_000
  const requestTimeoutMs = envInt(env, 'HTTP_REQUEST_TIMEOUT_MS', 100, 3_600_000) ?? Math.max(30_000, headersTimeoutMs)
  // Node refuses a server whose headers may take longer than the whole request.
  if (requestTimeoutMs < headersTimeoutMs) {
    throw new ConfigError('HTTP_REQUEST_TIMEOUT_MS', `at least HTTP_HEADERS_TIMEOUT_MS (${headersTimeoutMs})`, String(requestTimeoutMs))
  }
  const keepAliveTimeoutMs = envInt(env, 'HTTP_KEEP_ALIVE_TIMEOUT_MS', 100, 600_000) ?? 5_000
  const maxConnections = envInt(env, 'HTTP_MAX_CONNECTIONS', 1, 1_000_000) ?? 1024
  return { headersTimeoutMs, requestTimeoutMs, keepAliveTimeoutMs, maxConnections }
}

/**
 * A bearer token read as given: whitespace at either end could never be sent back in a header
 * (admin would be locked out without a word), and a short token is guessable. The message never
 * repeats the token.
 */
function envToken(env: Env, name: string): string | undefined {
  const value = env[name]
  if (value === undefined || value === '') return undefined
  const expected = `at least ${MIN_TOKEN_LENGTH} characters with no whitespace at either end`
  if (value !== value.trim()) throw new ConfigError(name, expected, `${value.length} characters, with whitespace at an end`)
  if (value.length < MIN_TOKEN_LENGTH) throw new ConfigError(name, expected, `${value.length} characters`)
  return value
}

function parseLogLevel(value: string | undefined): LogLevel {
  if (value === undefined) return 'info'
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase())
  if (level === undefined) throw new ConfigError('LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`, value)
  return level
}
