import type { Keyv, KeyvStoreAdapter } from 'keyv'
import { consoleLogger, type CacheStore, type Logger } from '../../adapters/contract.js'
import { MemoryStore } from '../../adapters/memory.js'
import { nonNegative, positive, positiveInt, rejectUnknownKeys } from '../../adapters/checks.js'
import { OptionError } from './errors.js'
import { validateNamespace } from './keys.js'
import { DEFAULT_L1_MAX_ENTRIES } from './l1.js'

/** The checks live with the adapters, which use them too; re-exported for existing imports. */
export { nonNegative, positive, positiveInt, rejectUnknownKeys }

/** Options of createResponseCache(). Each default is written here once, and applied by resolveCacheOptions(). */
export interface CacheOptions {
  /**
   * Any Keyv storage adapter or Keyv instance.
   * @default new MemoryStore()
   */
  store?: KeyvStoreAdapter | Keyv
  /**
   * Serves while the store is down; false: no fallback (a store failure is a miss).
   * @default new MemoryStore()
   */
  fallback?: KeyvStoreAdapter | Keyv | false
  /**
   * Key prefix: 1 to 64 characters of A-Z a-z 0-9 . _ -
   * @default 'cache'
   */
  namespace?: string
  /**
   * Milliseconds since the epoch; injectable for tests.
   * @default Date.now
   */
  clock?: () => number
  /**
   * Budget of one store operation in ms before the fallback answers.
   * @default 150
   */
  operationTimeout?: number
  /**
   * Consecutive store failures that open the circuit.
   * @default 3
   */
  failureThreshold?: number
  /**
   * While open, how often a probe asks the store whether it is back, in ms.
   * @default 1000
   */
  probeInterval?: number
  /**
   * Use a Redis Cluster hash tag so a route's buckets share a slot.
   * @default the store's `cluster` flag (true for a RedisStore on a Cluster)
   */
  hashTag?: boolean
  /**
   * Where warnings go (pino and console fit).
   * @default console
   */
  logger?: Logger
  /**
   * The in-process tier in front of the store: a hit there sends no command to the store. With a
   * store shared by several processes it is read only while the store's invalidation channel is
   * subscribed (RedisStore: pub/sub), so every instance drops what another invalidates.
   * `maxEntries` defaults to DEFAULT_L1_MAX_ENTRIES (10,000).
   * @default undefined (off)
   */
  l1?: { maxBytes: number; maxEntries?: number }
}

/** Options of cache.route(). Each default is written here once, and applied by resolveRoute(). */
export interface RouteOptions {
  /** Bucket length in seconds: the key changes every `window` seconds. Required. */
  window: number
  /**
   * Key segment and metric label. Give each app-level mount its own name.
   * @default the @koa/router route name, else the matched path pattern, and `app` outside a router
   */
  name?: string
  /**
   * Seconds a previous bucket may be served while a refresh runs, or after a failed one; 0 turns both off.
   * @default window
   */
  stale?: number
  /**
   * Seconds a 5xx answer is cached when no stale answer can be served; 0 does not cache errors.
   * @default 10
   */
  errorTtl?: number
  /**
   * Query in the key: true all parameters (sorted), false none, or an allow-list of names.
   * @default true
   */
  query?: boolean | readonly string[]
  /**
   * Request headers whose values select a variant.
   * @default []
   */
  vary?: readonly string[]
  /**
   * Cache requests with Authorization or Cookie too; requires `vary` to name the headers that
   * select the answer. A credential not named in `vary` still bypasses: with
   * `vary: ['authorization']`, a request with a Cookie is not served from the cache.
   * @default false
   */
  shared?: boolean
  /**
   * The answer does not depend on Authorization or Cookie: requests carrying them are served from the
   * cache like any other (answers with Set-Cookie are still never stored).
   * @default false
   */
  ignoreCredentials?: boolean
  /**
   * Compute the next bucket shortly before rollover for keys requested in this one.
   * @default false
   */
  warm?: boolean
  /**
   * Largest body stored, in bytes.
   * @default 2 ** 20 (1 MiB)
   */
  maxBodyBytes?: number
  /**
   * Statuses stored for the full bucket; add 404 etc. to cache those.
   * @default [200, 203, 204]
   */
  statuses?: readonly number[]
}

/** CacheOptions with every default applied (see CacheOptions for each). */
export interface ResolvedCacheOptions {
  readonly store: CacheStore
  readonly fallback: CacheStore | undefined
  namespace: string
  clock: () => number
  operationTimeout: number
  failureThreshold: number
  probeInterval: number
  readonly hashTag: boolean
  logger: Logger
  l1: { maxBytes: number; maxEntries: number } | undefined
}

/** RouteOptions with every default applied (see RouteOptions for each), times in ms beside the seconds given. */
export interface ResolvedRoute {
  name: string | undefined
  window: number
  windowMs: number
  staleMs: number
  errorTtlMs: number
  query: boolean | readonly string[]
  vary: readonly string[]
  shared: boolean
  ignoreCredentials: boolean
  warm: boolean
  maxBodyBytes: number
  statuses: ReadonlySet<number>
}

