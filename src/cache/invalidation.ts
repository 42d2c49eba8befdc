import type { KeyvStoreAdapter } from 'keyv'
import type { CacheStore, Logger } from '../../adapters/contract.js'
import type { Invalidation } from './bus.js'
import type { CacheTarget } from './cache-target.js'
import { lockKeyOf } from './flight.js'
import { bumpGenerations, namespaceGeneration, routeGeneration } from './generations.js'
import { keyvInside } from './keyv-instance.js'
import { keyPrefix, normalisePath, pathSegment, resourceSegment, type ResourceParams } from './keys.js'
import type { LocalTier } from './local-tier.js'
import type { ResilientStore } from './resilient-store.js'

/** What the invalidations need of the engine. */
export interface InvalidationScope {
  namespace: string
  hashTag: boolean
  store: ResilientStore
  local: LocalTier | undefined
  logger: Logger
  /** Drops what the engine holds for invalidated keys (flights, warm-ups). */
  forget(match: (key: string) => boolean): void
  /** The key prefixes of the routes this process knows. */
  routePrefixes(): Iterable<string>
}

/**
 * Invalidation on the store, in this process, and (with an in-process tier) on the other
 * instances: each one first moves the generations it covers, so a computation already running
 * is not stored.
 */
export class Invalidations {
  readonly #scope: InvalidationScope
  /** Invalidation messages not yet sent: close() waits for them. */
  readonly #publishing = new Set<Promise<void>>()

  constructor(scope: InvalidationScope) {
    this.#scope = scope
  }

  /**
   * Removes every bucket and variant of one route (SCAN + UNLINK on Redis), in both stores; with
   * `resource`, of that resource only: the route's parameters (`{ id: '1' }`), or the path when the
   * route is mounted outside a router (`'/x/1'`). An empty parameter object means the whole route.
   * Each invalidation first moves the route's generation, so a computation already running is not stored.
   */
  async invalidate(route: string, resource?: ResourceParams | string): Promise<number> {
    const segment = typeof resource === 'string' ? pathSegment(normalisePath(resource)) : resourceSegment(resource)
    return this.#invalidatePrefix(keyPrefix(this.#scope.namespace, route, this.#scope.hashTag, segment))
  }

  /** Removes the entries of one request target (middleware.ts: a successful unsafe request), the whole route without a resource. */
  invalidateTarget(target: CacheTarget): Promise<number> {
    return this.#invalidatePrefix(keyPrefix(this.#scope.namespace, target.name, this.#scope.hashTag, target.resource))
  }

  #invalidatePrefix(prefix: string): Promise<number> {
    return this.#invalidating({ kind: 'prefix', value: prefix }, () => this.#deletePrefix(prefix, [routeGeneration(prefix)!]))
  }

  /**
   * Drops what this process keeps for an invalidation (flights, warm-ups, L1) at once, runs it on
   * the store, drops L1 again (a copy read from the store before its delete landed), then tells the
   * other instances. The message is not awaited: a store that is down must not hold invalidate().
   */
  async #invalidating<T>(invalidation: Invalidation, run: () => Promise<T>): Promise<T> {
    const local = this.#scope.local
    this.#scope.forget(matcher(invalidation))
    local?.drop(invalidation)
    const result = await run()
    if (local) {
      local.drop(invalidation)
      const sent = local.publish(invalidation)
      this.#publishing.add(sent)
      void sent.then(() => this.#publishing.delete(sent))
    }
    return result
  }

  /** Another instance invalidated: drop this one's copies (L1 is dropped by the tier itself) and lock memos. */
  dropRemote(invalidation: Invalidation): void {
    this.#scope.forget(matcher(invalidation))
    this.#scope.store.invalidations.forgetLocks(invalidation)
    const fallback = this.#scope.store.fallback
    if (!fallback) return
    const dropped = invalidation.kind === 'key' ? fallback.delete(invalidation.value) : fallback.deletePrefix?.(invalidation.value)
    void Promise.resolve(dropped).catch(() => undefined)
  }

  /**
   * Removes one key, as built by the cache (for example `energy:gradient:58312345`),
   * and its lock, so the next request computes at once. It moves the generation
   * of the key's whole route: other computations of that route run again too.
   */
  invalidateKey(key: string): Promise<boolean> {
    const generation = routeGeneration(key)
    const { store } = this.#scope
    return this.#invalidating({ kind: 'key', value: key }, () =>
      generation === undefined
        ? store.invalidations.delete(key)
        : store.invalidations.delete(key, async (store) => {
            await bumpGenerations(store, [generation])
            const [removed] = await Promise.all([store.delete(key), store.delete(lockKeyOf(key))])
            return removed === true
          }),
    )
  }

  /** Removes the whole namespace. */
  clear(): Promise<number> {
    const { namespace } = this.#scope
    const prefix = `${namespace}:`
    const generations = [namespaceGeneration(namespace)]
    // With hash tags (a Cluster) a write checks the namespace counter only after it lands, in
    // another slot; moving the counters of the routes this process knows too makes the check
    // atomic for them, in every process (the counters are per route name, shared).
    if (this.#scope.hashTag) for (const routePrefix of this.#scope.routePrefixes()) generations.push(routeGeneration(routePrefix)!)
    return this.#invalidating({ kind: 'prefix', value: prefix }, () => this.#deletePrefix(prefix, generations))
  }

  /** Moves the generations first, then deletes: a write checked before the move lands before the delete starts. */
  #deletePrefix(prefix: string, generations: string[]): Promise<number> {
    return this.#scope.store.invalidations.deletePrefix(prefix, async (store) => {
      await bumpGenerations(store, generations)
      return deletePrefix(store, prefix, this.#scope.logger)
    })
  }

  /**
   * Invalidations that have not yet reached the whole store (made while it was down, or while
   * a Cluster master was), retried until they do: above 0, the last answer was partial.
   */
  get pending(): number {
    return this.#scope.store.invalidations.pending
  }

  /** Waits for the invalidation messages still being sent. */
  async sent(): Promise<void> {
    await Promise.allSettled([...this.#publishing])
  }
}

/** Deletes a prefix with the store's own SCAN when it has one, else through its iterator. */
async function deletePrefix(store: KeyvStoreAdapter & CacheStore, prefix: string, logger: Logger): Promise<number> {
  if (store.deletePrefix) return store.deletePrefix(prefix)
  const inside = keyvInside(store)
  if (inside?.inner.deletePrefix) return inside.inner.deletePrefix(inside.scoped(prefix))
  if (!store.iterator) {
    logger.warn({ event: 'cache_invalidate_unsupported', prefix }, 'Cache store cannot list keys: nothing invalidated')
    return 0
  }
  const doomed: string[] = []
  for await (const [key] of store.iterator(undefined)) if (String(key).startsWith(prefix)) doomed.push(String(key))
  await Promise.all(doomed.map((key) => store.delete(key)))
  return doomed.length
}

function matcher(invalidation: Invalidation): (key: string) => boolean {
  const { kind, value } = invalidation
  return kind === 'key' ? (key) => key === value : (key) => key.startsWith(value)
}
