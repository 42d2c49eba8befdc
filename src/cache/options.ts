import type { KeyvStoreAdapter } from 'keyv'
import type { Logger } from '../../adapters/contract.js'
import { OptionError } from './errors.js'
import { validateNamespace } from './keys.js'

/** Options of createResponseCache(). */
export interface CacheOptions {
  /** Any Keyv storage adapter or Keyv instance. Default: a MemoryStore. */
  store?: KeyvStoreAdapter
  /** Serves while the store is down. Default: a MemoryStore; false: no fallback (misses). */
  fallback?: KeyvStoreAdapter | false
  /** Key prefix. Default 'cache'. */
  namespace?: string
  /** Milliseconds since the epoch; injectable for tests. Default Date.now. */
  clock?: () => number
  /** Budget of one store operation in ms before the fallback answers. Default 150. */
  operationTimeout?: number
  /** Consecutive store failures that open the circuit. Default 3. */
  failureThreshold?: number
  /** While open, how often a probe asks the store whether it is back, in ms. Default 1000. */
  probeInterval?: number
  /** Use a Redis Cluster hash tag so a route's buckets share a slot. Default: the store's `cluster` flag. */
  hashTag?: boolean
  logger?: Logger
}

/** Options of cache.route(). */
export interface RouteOptions {
  /** Bucket length in seconds: the key changes every `window` seconds. Required. */
  window: number
  /** Key segment; default the @koa/router route name, else the matched path pattern. */
  name?: string
  /** Seconds a previous bucket may be served while a refresh runs, or after a failed one. Default `window`; 0 turns both off. */
  stale?: number
  /** Seconds a 5xx answer is cached when no stale answer can be served. Default 10; 0 does not cache errors. */
  errorTtl?: number
  /** Query in the key: true all parameters (sorted), false none, or an allow-list of names. Default true. */
  query?: boolean | readonly string[]
  /** Request headers whose values select a variant. */
  vary?: readonly string[]
  /**
   * Cache requests with Authorization or Cookie too; requires `vary` to name the headers that
   * select the answer. A credential not named in `vary` still bypasses: with
   * `vary: ['authorization']`, a request with a Cookie is not served from the cache.
   */
  shared?: boolean
  /** Compute the next bucket shortly before rollover for keys requested in this one. Default false. */
  warm?: boolean
  /** Largest body stored, in bytes. Default 1 MiB. */
  maxBodyBytes?: number
  /** Statuses stored for the full bucket. Default [200, 203, 204]; add 404 etc. to cache those. */
  statuses?: readonly number[]
}

export interface ResolvedCacheOptions {
  namespace: string // 'cache'
  clock: () => number // Date.now
  operationTimeout: number // 150
  failureThreshold: number // 3
  probeInterval: number // 1000
  hashTag: boolean | undefined // from the store
}

export interface ResolvedRoute {
  name: string | undefined
  window: number // seconds, required
  windowMs: number
  staleMs: number // window * 1000
  errorTtlMs: number // 10_000
  query: boolean | readonly string[] // true
  vary: readonly string[] // []
  shared: boolean // false
  warm: boolean // false
  maxBodyBytes: number // 1 MiB
  statuses: ReadonlySet<number> // 200, 203, 204
}

export function resolveCacheOptions(options: CacheOptions): ResolvedCacheOptions {
  if (typeof options !== 'object' || options === null) throw new OptionError('createResponseCache options', 'an object', options)
  const namespace = options.namespace ?? 'cache'
  validateNamespace(namespace)
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new OptionError('clock', 'a function returning ms since the epoch', options.clock)
  }
  return {
    namespace,
    clock: options.clock ?? Date.now,
    operationTimeout: positive(options.operationTimeout ?? 150, 'operationTimeout'),
    failureThreshold: positiveInt(options.failureThreshold ?? 3, 'failureThreshold'),
    probeInterval: positive(options.probeInterval ?? 1000, 'probeInterval'),
    hashTag: optionalBool(options.hashTag, 'hashTag'),
  }
}

export function resolveRoute(options: RouteOptions): ResolvedRoute {
  if (typeof options !== 'object' || options === null) throw new OptionError('route options', 'an object with window', options)
  const window = positive(options.window, 'route.window')
  const name = options.name
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new OptionError('route.name', 'a non-empty string', name)
  }
  const vary = (options.vary ?? []).map((header, i) => {
    if (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(header)) {
      throw new OptionError(`route.vary[${i}]`, 'a header name', header)
    }
    return header.toLowerCase()
  })
  const shared = optionalBool(options.shared, 'route.shared') ?? false
  if (shared && !vary.some((h) => h === 'authorization' || h === 'cookie')) {
    throw new OptionError(
      'route.vary',
      'to name authorization and/or cookie when route.shared is true (requests with a credential not named still bypass)',
      options.vary ?? [],
    )
  }
  return {
    name,
    window,
    windowMs: window * 1000,
    staleMs: nonNegative(options.stale ?? window, 'route.stale') * 1000,
    errorTtlMs: nonNegative(options.errorTtl ?? 10, 'route.errorTtl') * 1000,
    query: resolveQuery(options.query),
    vary,
    shared,
    warm: optionalBool(options.warm, 'route.warm') ?? false,
    maxBodyBytes: positiveInt(options.maxBodyBytes ?? 2 ** 20, 'route.maxBodyBytes'),
    statuses: resolveStatuses(options.statuses),
  }
}

function resolveQuery(query: RouteOptions['query']): boolean | readonly string[] {
  if (query === undefined) return true
  if (typeof query === 'boolean') return query
  if (Array.isArray(query) && query.every((q) => typeof q === 'string' && q !== '')) return [...query]
  throw new OptionError('route.query', 'true, false or an array of parameter names', query)
}

function resolveStatuses(statuses: RouteOptions['statuses']): ReadonlySet<number> {
  if (statuses === undefined) return new Set([200, 203, 204])
  if (!Array.isArray(statuses) || !statuses.every((s) => Number.isInteger(s) && s >= 200 && s < 500)) {
    throw new OptionError('route.statuses', 'an array of statuses from 200 to 499', statuses)
  }
  return new Set(statuses)
}

/** Option checks shared by the cache and the adapters: each names the option it refuses. */
export function positive(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new OptionError(option, 'a positive number', value)
  return value
}

export function nonNegative(value: unknown, option: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new OptionError(option, 'a number >= 0', value)
  return value
}

export function positiveInt(value: unknown, option: string): number {
  if (!Number.isInteger(value) || (value as number) <= 0) throw new OptionError(option, 'a positive integer', value)
  return value as number
}

function optionalBool(value: unknown, option: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw new OptionError(option, 'true or false', value)
}
