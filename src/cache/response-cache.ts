import { EventEmitter } from 'node:events'
import { CacheError } from './errors.js'
import type { Middleware } from 'koa'
import { CacheEngine } from './engine.js'
import type { ResourceParams } from './keys.js'
import type { CacheEvents, CacheHealth } from './metrics.js'
import { cacheMiddleware } from './middleware.js'
import { resolveRoute, type CacheOptions, type RouteOptions } from './options.js'

export type { CacheHealth } from './metrics.js'

/**
 * The public face of the cache: routes, invalidation, health, close, and typed events. The
 * machinery (keys, lookups, single flight, writes) lives in the engine (engine.ts), which users
 * cannot reach, so they cannot come to depend on it.
 */
export class ResponseCache extends EventEmitter<CacheEvents> {
  readonly #engine: CacheEngine

  constructor(options: CacheOptions = {}) {
    super()
    this.#engine = new CacheEngine(options, this)
  }

  /** Koa middleware caching the route it stands on. Options are checked here, once. */
  route(options: RouteOptions): Middleware {
    return cacheMiddleware(this.#engine, resolveRoute(options))
  }

  /**
   * Removes every bucket and variant of one route (SCAN + UNLINK on Redis), in both stores; with
   * `resource`, of that resource only: the route's parameters (`{ id: '1' }`), or the path when the
   * route is mounted outside a router (`'/x/1'`). An empty parameter object means the whole route.
   * Each invalidation first moves the route's generation, so a computation already running is not stored.
   */
  invalidate(route: string, resource?: ResourceParams | string): Promise<number> {
    return this.#open('invalidate') ?? this.#engine.invalidations.invalidate(route, resource)
  }

  /**
   * Removes one key, as built by the cache (for example `energy:gradient:58312345`),
   * and its lock, so the next request computes at once. It moves the generation
   * of the key's whole route: other computations of that route run again too.
   */
  invalidateKey(key: string): Promise<boolean> {
    return this.#open('invalidateKey') ?? this.#engine.invalidations.invalidateKey(key)
  }

  /** Removes the whole namespace. */
  clear(): Promise<number> {
    return this.#open('clear') ?? this.#engine.invalidations.clear()
  }

  /**
   * Invalidations that have not yet reached the whole store (made while it was down, or while
   * a Cluster master was), retried until they do: above 0, the last answer was partial.
   */
  get pendingInvalidations(): number {
    return this.#engine.invalidations.pending
  }

  /** Status, backend, circuit, role, keys and memory of the serving store (read at most once a second), and the counters. */
  health(): Promise<CacheHealth> {
    return this.#engine.health()
  }

  /** Waits for running computations, then closes both stores; later requests pass through uncached. */
  close(): Promise<void> {
    return this.#engine.close()
  }

  /** After close() the stores are gone: an invalidation there would report a removal that did not happen. */
  #open(method: string): Promise<never> | undefined {
    if (!this.#engine.closed) return undefined
    return Promise.reject(new CacheError('E_CLOSED', `${method}() after close(): the cache is closed`))
  }
}

/** Builds a response cache; every option is checked here, once. */
export function createResponseCache(options: CacheOptions = {}): ResponseCache {
  return new ResponseCache(options)
}
