/**
 * The energy service's configuration, read once from the environment at start-up. A malformed
 * variable throws ConfigError naming it; nothing here is checked again per request.
 */
import type { RedisStoreOptions } from '../../adapters/redis.js'
import { redisConfigured, redisOptionsFromEnv } from '../../adapters/redis.js'
import { envInt, envString, type Env } from '../cache/env.js'
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
  /** ADMIN_TOKEN: enables DELETE /cache and DELETE /cache/:route. Default: admin disabled. */
  adminToken: string | undefined
  /** LOG_LEVEL. Default 'info'. */
  logLevel: LogLevel
  /** REDIS_URL or REDIS_HOST (or Sentinel/Cluster nodes) set: cache in Redis. Otherwise undefined: in memory. */
  redis: RedisStoreOptions | undefined
  /** REDIS_* variables that are set but unused because no Redis server is named. */
  ignored: string[]
}

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
  const adminToken = envString(env, 'ADMIN_TOKEN')
  const logLevel = parseLogLevel(envString(env, 'LOG_LEVEL'))
  // Parsed even when unused, so a malformed REDIS_PORT is refused rather than silently ignored.
  const redisOptions = redisOptionsFromEnv(env)
  const redis = redisConfigured(env) ? redisOptions : undefined
  const ignored = redis ? [] : Object.keys(env).filter((name) => name.startsWith('REDIS_') && envString(env, name) !== undefined)
  return { port, agents, seed, timeoutMs, threads, adminToken, logLevel, redis, ignored: ignored.sort() }
}

function parseLogLevel(value: string | undefined): LogLevel {
  if (value === undefined) return 'info'
  const level = LOG_LEVELS.find((l) => l === value.toLowerCase())
  if (level === undefined) throw new ConfigError('LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`, value)
  return level
}