// Every key of the options types, so that an unknown one (`windw`, `ttl`) is reported. Typed as a
// record of the interface's keys: adding an option without listing it here does not compile.
const CACHE_OPTION_KEYS = Object.keys({
  store: true, fallback: true, namespace: true, clock: true, operationTimeout: true, failureThreshold: true,
  probeInterval: true, hashTag: true, logger: true, l1: true,
} satisfies Record<keyof CacheOptions, true>)

const ROUTE_OPTION_KEYS = Object.keys({
  window: true, name: true, stale: true, errorTtl: true, query: true, vary: true, shared: true, ignoreCredentials: true,
  warm: true, maxBodyBytes: true, statuses: true,
} satisfies Record<keyof RouteOptions, true>)

export function resolveCacheOptions(options: CacheOptions): ResolvedCacheOptions {
  if (typeof options !== 'object' || options === null) throw new OptionError('createResponseCache options', 'an object', options)
  rejectUnknownKeys(options, CACHE_OPTION_KEYS, '')
  const namespace = options.namespace ?? 'cache'
  validateNamespace(namespace)
  if (options.clock !== undefined && typeof options.clock !== 'function') {
    throw new OptionError('clock', 'a function returning ms since the epoch', options.clock)
  }
  checkStore(options.store, 'store')
  if (options.fallback !== false) checkStore(options.fallback, 'fallback')
  if (options.logger !== undefined && typeof (options.logger as Partial<Logger> | null)?.warn !== 'function') {
    throw new OptionError('logger', 'an object with a warn method (pino and console fit)', options.logger)
  }
  const hashTag = optionalBool(options.hashTag, 'hashTag')
  // The default stores are made on first use, once: a MemoryStore allocates its LRU up front
  // (about 20 ms), and options are checked far more often than caches are built.
  let store = options.store as CacheStore | undefined
  let fallback = options.fallback === false ? null : (options.fallback as CacheStore | undefined)
  return {
    get store() {
      return (store ??= new MemoryStore())
    },
    get fallback() {
      return fallback === null ? undefined : (fallback ??= new MemoryStore())
    },
    namespace,
    clock: options.clock ?? Date.now,
    operationTimeout: positive(options.operationTimeout ?? 150, 'operationTimeout'),
    failureThreshold: positiveInt(options.failureThreshold ?? 3, 'failureThreshold'),
    probeInterval: positive(options.probeInterval ?? 1000, 'probeInterval'),
    get hashTag() {
      return hashTag ?? this.store.cluster === true
    },
    logger: options.logger ?? consoleLogger,
    l1: resolveL1(options.l1),
  }
}

function resolveL1(l1: CacheOptions['l1']): ResolvedCacheOptions['l1'] {
  if (l1 === undefined) return undefined
  if (typeof l1 !== 'object' || l1 === null) throw new OptionError('l1', 'an object with maxBytes', l1)
  rejectUnknownKeys(l1, ['maxBytes', 'maxEntries'], 'l1.')
  return { maxBytes: positiveInt(l1.maxBytes, 'l1.maxBytes'), maxEntries: positiveInt(l1.maxEntries ?? DEFAULT_L1_MAX_ENTRIES, 'l1.maxEntries') }
}

export function resolveRoute(options: RouteOptions): ResolvedRoute {
  if (typeof options !== 'object' || options === null) throw new OptionError('route options', 'an object with window', options)
  rejectUnknownKeys(options, ROUTE_OPTION_KEYS, 'route.')
  const window = positive(options.window, 'route.window')
  const name = options.name
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    throw new OptionError('route.name', 'a non-empty string', name)
  }
  if (options.vary !== undefined && !Array.isArray(options.vary)) {
    throw new OptionError('route.vary', 'an array of header names, such as [\'accept-language\']', options.vary)
  }
  const vary = (options.vary ?? []).map((header, i) => {
    if (typeof header !== 'string' || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(header)) {
      throw new OptionError(`route.vary[${i}]`, 'a header name', header)
    }
    return header.toLowerCase()
  })
  const shared = optionalBool(options.shared, 'route.shared') ?? false
  if (shared && !vary.some((h) => h === 'authorization' || h === 'cookie')) {
    throw new OptionError('route.vary', 'a list naming authorization or cookie (route.shared is true)', options.vary ?? [])
  }
  const ignoreCredentials = optionalBool(options.ignoreCredentials, 'route.ignoreCredentials') ?? false
  if (ignoreCredentials && shared) {
    throw new OptionError('route.ignoreCredentials', 'false when route.shared is true (credentials either select the answer or do not)', true)
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
    ignoreCredentials,
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

const STORE_METHODS = ['get', 'set', 'delete'] as const

// A Redis URL or an empty object would be taken for a store and fail on the first request,
// leaving the cache silently on its fallback: refuse them here.
function checkStore(store: unknown, option: string): void {
  if (store === undefined) return
  const methods = store as Record<string, unknown> | null
  if (typeof store === 'object' && store !== null && STORE_METHODS.every((m) => typeof methods?.[m] === 'function')) return
  const hint = typeof store === 'string' ? ' (for a Redis URL, pass new RedisStore({ url }))' : ''
  throw new OptionError(option, `a Keyv storage adapter or Keyv instance, with get, set and delete methods${hint}`, store)
}
function optionalBool(value: unknown, option: string): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value
  throw new OptionError(option, 'true or false', value)
}
