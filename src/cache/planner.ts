import type { IncomingHttpHeaders } from 'node:http'
import { LRUCache } from 'lru-cache'
import type { CacheTarget } from './cache-target.js'
import type { Plan } from './engine-types.js'
import { bucketOf, cacheKey, keyPrefix, variantOf } from './keys.js'
import type { ResolvedRoute } from './options.js'

/** Turns a request into its Plan: the keys of its current, previous and next bucket. */
export class Planner {
  readonly #namespace: string
  readonly #hashTag: boolean
  /** Key prefix per route name (bounded: a cache mounted on paths sees any name): encoding a name, and hashing a long one, is not free. */
  readonly #prefixes = new LRUCache<string, string>({ max: 1000 })

  constructor(namespace: string, hashTag: boolean) {
    this.#namespace = namespace
    this.#hashTag = hashTag
  }

  /** `codings`: the accepted content codings, for a route whose answers are compressed (encoding.ts). */
  plan(route: ResolvedRoute, target: CacheTarget, search: string, headers: IncomingHttpHeaders, codings: string | undefined, now: number): Plan {
    const { name } = target
    const prefix = target.resource === '' ? this.#prefix(name) : `${this.#prefix(name)}${target.resource}:`
    const variant =
      route.vary.length === 0 && (route.query === false || search === '') && codings === undefined
        ? ''
        : variantOf({ search, query: route.query, vary: route.vary, headers, codings })
    const bucket = bucketOf(now, route.window)
    return {
      route,
      name,
      bucket,
      current: cacheKey(prefix, bucket, variant),
      previous: cacheKey(prefix, bucket - 1, variant),
      next: cacheKey(prefix, bucket + 1, variant),
      codings,
    }
  }

  /** The key prefixes of the routes this process has planned for. */
  prefixes(): Iterable<string> {
    return this.#prefixes.values()
  }

  #prefix(name: string): string {
    let prefix = this.#prefixes.get(name)
    if (prefix === undefined) {
      prefix = keyPrefix(this.#namespace, name, this.#hashTag)
      this.#prefixes.set(name, prefix)
    }
    return prefix
  }
}
